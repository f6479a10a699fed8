"""The domain jobs through Celery: enqueued on Redis, run by one real `linguo worker`.

One worker process serves every test of this module (starting one costs seconds); each test
enqueues through `CeleryJobBackend` and waits for the job's effect in the database.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from linguo.core import jobs
from linguo.core.db import Database
from linguo.core.jobs import CeleryJobBackend
from linguo.gamification import leagues
from linguo.gamification import service as gamification
from linguo.models.analytics import AnalyticsSnapshot
from linguo.models.gamification import XpSource
from linguo.models.identity import User
from tests.conftest import TestServers, make_settings, scalar
from tests.test_celery_worker import _output, _server_env, _spawn

pytestmark = pytest.mark.slow

# A day two weeks ago: its league week is over, and its snapshot is well within retention.
DAY = datetime.now(UTC).date() - timedelta(days=14)


@pytest.fixture(scope="module")
def worker(
    servers: TestServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """One `linguo worker` for the module; it must stop cleanly at the end."""
    cwd = tmp_path_factory.mktemp("celery-jobs")
    with _spawn(["worker", "--concurrency", "1"], _server_env(servers, cwd), cwd) as process:
        yield process, cwd
    assert process.returncode == 0, _output(cwd, "worker")


@pytest.fixture
async def enqueue(servers: TestServers) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """`jobs.enqueue` with the Celery backend installed, as the API uses it with Redis."""
    backend = CeleryJobBackend(make_settings(servers, redis_url=servers.redis_url))
    previous = jobs.set_backend(backend)
    try:
        yield jobs.enqueue
    finally:
        jobs.set_backend(previous)
        await backend.close()


async def wait_until(
    worker: tuple[subprocess.Popen[bytes], Path],
    database: Database,
    sql: str,
    expected: Any,
    **params: Any,
) -> None:
    """Poll `sql` until it returns `expected` (the worker's log on failure)."""
    process, cwd = worker
    deadline = monotonic() + 45
    value = None
    while monotonic() < deadline:
        assert process.poll() is None, f"the worker exited:\n{_output(cwd, 'worker')}"
        value = await scalar(database, sql, **params)
        if value == expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{sql} gave {value!r}, not {expected!r}:\n{_output(cwd, 'worker')}")


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def learner_with_xp(database: Database, email: str, zone: str = "UTC") -> uuid.UUID:
    """A learner who earned 30 XP and practised at noon UTC on DAY (a 1-day streak)."""
    async with database.session() as session:
        user = User(email=email, password_hash="x", timezone=zone)
        session.add(user)
        await session.flush()
        user_id = user.id
    async with database.session() as session:
        await gamification.award_xp(
            session, user_id, source=XpSource.BONUS, reference="celery", amount=30, at=noon(DAY)
        )
        await gamification.record_activity(session, user_id, noon(DAY))
    return user_id


async def test_streak_reminders_run_on_the_worker(
    worker: tuple[subprocess.Popen[bytes], Path],
    database: Database,
    enqueue: Callable[..., Awaitable[None]],
) -> None:
    user_id = await learner_with_xp(database, "paris@example.com", "Europe/Paris")
    # 18:00 in Paris the next day.
    evening = datetime.combine(DAY + timedelta(days=1), time(18), ZoneInfo("Europe/Paris"))
    await enqueue("notifications.send_streak_reminders", now=evening.isoformat())
    await wait_until(
        worker,
        database,
        "SELECT count(*) FROM notifications WHERE user_id = :u AND reference = :day"
        " AND delivered_at IS NULL",
        1,
        u=user_id,
        day=(DAY + timedelta(days=1)).isoformat(),
    )
    assert (
        await scalar(database, "SELECT title FROM notifications WHERE user_id = :u", u=user_id)
        == "Keep your 1-day streak!"
    )


async def test_daily_snapshots_run_on_the_worker(
    worker: tuple[subprocess.Popen[bytes], Path],
    database: Database,
    enqueue: Callable[..., Awaitable[None]],
) -> None:
    user_id = await learner_with_xp(database, "snapshot@example.com")
    await enqueue("analytics.snapshot_daily", day=DAY.isoformat())
    await wait_until(
        worker,
        database,
        "SELECT xp FROM analytics_snapshots WHERE user_id = :u AND day = :day",
        30,
        u=user_id,
        day=DAY,
    )


async def test_snapshot_cleanup_runs_on_the_worker(
    worker: tuple[subprocess.Popen[bytes], Path],
    database: Database,
    enqueue: Callable[..., Awaitable[None]],
) -> None:
    user_id = await learner_with_xp(database, "cleanup@example.com")
    async with database.session() as session:
        for day in (DAY, DAY - timedelta(days=400)):
            session.add(
                AnalyticsSnapshot(
                    user_id=user_id, day=day, total_xp=30, level=1, created_at=noon(DAY)
                )
            )
    await enqueue("analytics.cleanup_snapshots", retention_days=365)
    await wait_until(
        worker,
        database,
        "SELECT string_agg(day::text, ',') FROM analytics_snapshots WHERE user_id = :u",
        DAY.isoformat(),
        u=user_id,
    )


async def test_league_rollover_runs_on_the_worker(
    worker: tuple[subprocess.Popen[bytes], Path],
    database: Database,
    enqueue: Callable[..., Awaitable[None]],
) -> None:
    user_id = await learner_with_xp(database, "league@example.com")
    week = leagues.week_start(noon(DAY))
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM league_groups WHERE week_start = :w AND settled_at IS NULL",
            w=week,
        )
        == 1
    )
    after_the_week = leagues.week_ends_at(week) + timedelta(hours=1)
    await enqueue("gamification.rollover_leagues", now=after_the_week.isoformat())
    await wait_until(
        worker,
        database,
        "SELECT outcome::text FROM league_memberships WHERE user_id = :u AND week_start = :w",
        "promoted",
        u=user_id,
        w=week,
    )
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM league_groups WHERE week_start = :w AND settled_at = :at",
            w=week,
            at=after_the_week,
        )
        == 1
    )
