"""Follows, the activity feed and the sharing setting.

- Following is idempotent (following again keeps the first date) and never of oneself
  (400 `cannot_follow_self`); an unknown or disabled learner answers 404. Unfollowing is
  idempotent and always answers 204.
- Lists and the feed show only active (not disabled) learners, by display name: their full
  name, or the local part of their email when they gave none. Never the email itself.
- Activities are written by other domains through `record_activity` (lesson passes come from
  the `LessonCompleted` event, see linguo.social.handlers). (user, kind, reference) is unique,
  so a replayed event adds nothing.
- Privacy: activity is public unless the learner turned sharing off
  (`PATCH /me/social {"share_activity": false}`). Turning it off also hides every earlier
  activity; turning it on again shares only what happens from then on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.errors import BadRequest, ErrorCode, NotFound
from linguo.core.pagination import PageParams, paginate
from linguo.models.identity import User
from linguo.models.social import Activity, ActivityKind, Follow
from linguo.social import repository

STREAK_MILESTONES = frozenset({7, 30, 100, 365})
"""Streak lengths (days) that become a `streak_milestone` activity."""


class CannotFollowSelf(BadRequest):
    """A learner tried to follow themselves."""

    code = ErrorCode.CANNOT_FOLLOW_SELF
    message = "You cannot follow yourself."


class LearnerNotFound(NotFound):
    """No active learner has this id."""

    message = "No such learner."


def display_name(user: User) -> str:
    """The learner's full name, or their email's local part: never the email itself."""
    if user.full_name and user.full_name.strip():
        return user.full_name.strip()
    return user.email.split("@", 1)[0]


async def _active_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.active_user(session, user_id)
    if user is None:
        raise LearnerNotFound
    return user


async def follow(
    session: AsyncSession, follower: User, followee_id: uuid.UUID, now: datetime
) -> None:
    """`follower` follows the learner (idempotent)."""
    if followee_id == follower.id:
        raise CannotFollowSelf
    await _active_user(session, followee_id)
    await repository.add_follow(session, follower.id, followee_id, now)


async def unfollow(session: AsyncSession, follower: User, followee_id: uuid.UUID) -> None:
    """`follower` stops following the learner (idempotent)."""
    await repository.remove_follow(session, follower.id, followee_id)


@dataclass(frozen=True, slots=True)
class Connection:
    """A learner in a followers or following list."""

    user_id: uuid.UUID
    display_name: str
    followed_at: datetime


async def _connections(
    session: AsyncSession, rows: list[Follow], *, other_side: str
) -> list[Connection]:
    ids = [getattr(row, other_side) for row in rows]
    users = await repository.users_by_id(session, ids)
    return [
        Connection(
            user_id=getattr(row, other_side),
            display_name=display_name(users[getattr(row, other_side)]),
            followed_at=row.created_at,
        )
        for row in rows
    ]


async def followers(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[Connection], int]:
    """Who follows the learner, newest first (404 for an unknown or disabled learner)."""
    await _active_user(session, user_id)
    rows, total = await paginate(session, repository.followers(user_id), page)
    return await _connections(session, rows, other_side="follower_id"), total


async def following(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[Connection], int]:
    """Whom the learner follows, newest first (404 for an unknown or disabled learner)."""
    await _active_user(session, user_id)
    rows, total = await paginate(session, repository.following(user_id), page)
    return await _connections(session, rows, other_side="followee_id"), total


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One activity as the feed shows it."""

    id: int
    user_id: uuid.UUID
    display_name: str
    kind: ActivityKind
    data: dict[str, Any]
    created_at: datetime


async def feed(session: AsyncSession, user: User, page: PageParams) -> tuple[list[FeedEntry], int]:
    """Public activities of the learners `user` follows, newest first."""
    rows: list[Activity]
    rows, total = await paginate(session, repository.feed(user.id), page)
    users = await repository.users_by_id(session, (row.user_id for row in rows))
    entries = [
        FeedEntry(
            id=row.id,
            user_id=row.user_id,
            display_name=display_name(users[row.user_id]),
            kind=row.kind,
            data=row.data,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return entries, total


async def share_activity(session: AsyncSession, user: User) -> bool:
    """Whether the learner's activity is shared with their followers."""
    return await repository.share_activity(session, user.id)


async def set_share_activity(session: AsyncSession, user: User, share: bool, now: datetime) -> None:
    """Store the choice; turning sharing off also hides every earlier activity."""
    await repository.set_share_activity(session, user.id, share, now)
    if not share:
        await repository.hide_activities(session, user.id)


async def record_activity(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: ActivityKind,
    reference: str,
    data: dict[str, Any],
    now: datetime,
) -> bool:
    """Add an activity to the learner's feed, once per (kind, reference).

    For other domains (achievements, streaks, leagues): call it in the transaction of the
    event. `reference` identifies the event (achievement id, "7:2026-03-02" for a streak
    milestone...); `data` is what clients show (JSON-serialisable). Public unless the
    learner turned sharing off. Returns True when the activity was added.
    """
    return await repository.insert_activity(
        session,
        user_id=user_id,
        kind=kind,
        reference=reference,
        data=data,
        at=now,
    )
