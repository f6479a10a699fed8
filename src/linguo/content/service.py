"""The course catalogue as learners see it: published courses, outlines, lesson locks.

Outlines (units and lessons without anyone's progress) are cached until the course content
next changes (`versions.COURSES_CACHE`); each learner's lesson statuses are laid over them
per request.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.content import repository
from linguo.content.schemas import CourseDetail, CourseSummary, LessonStatus
from linguo.content.versions import COURSES_CACHE
from linguo.core.cache import Cache, cache_generation, cached
from linguo.core.errors import NotFound
from linguo.models.content import Course, Lesson
from linguo.models.lessons import LessonProgress


def _summary(course: Course, unit_count: int, lesson_count: int) -> dict[str, Any]:
    return CourseSummary(
        id=course.id,
        title=course.title,
        description=course.description,
        language=course.language,
        source_language=course.source_language,
        cefr_min=course.cefr_min,
        cefr_max=course.cefr_max,
        tags=course.tags,
        special_characters=course.special_characters,
        content_version=course.content_version,
        unit_count=unit_count,
        lesson_count=lesson_count,
        license_name=course.license_name,
        license_url=course.license_url,
        attribution=course.attribution,
    ).model_dump(mode="json")


async def list_courses(
    session: AsyncSession,
    cache: Cache,
    *,
    language: str | None,
    source_language: str | None,
    ttl_seconds: int,
) -> list[dict[str, Any]]:
    """Published courses (as JSON objects), by title, cached until content changes."""
    generation = await cache_generation(session, COURSES_CACHE)
    key = f"courses:{generation}:{language or '*'}:{source_language or '*'}"

    async def load() -> list[dict[str, Any]]:
        rows = await repository.list_published_courses(
            session, language=language, source_language=source_language
        )
        return [_summary(course, units, lessons) for course, units, lessons in rows]

    return await cached(cache, key, ttl_seconds, load)


async def _outline(
    session: AsyncSession, cache: Cache, course_id: uuid.UUID, ttl_seconds: int
) -> dict[str, Any]:
    generation = await cache_generation(session, COURSES_CACHE)

    async def load() -> dict[str, Any] | None:
        course = await repository.get_published_course(session, course_id)
        if course is None:
            return None
        units = await repository.course_units(session, course_id)
        lessons_by_unit: dict[uuid.UUID, list[dict[str, Any]]] = {unit.id: [] for unit in units}
        for lesson, exercise_count, word_count in await repository.playable_lessons(
            session, course_id
        ):
            lessons_by_unit[lesson.unit_id].append(
                {
                    "id": str(lesson.id),
                    "title": lesson.title,
                    "order": lesson.position,
                    "lesson_type": lesson.lesson_type.value,
                    "pass_score": lesson.pass_score,
                    "prerequisite_lesson_id": (
                        str(lesson.prerequisite_lesson_id)
                        if lesson.prerequisite_lesson_id
                        else None
                    ),
                    "content_version": lesson.content_version,
                    "exercise_count": exercise_count,
                    "word_count": word_count,
                }
            )
        unit_outlines = [
            {
                "id": str(unit.id),
                "title": unit.title,
                "order": unit.position,
                "colour": unit.colour,
                "icon": unit.icon,
                "lessons": lessons_by_unit[unit.id],
            }
            for unit in units
            if lessons_by_unit[unit.id]
        ]
        lesson_count = sum(len(lessons_by_unit[unit.id]) for unit in units)
        return {**_summary(course, len(unit_outlines), lesson_count), "units": unit_outlines}

    outline = await cached(cache, f"course:{generation}:{course_id}", ttl_seconds, load)
    if outline is None:
        raise NotFound("No such course.")
    return outline


def lesson_status(
    prerequisite_id: str | None, passed: set[str], playable: set[str], lesson_id: str
) -> LessonStatus:
    """passed, available (no prerequisite to pass), or locked."""
    if lesson_id in passed:
        return "passed"
    if prerequisite_id is None or prerequisite_id in passed or prerequisite_id not in playable:
        return "available"
    return "locked"


async def course_detail(
    session: AsyncSession,
    cache: Cache,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    ttl_seconds: int,
) -> tuple[CourseDetail, str]:
    """The course outline with the learner's lesson statuses, and its ETag.

    The ETag covers the content and the learner's progress, so a client's cached copy is
    revalidated when either changes.
    """
    outline = await _outline(session, cache, course_id, ttl_seconds)
    progress = await repository.course_progress(session, user_id, course_id)
    passed = {str(row.lesson_id) for row in progress if row.first_passed_at is not None}
    best = {str(row.lesson_id): row.best_score for row in progress}
    playable = {lesson["id"] for unit in outline["units"] for lesson in unit["lessons"]}
    units = [
        {
            **unit,
            "lessons": [
                {
                    **lesson,
                    "status": lesson_status(
                        lesson["prerequisite_lesson_id"], passed, playable, lesson["id"]
                    ),
                    "best_score": best.get(lesson["id"]),
                }
                for lesson in unit["lessons"]
            ],
        }
        for unit in outline["units"]
    ]
    body = {**outline, "units": units}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return CourseDetail.model_validate(body), f'W/"{digest}"'


async def lesson_unlocked(session: AsyncSession, user_id: uuid.UUID, lesson: Lesson) -> bool:
    """Whether the learner may play the lesson: no prerequisite, or it is passed or unplayable."""
    if lesson.prerequisite_lesson_id is None:
        return True
    prerequisite = lesson.prerequisite_lesson_id
    passed = await session.scalar(
        select(LessonProgress.first_passed_at).where(
            LessonProgress.user_id == user_id, LessonProgress.lesson_id == prerequisite
        )
    )
    if passed is not None:
        return True
    playable = await session.scalar(
        select(repository.lesson_is_playable()).select_from(Lesson).where(Lesson.id == prerequisite)
    )
    return not playable
