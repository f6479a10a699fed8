"""HTTP routes of the social domain: follows, followers/following lists, /feed, /me/social."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from linguo.core.deps import CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.core.pagination import Page, PageParams, Pagination
from linguo.social import (
    handlers,  # noqa: F401 - subscribes the event handlers
    service,
)
from linguo.social.schemas import (
    ConnectionRead,
    FeedEntryRead,
    SocialSettingsRead,
    SocialSettingsUpdate,
)

router = APIRouter(tags=["social"], responses=error_responses(401))


def _page(items: list[service.Connection], total: int, page: PageParams) -> Page[ConnectionRead]:
    return Page(
        items=[ConnectionRead.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/users/{user_id:uuid}/follow",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 404),
)
async def follow(user_id: uuid.UUID, user: CurrentUser, session: DbSession, now: Now) -> Response:
    """Follow a learner (idempotent). Yourself: 400 `cannot_follow_self`; unknown: 404."""
    await service.follow(session, user, user_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/users/{user_id:uuid}/follow",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def unfollow(user_id: uuid.UUID, user: CurrentUser, session: DbSession) -> Response:
    """Stop following a learner (idempotent: 204 even if you did not follow them)."""
    await service.unfollow(session, user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/{user_id:uuid}/followers",
    response_model=Page[ConnectionRead],
    responses=error_responses(404),
)
async def followers(
    user_id: uuid.UUID, _user: CurrentUser, session: DbSession, page: Pagination
) -> Page[ConnectionRead]:
    """Who follows the learner, most recent first."""
    items, total = await service.followers(session, user_id, page)
    return _page(items, total, page)


@router.get(
    "/users/{user_id:uuid}/following",
    response_model=Page[ConnectionRead],
    responses=error_responses(404),
)
async def following(
    user_id: uuid.UUID, _user: CurrentUser, session: DbSession, page: Pagination
) -> Page[ConnectionRead]:
    """Whom the learner follows, most recent first."""
    items, total = await service.following(session, user_id, page)
    return _page(items, total, page)


@router.get("/feed", response_model=Page[FeedEntryRead])
async def feed(user: CurrentUser, session: DbSession, page: Pagination) -> Page[FeedEntryRead]:
    """Public activity of the learners you follow, newest first."""
    entries, total = await service.feed(session, user, page)
    return Page(
        items=[FeedEntryRead.model_validate(entry) for entry in entries],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/me/social", response_model=SocialSettingsRead)
async def get_social(user: CurrentUser, session: DbSession) -> SocialSettingsRead:
    """Whether your activity is shared with your followers."""
    return SocialSettingsRead(share_activity=await service.share_activity(session, user))


@router.patch("/me/social", response_model=SocialSettingsRead, responses=error_responses(422))
async def update_social(
    body: SocialSettingsUpdate, user: CurrentUser, session: DbSession, now: Now
) -> SocialSettingsRead:
    """Share your activity or not; turning it off also hides your earlier activity."""
    await service.set_share_activity(session, user, body.share_activity, now)
    return SocialSettingsRead(share_activity=body.share_activity)
