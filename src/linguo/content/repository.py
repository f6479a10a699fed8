"""Queries of the learner-facing course catalogue.

Learners see a course when it is published, and a lesson of it when the lesson has at least
one published exercise (a lesson with nothing to play is not shown).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.content import (
    Course,
    Exercise,
    ExerciseStatus,
    Lesson,
    LessonWord,
    Unit,
)
from linguo.models.lessons import LessonProgress


def lesson_is_playable() -> ColumnElement[bool]:
    """SQL condition: the lesson (`Lesson`) has a published exercise."""
    return exists().where(
        Exercise.lesson_id == Lesson.id, Exercise.status == ExerciseStatus.PUBLISHED
    )


async def list_published_courses(
    session: AsyncSession, *, language: str | None, source_language: str | None
) -> Sequence[Any]:
    """Published courses with their counts of units and playable lessons, by title."""
    lesson_counts = (
        select(
            Lesson.course_id,
            func.count(func.distinct(Lesson.unit_id)).label("unit_count"),
            func.count().label("lesson_count"),
        )
        .where(lesson_is_playable())
        .group_by(Lesson.course_id)
        .subquery()
    )
    stmt = (
        select(
            Course,
            func.coalesce(lesson_counts.c.unit_count, 0).label("unit_count"),
            func.coalesce(lesson_counts.c.lesson_count, 0).label("lesson_count"),
        )
        .outerjoin(lesson_counts, lesson_counts.c.course_id == Course.id)
        .where(Course.is_published.is_(True))
        .order_by(Course.title, Course.id)
    )
    if language is not None:
        stmt = stmt.where(Course.language == language)
    if source_language is not None:
        stmt = stmt.where(Course.source_language == source_language)
    rows: Sequence[Any] = (await session.execute(stmt)).all()
    return rows


async def get_published_course(session: AsyncSession, course_id: uuid.UUID) -> Course | None:
    """The course if it exists and is published."""
    return await session.scalar(
        select(Course).where(Course.id == course_id, Course.is_published.is_(True))
    )


async def course_units(session: AsyncSession, course_id: uuid.UUID) -> Sequence[Unit]:
    """The course's units in order."""
    stmt = select(Unit).where(Unit.course_id == course_id).order_by(Unit.position, Unit.id)
    return (await session.scalars(stmt)).all()


async def playable_lessons(session: AsyncSession, course_id: uuid.UUID) -> Sequence[Any]:
    """The course's playable lessons with their counts of published exercises and words."""
    exercise_count = (
        select(func.count())
        .where(Exercise.lesson_id == Lesson.id, Exercise.status == ExerciseStatus.PUBLISHED)
        .scalar_subquery()
    )
    word_count = select(func.count()).where(LessonWord.lesson_id == Lesson.id).scalar_subquery()
    stmt = (
        select(
            Lesson,
            exercise_count.label("exercise_count"),
            word_count.label("word_count"),
        )
        .where(Lesson.course_id == course_id, lesson_is_playable())
        .order_by(Lesson.unit_id, Lesson.position, Lesson.id)
    )
    return (await session.execute(stmt)).all()


async def course_progress(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[LessonProgress]:
    """The learner's progress rows for the lessons of a course."""
    stmt = select(LessonProgress).where(
        and_(LessonProgress.user_id == user_id, LessonProgress.course_id == course_id)
    )
    return (await session.scalars(stmt)).all()
