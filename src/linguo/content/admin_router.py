"""Admin API for course content: courses, units, lessons, exercises, publishing.

Admins see and edit content of every status, answers included. Every change bumps the
course's `content_version` (and the changed lesson's), so learners' cached copies refresh.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from linguo.content import admin_service as service
from linguo.content.admin_schemas import (
    CourseAdminRead,
    CourseCreate,
    CourseTree,
    CourseUpdate,
    ExerciseAdminRead,
    ExerciseCreate,
    ExerciseUpdate,
    LessonAdminRead,
    LessonCreate,
    LessonUpdate,
    UnitAdminRead,
    UnitCreate,
    UnitUpdate,
)
from linguo.content.media_router import AppSpeech
from linguo.core.deps import AdminUser, DbSession
from linguo.core.errors import error_responses
from linguo.core.pagination import Page, Pagination
from linguo.core.schemas import LanguageCode
from linguo.models.content import Lesson, Unit

router = APIRouter(prefix="/admin", tags=["admin: content"], responses=error_responses(401, 403))


def _no_content() -> Response:
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- courses


@router.get("/courses", response_model=Page[CourseAdminRead])
async def list_courses(
    _admin: AdminUser,
    session: DbSession,
    page: Pagination,
    language: Annotated[LanguageCode | None, Query(description="The language taught")] = None,
    source_language: Annotated[
        LanguageCode | None, Query(description="The language the course is taught in")
    ] = None,
) -> Page[CourseAdminRead]:
    """Every course, published or not, by title."""
    items, total = await service.list_courses(
        session, language=language, source_language=source_language, page=page
    )
    return Page[CourseAdminRead](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/courses", status_code=status.HTTP_201_CREATED, response_model=CourseAdminRead)
async def create_course(
    data: CourseCreate, _admin: AdminUser, session: DbSession
) -> CourseAdminRead:
    """Create an unpublished, empty course (422 if cefr_max is below cefr_min)."""
    return await service.create_course(session, data)


@router.get("/courses/{course_id}", response_model=CourseTree, responses=error_responses(404))
async def read_course(course_id: uuid.UUID, _admin: AdminUser, session: DbSession) -> CourseTree:
    """The course with its units, lessons and exercises (answers too), whatever their status."""
    return await service.course_tree(session, course_id)


@router.patch(
    "/courses/{course_id}", response_model=CourseAdminRead, responses=error_responses(404, 409)
)
async def update_course(
    course_id: uuid.UUID, changes: CourseUpdate, _admin: AdminUser, session: DbSession
) -> CourseAdminRead:
    """Change a course. Changing its languages is refused (409) while exercises use others."""
    return await service.update_course(session, course_id, changes)


@router.delete(
    "/courses/{course_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_course(course_id: uuid.UUID, _admin: AdminUser, session: DbSession) -> Response:
    """Delete a course with everything in it, learners' attempts and progress included."""
    await service.delete_course(session, course_id)
    return _no_content()


@router.post(
    "/courses/{course_id}/publish",
    response_model=CourseAdminRead,
    responses=error_responses(404, 409),
)
async def publish_course(
    course_id: uuid.UUID, _admin: AdminUser, session: DbSession
) -> CourseAdminRead:
    """Show the course to learners (idempotent).

    409 `course_empty` unless some lesson has a published exercise.
    """
    return await service.set_published(session, course_id, published=True)


@router.post(
    "/courses/{course_id}/unpublish",
    response_model=CourseAdminRead,
    responses=error_responses(404),
)
async def unpublish_course(
    course_id: uuid.UUID, _admin: AdminUser, session: DbSession
) -> CourseAdminRead:
    """Hide the course from learners (idempotent); their progress is kept."""
    return await service.set_published(session, course_id, published=False)


# --------------------------------------------------------------------------- units


@router.post(
    "/courses/{course_id}/units",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitAdminRead,
    responses=error_responses(404),
)
async def create_unit(
    course_id: uuid.UUID, data: UnitCreate, _admin: AdminUser, session: DbSession
) -> Unit:
    """Add a unit at `position` (from 1; the units from there move down) or at the end."""
    return await service.create_unit(session, course_id, data)


@router.patch("/units/{unit_id}", response_model=UnitAdminRead, responses=error_responses(404))
async def update_unit(
    unit_id: uuid.UUID, changes: UnitUpdate, _admin: AdminUser, session: DbSession
) -> Unit:
    """Change a unit; a new `position` moves the other units to make room."""
    return await service.update_unit(session, unit_id, changes)


@router.delete(
    "/units/{unit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404, 409),
)
async def delete_unit(unit_id: uuid.UUID, _admin: AdminUser, session: DbSession) -> Response:
    """Delete a unit with its lessons and exercises.

    Lessons elsewhere that required one of them now require its prerequisite. 409
    `course_empty` if a published course would be left with nothing to play.
    """
    await service.delete_unit(session, unit_id)
    return _no_content()


# --------------------------------------------------------------------------- lessons


@router.post(
    "/units/{unit_id}/lessons",
    status_code=status.HTTP_201_CREATED,
    response_model=LessonAdminRead,
    responses=error_responses(400, 404),
)
async def create_lesson(
    unit_id: uuid.UUID, data: LessonCreate, _admin: AdminUser, session: DbSession
) -> Lesson:
    """Add a lesson at `position` (from 1) or at the end of the unit.

    400 `invalid_prerequisite` unless the prerequisite is a lesson of the same course.
    """
    return await service.create_lesson(session, unit_id, data)


@router.patch(
    "/lessons/{lesson_id}", response_model=LessonAdminRead, responses=error_responses(400, 404)
)
async def update_lesson(
    lesson_id: uuid.UUID, changes: LessonUpdate, _admin: AdminUser, session: DbSession
) -> Lesson:
    """Change a lesson, or move it (`unit_id`, `position`) within its course.

    400 `invalid_prerequisite` for a prerequisite outside the course, the lesson itself, or
    one that would make lessons wait for each other.
    """
    return await service.update_lesson(session, lesson_id, changes)


@router.delete(
    "/lessons/{lesson_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404, 409),
)
async def delete_lesson(lesson_id: uuid.UUID, _admin: AdminUser, session: DbSession) -> Response:
    """Delete a lesson with its exercises; lessons that required it require its prerequisite.

    409 `course_empty` if a published course would be left with nothing to play.
    """
    await service.delete_lesson(session, lesson_id)
    return _no_content()


# --------------------------------------------------------------------------- exercises


@router.post(
    "/lessons/{lesson_id}/exercises",
    status_code=status.HTTP_201_CREATED,
    response_model=ExerciseAdminRead,
    responses=error_responses(404),
)
async def create_exercise(
    lesson_id: uuid.UUID,
    data: ExerciseCreate,
    _admin: AdminUser,
    session: DbSession,
    speech: AppSpeech,
) -> ExerciseAdminRead:
    """Add an exercise at `position` (from 0) or at the end of the lesson.

    422 when the content breaks a rule: languages other than the course's, choices without
    an accepted answer (cards, options), a word bank lacking words of the main answer
    (chips), a distractor that is accepted or not among the choices, choices on a typed
    exercise, a listening exercise without `audio_text`.
    """
    return await service.create_exercise(session, lesson_id, data, speech)


@router.patch(
    "/exercises/{exercise_id}",
    response_model=ExerciseAdminRead,
    responses=error_responses(404, 409),
)
async def update_exercise(
    exercise_id: uuid.UUID,
    changes: ExerciseUpdate,
    _admin: AdminUser,
    session: DbSession,
    speech: AppSpeech,
) -> ExerciseAdminRead:
    """Change an exercise (same rules as creating one), its status or its position.

    409 `course_empty` if a published course would be left with nothing to play.
    """
    return await service.update_exercise(session, exercise_id, changes, speech)


@router.delete(
    "/exercises/{exercise_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404, 409),
)
async def delete_exercise(
    exercise_id: uuid.UUID, _admin: AdminUser, session: DbSession
) -> Response:
    """Delete an exercise. 409 `course_empty` if a published course would be left empty."""
    await service.delete_exercise(session, exercise_id)
    return _no_content()
