"""Periodic jobs of the identity domain."""

from __future__ import annotations

from celery.schedules import crontab

from linguo.core.db import utcnow
from linguo.core.jobs import JobContext, job
from linguo.identity import service

REFRESH_TOKEN_RETENTION_DAYS = 7


@job("identity.purge_stale_refresh_tokens", schedule=crontab(minute="17", hour="3"))
async def purge_stale_refresh_tokens(ctx: JobContext) -> int:
    """Delete refresh tokens that expired, were spent or were revoked over a week ago."""
    async with ctx.db.session() as session:
        return await service.purge_stale_tokens(
            session, retention_days=REFRESH_TOKEN_RETENTION_DAYS, now=utcnow()
        )
