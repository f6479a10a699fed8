"""Queries of the admin content API: courses of any status, their trees, locks and media.

Every change to a course's content first locks the course row (`lock_course*`), so that
two admins editing the same course (positions, prerequisites) take turns.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.content import (
    Course,
    Exercise,
    ExerciseStatus,
    Lesson,
    Unit,
)
from linguo.models.lessons import QuestionAttempt

CourseCounts = tuple[int, int, int]
"""(units, lessons, exercises of any status)."""


def list_courses_query(*, language: str | None, source_language: str | None) -> Select[Course]:
    """Every course, published or not, by title."""
    stmt = select(Course).order_by(Course.title, Course.id)
    if language is not None:
        stmt = stmt.where(Course.language == language)
    if source_language is not None:
        stmt = stmt.where(Course.source_language == source_language)
    return stmt


async def course_counts(
    session: AsyncSession, course_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CourseCounts]:
    """How many units, lessons and exercises each course has."""
    if not course_ids:
        return {}
    units = select(func.count()).where(Unit.course_id == Course.id).scalar_subquery()
    lessons = select(func.count()).where(Lesson.course_id == Course.id).scalar_subquery()
    exercises = (
        select(func.count())
        .select_from(Exercise)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .where(Lesson.course_id == Course.id)
        .scalar_subquery()
    )
    stmt = select(Course.id, units, lessons, exercises).where(Course.id.in_(course_ids))
    return {
        course_id: (int(unit_count), int(lesson_count), int(exercise_count))
        for course_id, unit_count, lesson_count, exercise_count in await session.execute(stmt)
    }


def _locked(stmt: Select[Course]) -> Select[Course]:
    return stmt.with_for_update(of=Course).execution_options(populate_existing=True)


async def lock_course(session: AsyncSession, course_id: uuid.UUID) -> Course | None:
    """The course, locked until the end of the transaction."""
    return await session.scalar(_locked(select(Course).where(Course.id == course_id)))


async def lock_course_of_unit(session: AsyncSession, unit_id: uuid.UUID) -> Course | None:
    """The course of the unit, locked until the end of the transaction."""
    stmt = select(Course).join(Unit, Unit.course_id == Course.id).where(Unit.id == unit_id)
    return await session.scalar(_locked(stmt))


async def lock_course_of_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> Course | None:
    """The course of the lesson, locked until the end of the transaction."""
    stmt = select(Course).join(Lesson, Lesson.course_id == Course.id).where(Lesson.id == lesson_id)
    return await session.scalar(_locked(stmt))


async def lock_course_of_exercise(session: AsyncSession, exercise_id: uuid.UUID) -> Course | None:
    """The course of the exercise, locked until the end of the transaction."""
    stmt = (
        select(Course)
        .join(Lesson, Lesson.course_id == Course.id)
        .join(Exercise, Exercise.lesson_id == Lesson.id)
        .where(Exercise.id == exercise_id)
    )
    return await session.scalar(_locked(stmt))


async def units_in_order(session: AsyncSession, course_id: uuid.UUID) -> list[Unit]:
    """The course's units in order."""
    stmt = (
        select(Unit)
        .where(Unit.course_id == course_id)
        .order_by(Unit.position, Unit.created_at, Unit.id)
    )
    return list(await session.scalars(stmt))


async def lessons_of_course(session: AsyncSession, course_id: uuid.UUID) -> list[Lesson]:
    """The course's lessons, unit by unit, each unit's in order (units by id)."""
    stmt = (
        select(Lesson)
        .where(Lesson.course_id == course_id)
        .order_by(Lesson.unit_id, Lesson.position, Lesson.created_at, Lesson.id)
    )
    return list(await session.scalars(stmt))


async def lessons_in_order(session: AsyncSession, unit_id: uuid.UUID) -> list[Lesson]:
    """The unit's lessons in order."""
    stmt = (
        select(Lesson)
        .where(Lesson.unit_id == unit_id)
        .order_by(Lesson.position, Lesson.created_at, Lesson.id)
    )
    return list(await session.scalars(stmt))


async def exercises_of_course(session: AsyncSession, course_id: uuid.UUID) -> list[Exercise]:
    """Every exercise of the course, lesson by lesson, each lesson's in order."""
    stmt = (
        select(Exercise)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .where(Lesson.course_id == course_id)
        .order_by(Exercise.lesson_id, Exercise.position, Exercise.created_at, Exercise.id)
    )
    return list(await session.scalars(stmt))


async def first_answer_counts(
    session: AsyncSession, exercise_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(first answers, wrong first answers) of each exercise that has any."""
    if not exercise_ids:
        return {}
    stmt = (
        select(
            QuestionAttempt.exercise_id,
            func.count(),
            func.count().filter(QuestionAttempt.correct.is_(False)),
        )
        .where(QuestionAttempt.exercise_id.in_(exercise_ids), QuestionAttempt.attempt_number == 1)
        .group_by(QuestionAttempt.exercise_id)
    )
    return {row[0]: (int(row[1]), int(row[2])) for row in (await session.execute(stmt)).all()}


async def exercises_in_order(session: AsyncSession, lesson_id: uuid.UUID) -> list[Exercise]:
    """The lesson's exercises in order, whatever their status."""
    stmt = (
        select(Exercise)
        .where(Exercise.lesson_id == lesson_id)
        .order_by(Exercise.position, Exercise.created_at, Exercise.id)
    )
    return list(await session.scalars(stmt))


async def unit_of_course(
    session: AsyncSession, unit_id: uuid.UUID, course_id: uuid.UUID
) -> Unit | None:
    """The unit if it belongs to the course."""
    return await session.scalar(select(Unit).where(Unit.id == unit_id, Unit.course_id == course_id))


async def has_playable_lesson(session: AsyncSession, course_id: uuid.UUID) -> bool:
    """Whether some lesson of the course has a published exercise."""
    stmt = (
        select(Exercise.id)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .where(Lesson.course_id == course_id, Exercise.status == ExerciseStatus.PUBLISHED)
        .limit(1)
    )
    return await session.scalar(stmt) is not None


async def exercise_languages(session: AsyncSession, course_id: uuid.UUID) -> set[str]:
    """Every prompt and answer language the course's exercises use."""
    in_course = (
        select(Exercise.prompt_language, Exercise.answer_language)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .where(Lesson.course_id == course_id)
        .distinct()
    )
    languages: set[str] = set()
    for prompt_language, answer_language in await session.execute(in_course):
        languages.update((prompt_language, answer_language))
    return languages


async def media_of(session: AsyncSession, exercises: ColumnElement[bool]) -> set[uuid.UUID]:
    """The media used by the exercises matching `exercises`."""
    rows = await session.scalars(
        select(Exercise.audio_media_id)
        .where(exercises, Exercise.audio_media_id.is_not(None))
        .distinct()
    )
    return {media_id for media_id in rows if media_id is not None}
