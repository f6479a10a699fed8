"""Course catalogue for learners: published courses with their units and lessons."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from linguo.content import service
from linguo.content.media import etag_matches
from linguo.content.schemas import CourseDetail, CourseSummary
from linguo.core.deps import AppCache, AppSettings, CurrentUser, DbSession
from linguo.core.errors import error_responses
from linguo.core.schemas import LanguageCode

router = APIRouter(prefix="/courses", tags=["courses"])


@router.get("", response_model=list[CourseSummary])
async def list_courses(
    session: DbSession,
    cache: AppCache,
    settings: AppSettings,
    language: Annotated[LanguageCode | None, Query(description="The language taught")] = None,
    source_language: Annotated[
        LanguageCode | None, Query(description="The language the course is taught in")
    ] = None,
) -> list[dict[str, Any]]:
    """Published courses, by title. Public, so that a landing page can show the catalogue."""
    return await service.list_courses(
        session,
        cache,
        language=language,
        source_language=source_language,
        ttl_seconds=settings.course_cache_seconds,
    )


@router.get(
    "/{course_id}",
    response_model=CourseDetail,
    responses={
        304: {"description": "The client's copy (If-None-Match) is current"},
        **error_responses(401, 404),
    },
)
async def get_course(
    course_id: uuid.UUID,
    user: CurrentUser,
    session: DbSession,
    cache: AppCache,
    settings: AppSettings,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> CourseDetail | Response:
    """A published course: its units and lessons, each with the caller's status in it.

    A lesson is `locked` until its prerequisite is passed, then `available`, then `passed`.
    The `ETag` changes with the content and with the caller's progress; send it back in
    `If-None-Match` to get 304 Not Modified when nothing changed.
    """
    detail, etag = await service.course_detail(
        session, cache, user.id, course_id, ttl_seconds=settings.course_cache_seconds
    )
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return detail
