"""Queries of the social domain: follows, the sharing setting and activities."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.identity import User
from linguo.models.social import Activity, ActivityKind, Follow, SocialProfile


async def active_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user if they exist and are not disabled."""
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


async def users_by_id(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, User]:
    """The users with these ids, by id."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = await session.execute(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in rows.scalars()}


async def add_follow(
    session: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID, at: datetime
) -> None:
    """Record the follow; following again keeps the first date."""
    await session.execute(
        insert(Follow)
        .values(follower_id=follower_id, followee_id=followee_id, created_at=at)
        .on_conflict_do_nothing()
    )


async def remove_follow(
    session: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID
) -> None:
    """Forget the follow, if there was one."""
    await session.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )


def followers(user_id: uuid.UUID) -> Select[Follow]:
    """Follows of `user_id` by active users, newest first."""
    return (
        select(Follow)
        .join(User, User.id == Follow.follower_id)
        .where(Follow.followee_id == user_id, User.is_active)
        .order_by(Follow.created_at.desc(), Follow.follower_id)
    )


def following(user_id: uuid.UUID) -> Select[Follow]:
    """Follows by `user_id` of active users, newest first."""
    return (
        select(Follow)
        .join(User, User.id == Follow.followee_id)
        .where(Follow.follower_id == user_id, User.is_active)
        .order_by(Follow.created_at.desc(), Follow.followee_id)
    )


def feed(user_id: uuid.UUID) -> Select[Activity]:
    """Public activities of the active learners `user_id` follows, newest first."""
    return (
        select(Activity)
        .join(Follow, Follow.followee_id == Activity.user_id)
        .join(User, User.id == Activity.user_id)
        .where(Follow.follower_id == user_id, Activity.is_public, User.is_active)
        .order_by(Activity.created_at.desc(), Activity.id.desc())
    )


def _shares_activity(user_id: uuid.UUID) -> ColumnElement[bool]:
    """SQL: whether the learner shares their activity (True unless they turned it off)."""
    chosen = select(SocialProfile.share_activity).where(SocialProfile.user_id == user_id)
    return func.coalesce(chosen.scalar_subquery(), True)


async def share_activity(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the learner shares their activity (True unless they turned it off)."""
    return bool((await session.execute(select(_shares_activity(user_id)))).scalar_one())


async def set_share_activity(
    session: AsyncSession, user_id: uuid.UUID, share: bool, at: datetime
) -> None:
    """Store the sharing choice."""
    stmt = insert(SocialProfile).values(user_id=user_id, share_activity=share, updated_at=at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SocialProfile.user_id],
            set_={"share_activity": share, "updated_at": at},
        )
    )


async def hide_activities(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Make every activity of the learner private."""
    await session.execute(
        update(Activity)
        .where(Activity.user_id == user_id, Activity.is_public)
        .values(is_public=False)
    )


async def insert_activity(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    kind: ActivityKind,
    reference: str,
    data: dict[str, Any],
    at: datetime,
) -> bool:
    """Add the activity unless (user, kind, reference) exists; True when it was added.

    Public unless the learner turned sharing off, as read by the insert itself.
    """
    stmt = (
        insert(Activity)
        .values(
            user_id=user_id,
            kind=kind,
            reference=reference,
            data=data,
            is_public=_shares_activity(user_id),
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "reference"])
        .returning(Activity.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None
