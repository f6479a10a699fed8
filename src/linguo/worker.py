"""The Celery application used by `linguo worker` and `linguo beat` when Redis is configured.

Every job registered with `linguo.core.jobs.job` becomes a Celery task of the same name.
Each worker process keeps one event loop and one database engine for all its tasks, since
asyncpg connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown

from linguo.config import Settings, get_settings
from linguo.core.jobs import JobContext, JobSpec, load_task_modules, run_job

_loop: asyncio.AbstractEventLoop | None = None
_context: JobContext | None = None


def _worker_context(settings: Settings) -> tuple[asyncio.AbstractEventLoop, JobContext]:
    global _loop, _context
    if _loop is None or _context is None:
        from linguo.core.cache import create_cache
        from linguo.core.db import Database

        _loop = asyncio.new_event_loop()
        _context = JobContext(
            settings=settings, db=Database.from_settings(settings), cache=create_cache(settings)
        )
    return _loop, _context


def _close_worker_context(**_: Any) -> None:
    global _loop, _context
    if _loop is not None and _context is not None:
        _loop.run_until_complete(_context.db.dispose())
        _loop.run_until_complete(_context.cache.close())
        _loop.close()
    _loop = _context = None


worker_process_shutdown.connect(_close_worker_context)


def _register(app: Celery, spec: JobSpec, settings: Settings) -> None:
    def run(**kwargs: Any) -> Any:
        loop, ctx = _worker_context(settings)
        return loop.run_until_complete(run_job(ctx, spec.name, kwargs))

    run.__name__ = spec.name.replace(".", "_")
    app.task(name=spec.name, acks_late=True, reject_on_worker_lost=True)(run)


def create_celery(settings: Settings | None = None) -> Celery:
    """A Celery app on the Redis broker with every registered job and the periodic schedule."""
    settings = settings or get_settings()
    if settings.redis_url is None:
        raise RuntimeError("LINGUO_REDIS_URL is required for Celery workers")
    app = Celery("linguo", broker=settings.redis_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    specs = load_task_modules()
    for spec in specs.values():
        _register(app, spec, settings)
    app.conf.beat_schedule = {
        spec.name: {"task": spec.name, "schedule": spec.schedule, "kwargs": spec.schedule_kwargs}
        for spec in specs.values()
        if spec.schedule is not None
    }
    return app
