"""Queries of notifications: reminder candidates and the outbox rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Select,
    String,
    Time,
    cast,
    column,
    func,
    literal,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.gamification import StreakDay, StreakDayKind
from linguo.models.identity import User
from linguo.models.notifications import Notification, NotificationKind

# The zones PostgreSQL knows; a stored name it does not know counts as UTC, as in Python.
_pg_zones = table("pg_timezone_names", column("name", String))


def streak_reminder_candidates(
    now: datetime, window_start: time, window_end: time
) -> Select[uuid.UUID]:
    """Learners whose local time at `now` lies in [window_start, window_end).

    Only active accounts with a stored streak who have no active streak day on their local
    date and no streak reminder for it yet. The stored streak may be stale (not settled
    since a missed day): callers settle each candidate before reminding.
    """
    zone = func.coalesce(_pg_zones.c.name, "UTC")
    # timezone(zone, timestamptz) is `now AT TIME ZONE zone`: the wall-clock time there.
    local_now = func.timezone(zone, literal(now, DateTime(timezone=True)), type_=DateTime())
    local_date = cast(local_now, Date)
    local_time = cast(local_now, Time)
    practised_today = (
        select(StreakDay.user_id)
        .where(
            StreakDay.user_id == User.id,
            StreakDay.day == local_date,
            StreakDay.kind == StreakDayKind.ACTIVE,
        )
        .exists()
    )
    already_reminded = (
        select(Notification.id)
        .where(
            Notification.user_id == User.id,
            Notification.kind == NotificationKind.STREAK_REMINDER,
            Notification.reference == func.to_char(local_now, "YYYY-MM-DD"),
        )
        .exists()
    )
    return (
        select(User.id)
        .outerjoin(_pg_zones, _pg_zones.c.name == User.timezone)
        .where(
            User.is_active.is_(True),
            User.current_streak > 0,
            local_time >= window_start,
            local_time < window_end,
            ~practised_today,
            ~already_reminded,
        )
        .order_by(User.id)
    )


async def users_by_id(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[User]:
    """The users with these ids, in id order."""
    stmt = select(User).where(User.id.in_(user_ids)).order_by(User.id)
    return list((await session.execute(stmt)).scalars())


async def add_notification(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    kind: NotificationKind,
    reference: str,
    title: str,
    body: str,
    data: dict[str, Any],
    at: datetime,
) -> bool:
    """Write a message unless (user, kind, reference) exists; True when it was added."""
    stmt = (
        insert(Notification)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            kind=kind,
            reference=reference,
            title=title,
            body=body,
            data=data,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "reference"])
        .returning(Notification.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def claim_pending(session: AsyncSession, limit: int) -> list[Notification]:
    """The oldest undelivered messages, locked; rows another deliverer holds are skipped."""
    stmt = (
        select(Notification)
        .where(Notification.delivered_at.is_(None))
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def set_delivered(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID], at: datetime
) -> int:
    """Mark messages delivered (those not delivered yet); returns how many changed."""
    stmt = (
        update(Notification)
        .where(Notification.id.in_(notification_ids), Notification.delivered_at.is_(None))
        .values(delivered_at=at, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def add_failed_attempt(session: AsyncSession, notification_ids: Sequence[uuid.UUID]) -> None:
    """Count one failed delivery attempt of undelivered messages."""
    stmt = (
        update(Notification)
        .where(Notification.id.in_(notification_ids), Notification.delivered_at.is_(None))
        .values(attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)
