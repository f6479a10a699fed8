"""Background jobs: one API, two runtimes.

Domains declare jobs with `@job(...)` in their `tasks.py` and call `enqueue(name, **kwargs)`.
Inside a unit of work (an HTTP request or `Database.session()` with `deferred_jobs()`),
enqueued jobs are held back and sent only after the transaction commits; they are dropped
if it rolls back. Without Redis they run in-process on an asyncio worker; with Redis they
are Celery tasks run by `linguo worker`, and periodic jobs are scheduled by `linguo beat`.
The same celery schedule objects drive the in-process scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from celery.schedules import BaseSchedule

    from linguo.config import Settings
    from linguo.core.cache import Cache
    from linguo.core.db import Database

logger = structlog.get_logger("linguo.jobs")

# Modules whose import registers jobs; each domain adds its tasks module here.
TASK_MODULES: tuple[str, ...] = (
    "linguo.identity.tasks",
    "linguo.srs.tasks",
    "linguo.analytics.tasks",
    "linguo.gamification.tasks",
    "linguo.notifications.tasks",
)


@dataclass
class JobContext:
    """What a running job may use: the settings, the database and the cache."""

    settings: Settings
    db: Database
    cache: Cache


JobFunc = Callable[..., Awaitable[Any]]


@dataclass
class JobSpec:
    """A registered job: its name, the coroutine function and an optional periodic schedule."""

    name: str
    func: JobFunc
    schedule: BaseSchedule | None = None
    schedule_kwargs: dict[str, Any] = field(default_factory=dict)


registry: dict[str, JobSpec] = {}


def job(
    name: str, *, schedule: BaseSchedule | None = None, **schedule_kwargs: Any
) -> Callable[[JobFunc], JobFunc]:
    """Register `async def f(ctx: JobContext, **kwargs)` as job `name`, optionally periodic."""

    def decorator(func: JobFunc) -> JobFunc:
        if name in registry and registry[name].func is not func:
            raise ValueError(f"job {name!r} is registered twice")
        registry[name] = JobSpec(name, func, schedule, dict(schedule_kwargs))
        return func

    return decorator


def load_task_modules() -> dict[str, JobSpec]:
    """Import every domain's tasks module so that their jobs are registered."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return registry


class JobBackend(Protocol):
    """Where enqueued jobs go once their transaction has committed."""

    async def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Hand one job over for execution."""


_backend: JobBackend | None = None
_pending: ContextVar[list[tuple[str, dict[str, Any]]] | None] = ContextVar(
    "linguo_pending_jobs", default=None
)


def set_backend(backend: JobBackend | None) -> JobBackend | None:
    """Install the process's job backend (done by the app lifespan); returns the previous one."""
    global _backend
    previous, _backend = _backend, backend
    return previous


async def enqueue(name: str, **kwargs: Any) -> None:
    """Queue job `name`; inside a unit of work it is sent only after the commit."""
    if name not in registry:
        raise KeyError(f"unknown job {name!r}")
    pending = _pending.get()
    if pending is not None:
        pending.append((name, kwargs))
        return
    await _send(name, kwargs)


async def _send(name: str, kwargs: dict[str, Any]) -> None:
    if _backend is None:
        raise RuntimeError("no job backend installed")
    await _backend.send(name, kwargs)


class JobBatch:
    """Jobs collected during one unit of work."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict[str, Any]]] = []

    async def send(self) -> None:
        """Send the collected jobs (call after commit); a failure to send is logged, not raised."""
        jobs, self.jobs = self.jobs, []
        for name, kwargs in jobs:
            try:
                await _send(name, kwargs)
            except Exception:
                logger.exception("job_send_failed", job=name)

    def discard(self) -> None:
        """Drop the collected jobs (the transaction rolled back)."""
        self.jobs.clear()


@asynccontextmanager
async def deferred_jobs() -> AsyncIterator[JobBatch]:
    """Collect jobs enqueued inside the block instead of sending them at once."""
    batch = JobBatch()
    token = _pending.set(batch.jobs)
    try:
        yield batch
    finally:
        _pending.reset(token)


async def run_job(ctx: JobContext, name: str, kwargs: dict[str, Any]) -> Any:
    """Run one registered job now, with its own unit of work for any jobs it enqueues."""
    spec = registry[name]
    started = asyncio.get_running_loop().time()
    log = logger.bind(job=name)
    async with deferred_jobs() as batch:
        try:
            result = await spec.func(ctx, **kwargs)
        except Exception:
            batch.discard()
            log.exception("job_failed")
            raise
    await batch.send()
    log.info("job_done", duration_ms=round((asyncio.get_running_loop().time() - started) * 1000, 1))
    return result


class InProcessJobRunner:
    """Runs jobs on the API's event loop; used when no Redis is configured."""

    def __init__(self, ctx: JobContext, *, concurrency: int = 2, scheduler: bool = True) -> None:
        self.ctx = ctx
        self.concurrency = concurrency
        self.scheduler_enabled = scheduler
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Queue the job for one of the in-process workers."""
        await self.queue.put((name, kwargs))

    async def start(self) -> None:
        """Start the workers and, when enabled, the periodic scheduler."""
        for index in range(self.concurrency):
            self._tasks.append(asyncio.create_task(self._work(), name=f"linguo-job-worker-{index}"))
        if self.scheduler_enabled and any(spec.schedule for spec in registry.values()):
            self._tasks.append(asyncio.create_task(self._schedule(), name="linguo-job-scheduler"))

    async def drain(self) -> None:
        """Wait until every queued job has run (used by tests and shutdown)."""
        await self.queue.join()

    async def stop(self) -> None:
        """Finish queued jobs (bounded) and stop the workers."""
        try:
            await asyncio.wait_for(self.queue.join(), timeout=10)
        except TimeoutError:
            logger.warning("jobs_abandoned_at_shutdown", remaining=self.queue.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _work(self) -> None:
        while True:
            name, kwargs = await self.queue.get()
            try:
                await run_job(self.ctx, name, kwargs)
            except Exception:  # noqa: S110 - run_job logged it; the worker must survive
                pass
            finally:
                self.queue.task_done()

    async def _schedule(self) -> None:
        # Several API processes may share a database: only the holder of this advisory
        # lock schedules, and another process takes over if the holder dies.
        lock_key = int.from_bytes(
            hashlib.sha256(b"linguo-scheduler").digest()[:8], "big", signed=True
        )
        last_run: dict[str, datetime] = {}
        while True:
            try:
                async with self.ctx.db.engine.connect() as conn:
                    acquired = (
                        await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key})
                    ).scalar_one()
                    if acquired:
                        try:
                            await self._schedule_as_leader(conn, last_run)
                        finally:
                            # The lock belongs to the session, not the transaction: without
                            # this the pooled connection would keep it after a stop or error.
                            with contextlib.suppress(Exception):
                                await conn.execute(
                                    text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key}
                                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("scheduler_error")
            await asyncio.sleep(30)

    async def _schedule_as_leader(
        self, lock_conn: AsyncConnection, last_run: dict[str, datetime]
    ) -> None:
        while True:
            # The lock lives as long as this connection: if it broke, another process may
            # lead now, so stop scheduling (the error ends the leadership).
            await lock_conn.execute(text("SELECT 1"))
            wait = 60.0
            now = datetime.now(UTC)
            for spec in list(registry.values()):
                if spec.schedule is None:
                    continue
                due, next_check = spec.schedule.is_due(last_run.setdefault(spec.name, now))
                if due:
                    last_run[spec.name] = datetime.now(UTC)
                    await self.send(spec.name, dict(spec.schedule_kwargs))
                wait = min(wait, max(float(next_check), 0.5))
            await asyncio.sleep(wait)


@asynccontextmanager
async def job_backend(
    ctx: JobContext, *, scheduler: bool, concurrency: int = 2
) -> AsyncIterator[InProcessJobRunner | None]:
    """Install this process's job backend for the block, and give the previous one back after.

    With Redis, jobs go to Celery workers (yields None); without, an in-process runner runs
    them (yielded, so callers can drain it), scheduling periodic jobs when `scheduler` is set.
    """
    backend: CeleryJobBackend | InProcessJobRunner
    if ctx.settings.redis_url:
        backend = CeleryJobBackend(ctx.settings)
    else:
        backend = InProcessJobRunner(ctx, concurrency=concurrency, scheduler=scheduler)
        await backend.start()
    previous = set_backend(backend)
    try:
        yield backend if isinstance(backend, InProcessJobRunner) else None
    finally:
        if isinstance(backend, InProcessJobRunner):
            await backend.stop()
        else:
            await backend.close()
        # Several apps can live in one process (tests): give the backend back.
        set_backend(previous)


class CeleryJobBackend:
    """Sends jobs to Celery workers through the Redis broker."""

    def __init__(self, settings: Settings) -> None:
        from linguo.worker import create_celery

        self.celery = create_celery(settings)

    async def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Publish the job on the broker (off the event loop: the client is blocking)."""
        await asyncio.to_thread(self.celery.send_task, name, kwargs=kwargs)

    async def close(self) -> None:
        """Release the broker connections."""
        await asyncio.to_thread(self.celery.close)
