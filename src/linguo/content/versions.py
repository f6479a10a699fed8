"""Content versions: every change to a course's content must go through `content_changed`.

Learners' apps cache courses offline and revalidate with ETags built from the course's
`content_version`; the course list and course pages are cached under the `courses` cache
generation. Both move together, in the transaction of the change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.cache import bump_cache_generation
from linguo.models.content import Course, Lesson

COURSES_CACHE = "courses"
"""Cache generation of every cached course list and course page."""


async def content_changed(
    session: AsyncSession,
    course_id: uuid.UUID,
    *,
    lesson_ids: tuple[uuid.UUID, ...] = (),
) -> None:
    """Bump the course's `content_version` (and each given lesson's) and drop cached pages."""
    await session.execute(
        update(Course)
        .where(Course.id == course_id)
        .values(content_version=Course.content_version + 1)
    )
    if lesson_ids:
        await session.execute(
            update(Lesson)
            .where(Lesson.id.in_(lesson_ids))
            .values(content_version=Lesson.content_version + 1)
        )
    await bump_cache_generation(session, COURSES_CACHE)
