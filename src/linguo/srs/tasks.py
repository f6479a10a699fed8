"""Periodic jobs of spaced repetition: fitting learners' personal FSRS parameters."""

from __future__ import annotations

import uuid

from celery.schedules import crontab

from linguo.core.db import utcnow
from linguo.core.jobs import JobContext, enqueue, job
from linguo.srs import repository, service

FITS_PER_RUN = 100


@job("srs.schedule_parameter_fits", schedule=crontab(minute="41"))
async def schedule_parameter_fits(ctx: JobContext) -> int:
    """Queue a fit for each learner with enough new reviews since their last fit."""
    settings = ctx.settings
    async with ctx.db.session() as session:
        stmt = repository.learners_due_for_fit_query(
            min_reviews=settings.srs_optimizer_min_reviews,
            refit_reviews=settings.srs_optimizer_refit_reviews,
        ).limit(FITS_PER_RUN)
        learners = [user_id for user_id, _ in await session.execute(stmt)]
    for user_id in learners:
        await enqueue("srs.fit_learner_parameters", user_id=str(user_id))
    return len(learners)


@job("srs.fit_learner_parameters")
async def fit_learner_parameters(ctx: JobContext, user_id: str) -> bool:
    """Fit one learner's FSRS parameters from their review history (fsrs-rs optimizer)."""
    async with ctx.db.session() as session:
        return await service.fit_personal_parameters(
            session, uuid.UUID(user_id), ctx.settings, now=utcnow()
        )
