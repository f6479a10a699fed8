"""Event handlers: a learner's first pass of a lesson becomes a `lesson_passed` activity.

They run inside the publisher's transaction (see linguo.core.events). Importing this module
subscribes them; linguo.social.router imports it, so the app registers them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.events import events
from linguo.lessons.service import LessonCompleted
from linguo.models.content import Course, Lesson
from linguo.models.social import ActivityKind
from linguo.social import service


@events.subscribe(LessonCompleted)
async def on_lesson_completed(session: AsyncSession, event: LessonCompleted) -> None:
    """The first pass of a lesson (per learner and lesson) goes to the feed."""
    if not (event.passed and event.first_pass):
        return
    stmt = (
        select(Lesson.title, Course.title)
        .join(Course, Course.id == event.course_id)
        .where(Lesson.id == event.lesson_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    lesson_title, course_title = row if row is not None else (None, None)
    await service.record_activity(
        session,
        event.user_id,
        ActivityKind.LESSON_PASSED,
        reference=str(event.lesson_id),
        data={
            "lesson_id": str(event.lesson_id),
            "lesson_title": lesson_title,
            "course_id": str(event.course_id),
            "course_title": course_title,
            "score": event.score,
            "perfect": event.perfect,
        },
        now=event.finished_at,
    )
