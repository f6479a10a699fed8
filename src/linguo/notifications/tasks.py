"""Periodic jobs of notifications: the hourly streak reminders."""

from __future__ import annotations

from datetime import UTC, datetime

from celery.schedules import crontab

from linguo.core.db import utcnow
from linguo.core.jobs import JobContext, job
from linguo.notifications import service

REMINDER_BATCH_SIZE = 500
"""Learners reminded per transaction, so that a large run never holds one huge transaction."""


def parse_instant(value: str) -> datetime:
    """An ISO 8601 date and time (UTC when it names no offset)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"now: not an ISO 8601 date and time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@job("notifications.send_streak_reminders", schedule=crontab(minute="0"))
async def send_streak_reminders(ctx: JobContext, now: str | None = None) -> int:
    """Write today's streak reminder for learners at 18:00-21:59 local time; returns the count.

    `now` (ISO 8601) replaces the clock, for tests and manual runs.
    """
    at = parse_instant(now) if now is not None else utcnow()
    async with ctx.db.session() as session:
        user_ids = await service.streak_reminder_candidates(session, at)
    written = 0
    for start in range(0, len(user_ids), REMINDER_BATCH_SIZE):
        async with ctx.db.session() as session:
            written += await service.send_streak_reminders(
                session, user_ids[start : start + REMINDER_BATCH_SIZE], at
            )
    return written
