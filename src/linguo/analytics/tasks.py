"""Periodic jobs of analytics: daily snapshots of learners' figures, and their retention."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from celery.schedules import crontab

from linguo.analytics import service
from linguo.core.db import utcnow
from linguo.core.jobs import JobContext, job

SNAPSHOT_RETENTION_DAYS = 365


@job("analytics.snapshot_daily", schedule=crontab(minute="0", hour="2"))
async def snapshot_daily(ctx: JobContext, day: str | None = None) -> int:
    """Snapshot every learner active on UTC day `day` (ISO date; default yesterday).

    Idempotent: running again (or late) rewrites the same rows. Returns how many it wrote.
    """
    now = utcnow()
    target = date.fromisoformat(day) if day is not None else now.date() - timedelta(days=1)
    async with ctx.db.session() as session:
        return await service.take_snapshots(session, target, now=now.astimezone(UTC))


@job(
    "analytics.cleanup_snapshots",
    schedule=crontab(minute="30", hour="3", day_of_week="1"),
)
async def cleanup_snapshots(ctx: JobContext, retention_days: int = SNAPSHOT_RETENTION_DAYS) -> int:
    """Delete snapshots of days more than `retention_days` days ago; returns how many."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    async with ctx.db.session() as session:
        return await service.delete_old_snapshots(
            session, retention_days=retention_days, now=utcnow()
        )
