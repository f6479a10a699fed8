"""Analytics jobs: daily snapshots (idempotent, set-based) and their retention, in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from sqlalchemy import text

from linguo.config import Settings
from linguo.core import jobs
from linguo.core.cache import MemoryCache
from linguo.core.db import Database
from linguo.core.jobs import InProcessJobRunner, JobContext, run_job
from tests.conftest import Clock, UserFactory, execute, scalar
from tests.test_analytics import seed_history

SNAPSHOT = "analytics.snapshot_daily"
CLEANUP = "analytics.cleanup_snapshots"
COLUMNS = (
    "total_xp, level, xp, current_streak, longest_streak, lessons_completed, reviews, "
    "conversation_turns, answers, correct_answers, minutes, words_new, words_learning, "
    "words_review, words_relearning, words_mastered"
)


@pytest.fixture
def ctx(settings: Settings, database: Database) -> JobContext:
    jobs.load_task_modules()
    return JobContext(settings=settings, db=database, cache=MemoryCache())


@pytest.fixture
async def runner(ctx: JobContext) -> AsyncIterator[InProcessJobRunner]:
    """A started in-process runner (no scheduler) installed as the job backend."""
    job_runner = InProcessJobRunner(ctx, scheduler=False)
    await job_runner.start()
    previous = jobs.set_backend(job_runner)
    yield job_runner
    await job_runner.stop()
    jobs.set_backend(previous)


async def snapshots(database: Database) -> dict[tuple[uuid.UUID, date], dict[str, Any]]:
    async with database.session() as session:
        rows = await session.execute(
            text(f"SELECT user_id, day, {COLUMNS} FROM analytics_snapshots")  # noqa: S608
        )
        return {(row.user_id, row.day): dict(row._mapping) for row in rows}


def test_the_jobs_are_registered_with_their_schedules() -> None:
    specs = jobs.load_task_modules()
    assert specs[SNAPSHOT].schedule == crontab(minute="0", hour="2")
    assert specs[CLEANUP].schedule == crontab(minute="30", hour="3", day_of_week="1")


async def test_snapshot_of_a_day_holds_the_hand_computed_figures(
    ctx: JobContext,
    runner: InProcessJobRunner,
    database: Database,
    user_factory: UserFactory,
    demo_vocabulary: dict[tuple[str, str], int],
    tmp_path: Path,
    clock: Clock,
) -> None:
    seeded = await seed_history(database, user_factory, demo_vocabulary, tmp_path)
    await execute(
        database,
        "UPDATE users SET current_streak = 5, longest_streak = 6 WHERE id = :u",
        u=seeded.user_id,
    )
    # Another learner whose only activity on 1 March (UTC) is a bonus; a third active on
    # 28 February only gets no snapshot of 1 March.
    other, _, _ = await user_factory()
    idle, _, _ = await user_factory()
    for user_id, when in ((other["id"], "2026-03-01 12:00"), (idle["id"], "2026-02-28 12:00")):
        await execute(
            database,
            "INSERT INTO xp_ledger (user_id, source, reference, base_amount, multiplier, "
            "amount, local_date, created_at) VALUES (:u, 'bonus', 'b', 7, 1, 7, :d, :at)",
            u=uuid.UUID(user_id),
            d=date(2026, 3, 1),
            at=datetime.fromisoformat(when).replace(tzinfo=UTC),
        )

    assert await run_job(ctx, SNAPSHOT, {"day": "2026-03-01"}) == 2
    written = await snapshots(database)
    assert set(written) == {
        (seeded.user_id, date(2026, 3, 1)),
        (uuid.UUID(other["id"]), date(2026, 3, 1)),
    }
    assert written[(seeded.user_id, date(2026, 3, 1))] == {
        "user_id": seeded.user_id,
        "day": date(2026, 3, 1),
        # XP before 2 March 00:00 UTC: 100 + 4 + 1 + 10 + 1 = 116 (level 2); on the day
        # A2's 10 and R3's 1.
        "total_xp": 116,
        "level": 2,
        "xp": 11,
        "current_streak": 5,  # as stored
        "longest_streak": 6,
        "lessons_completed": 1,  # A2 finished 15:05 UTC
        "reviews": 1,  # R3
        "conversation_turns": 0,
        "answers": 4,  # A2's 3 first answers and R3
        "correct_answers": 3,
        "minutes": 16,  # A2's 15 minutes + R3's response capped at 1 minute
        # Cards as of the end of the day: C4 (stability 30) and C5 (10) had been reviewed,
        # the other 7 had not.
        "words_new": 7,
        "words_learning": 0,
        "words_review": 2,
        "words_relearning": 0,
        "words_mastered": 1,
    }
    assert written[(uuid.UUID(other["id"]), date(2026, 3, 1))] | {"user_id": None} == {
        "user_id": None,
        "day": date(2026, 3, 1),
        "total_xp": 7,
        "level": 1,
        "xp": 7,
        "current_streak": 0,
        "longest_streak": 0,
        "lessons_completed": 0,
        "reviews": 0,
        "conversation_turns": 0,
        "answers": 0,
        "correct_answers": 0,
        "minutes": 0,
        "words_new": 0,
        "words_learning": 0,
        "words_review": 0,
        "words_relearning": 0,
        "words_mastered": 0,
    }

    # Again through the in-process runner, twice, and late: the same rows, nothing added.
    for _ in range(2):
        await runner.send(SNAPSHOT, {"day": "2026-03-01"})
    await runner.drain()
    assert await snapshots(database) == written

    # Another day adds its own rows: 2 March (UTC) has the seeded learner only.
    await runner.send(SNAPSHOT, {"day": "2026-03-02"})
    await runner.drain()
    after = await snapshots(database)
    assert len(after) == 3
    march_2 = after[(seeded.user_id, date(2026, 3, 2))]
    # A1 15 + R1 + R2 + S1 5 = 22 XP; A1 and R1, R2; S1's 3 turns; A1's 4 answers, R1, R2.
    assert (march_2["total_xp"], march_2["xp"], march_2["lessons_completed"]) == (138, 22, 1)
    assert (march_2["reviews"], march_2["conversation_turns"]) == (2, 3)
    assert (march_2["answers"], march_2["correct_answers"]) == (6, 5)
    # A1 12 min + S1 20 min + (20 + 15) s = 32.6 minutes.
    assert march_2["minutes"] == 33


async def test_snapshot_defaults_to_yesterday_and_refuses_a_bad_day(ctx: JobContext) -> None:
    # Nobody was active yesterday (real time) in this empty database.
    assert await run_job(ctx, SNAPSHOT, {}) == 0
    with pytest.raises(ValueError):
        await run_job(ctx, SNAPSHOT, {"day": "yesterday"})


async def test_cleanup_deletes_only_snapshots_over_a_year_old(
    ctx: JobContext, runner: InProcessJobRunner, database: Database, user_factory: UserFactory
) -> None:
    user, _, _ = await user_factory()
    today = datetime.now(UTC).date()
    for age in (400, 366, 365, 10, 0):
        await execute(
            database,
            "INSERT INTO analytics_snapshots (user_id, day, total_xp, level, created_at) "
            "VALUES (:u, :d, 0, 1, now())",
            u=uuid.UUID(user["id"]),
            d=today - timedelta(days=age),
        )

    async def ages() -> list[int]:
        async with database.session() as session:
            rows = await session.execute(text("SELECT day FROM analytics_snapshots"))
            return sorted((today - day).days for (day,) in rows)

    assert await run_job(ctx, CLEANUP, {}) == 2
    assert await ages() == [0, 10, 365]
    await runner.send(CLEANUP, {})  # again: nothing more to delete
    await runner.drain()
    assert await ages() == [0, 10, 365]
    assert await run_job(ctx, CLEANUP, {"retention_days": 5}) == 2
    assert await ages() == [0]
    with pytest.raises(ValueError):
        await run_job(ctx, CLEANUP, {"retention_days": 0})
    assert await scalar(database, "SELECT count(*) FROM analytics_snapshots") == 1
