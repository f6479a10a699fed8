"""Periodic jobs of gamification: the weekly league rollover."""

from __future__ import annotations

from datetime import datetime

from celery.schedules import crontab

from linguo.core.db import utcnow
from linguo.core.jobs import JobContext, job
from linguo.gamification import leagues


# Every 10 minutes: it places learners left waiting for a group by a burst of joiners, and
# the first run after Monday 00:00 UTC settles the week even if that exact run was missed.
# A run with nothing to do costs two indexed queries.
@job("gamification.rollover_leagues", schedule=crontab(minute="*/10"))
async def rollover_leagues(ctx: JobContext, now: str | None = None) -> int:
    """Place learners waiting for a league group; settle the groups of weeks that have ended.

    `now` (ISO 8601, with offset) replaces the clock for manual runs and tests.
    """
    at = datetime.fromisoformat(now) if now is not None else utcnow()
    if at.tzinfo is None:
        raise ValueError("now needs a UTC offset, e.g. 2026-11-30T00:05:00+00:00")
    return await leagues.rollover(ctx.db, at)
