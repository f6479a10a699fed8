"""Notifications: streak reminders at 18:00 local time into the outbox, and the outbox API.

The job runs as the scheduler runs it (hourly, at minute 0) with `now` given, for learners
in several time zones, across daylight-saving changes, with freezes and broken streaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from sqlalchemy import text

from linguo.config import Settings
from linguo.core import jobs
from linguo.core.cache import MemoryCache
from linguo.core.db import Database
from linguo.core.jobs import JobContext
from linguo.gamification import service as gamification
from linguo.gamification.shop import seed_shop_items
from linguo.models.gamification import InventoryItem
from linguo.models.identity import User
from linguo.notifications import service, tasks
from tests.conftest import scalar

JOB = "notifications.send_streak_reminders"


@pytest.fixture
def ctx(settings: Settings, database: Database) -> JobContext:
    return JobContext(settings=settings, db=database, cache=MemoryCache())


async def learner(
    database: Database,
    zone: str,
    *,
    language: str = "en",
    practised: Iterable[date] = (),
    active: bool = True,
) -> uuid.UUID:
    """A learner in `zone` who practised at noon (local) on each of the given local dates."""
    async with database.session() as session:
        user = User(
            email=f"{uuid.uuid4().hex[:10]}@example.com",
            password_hash="x",
            timezone=zone,
            native_language=language,
            is_active=active,
        )
        session.add(user)
        await session.flush()
        user_id = user.id
    for day in practised:
        await practise(database, user_id, local(zone, day, 12))
    return user_id


def local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a wall-clock time in `zone`."""
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)


async def practise(database: Database, user_id: uuid.UUID, at: datetime) -> None:
    async with database.session() as session:
        await gamification.record_activity(session, user_id, at)


async def run(ctx: JobContext, now: datetime) -> int:
    """One run of the reminder job at `now`, as the scheduler would start it."""
    return int(await jobs.run_job(ctx, JOB, {"now": now.isoformat()}))


async def reminders(database: Database) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Every reminder in the outbox, by learner."""
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT user_id, kind::text AS kind, reference, title, body, data, created_at,"
                " delivered_at, attempts FROM notifications ORDER BY created_at"
            )
        )
        found: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for row in rows.mappings():
            found.setdefault(row["user_id"], []).append(dict(row))
        return found


def d(text_: str) -> date:
    return date.fromisoformat(text_)


def test_the_job_is_registered_hourly() -> None:
    spec = jobs.load_task_modules()[JOB]
    assert spec.func is tasks.send_streak_reminders
    assert spec.schedule == crontab(minute="0")


async def test_hourly_runs_remind_each_zone_when_its_local_time_reaches_18(
    ctx: JobContext, database: Database
) -> None:
    zones = ["Pacific/Auckland", "Asia/Kolkata", "Europe/Paris", "America/New_York"]
    # Each practised on their local 13 and 14 January: a 2-day streak, nothing done on the 15th.
    learners = {
        zone: await learner(database, zone, practised=[d("2026-01-13"), d("2026-01-14")])
        for zone in zones
    }
    reminded_at: dict[str, list[datetime]] = {zone: [] for zone in zones}
    start = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
    for hour in range(37):  # hourly from 14 January 12:00 UTC to 16 January 00:00 UTC
        now = start + timedelta(hours=hour)
        before = await scalar(database, "SELECT count(*) FROM notifications")
        written = await run(ctx, now)
        assert await scalar(database, "SELECT count(*) FROM notifications") == before + written
        for zone, user_id in learners.items():
            count = await scalar(
                database,
                "SELECT count(*) FROM notifications WHERE user_id = :u AND created_at = :now",
                u=user_id,
                now=now,
            )
            reminded_at[zone] += [now] * count

    assert reminded_at == {
        # 18:00 NZDT (UTC+13) on the 15th; on the 14th local they had practised.
        "Pacific/Auckland": [datetime(2026, 1, 15, 5, tzinfo=UTC)],
        # The job runs at minute 0 UTC, 17:30 then 18:30 in India (UTC+5:30).
        "Asia/Kolkata": [datetime(2026, 1, 15, 13, tzinfo=UTC)],
        "Europe/Paris": [datetime(2026, 1, 15, 17, tzinfo=UTC)],
        "America/New_York": [datetime(2026, 1, 15, 23, tzinfo=UTC)],
    }
    outbox = await reminders(database)
    for zone, user_id in learners.items():
        [row] = outbox[user_id]
        assert row["kind"] == "streak_reminder"
        assert row["reference"] == "2026-01-15"
        assert row["title"] == "Keep your 2-day streak!"
        assert "practised today" in row["body"]
        assert row["data"] == {"streak": 2, "local_date": "2026-01-15"}, zone
        assert row["delivered_at"] is None and row["attempts"] == 0


async def test_only_live_streaks_without_practice_today_are_reminded(
    ctx: JobContext, database: Database
) -> None:
    paris = "Europe/Paris"
    async with database.session() as session:
        await seed_shop_items(session)
    practised_today = await learner(database, paris, practised=[d("2026-01-14"), d("2026-01-15")])
    never_practised = await learner(database, paris)
    broken = await learner(database, paris, practised=[d("2026-01-12"), d("2026-01-13")])
    frozen = await learner(database, paris, practised=[d("2026-01-12"), d("2026-01-13")])
    async with database.session() as session:
        session.add(
            InventoryItem(
                user_id=frozen,
                item_id=gamification.FREEZE_ITEM_ID,
                quantity=1,
                updated_at=datetime(2026, 1, 13, tzinfo=UTC),
            )
        )
    suspended = await learner(database, paris, practised=[d("2026-01-14")], active=False)
    # The stored streak is stale until settled: 2 for the learner who missed the 14th.
    assert await scalar(database, "SELECT current_streak FROM users WHERE id = :u", u=broken) == 2

    assert await run(ctx, local(paris, d("2026-01-15"), 18)) == 1

    outbox = await reminders(database)
    assert list(outbox) == [frozen]
    # The freeze covered the 14th, so the 2-day streak is alive and named.
    assert outbox[frozen][0]["title"] == "Keep your 2-day streak!"
    assert (
        await scalar(
            database,
            "SELECT kind::text FROM streak_days WHERE user_id = :u AND day = :day",
            u=frozen,
            day=d("2026-01-14"),
        )
        == "frozen"
    )
    assert (
        await scalar(database, "SELECT quantity FROM inventory_items WHERE user_id = :u", u=frozen)
        == 0
    )
    # Settling the broken streak stored it as 0, so it is not a candidate any more.
    assert await scalar(database, "SELECT current_streak FROM users WHERE id = :u", u=broken) == 0
    for user_id in (practised_today, never_practised, suspended):
        assert user_id not in outbox


async def test_a_learner_who_practised_after_18_is_not_reminded_later(
    ctx: JobContext, database: Database
) -> None:
    zone = "Europe/Paris"
    user_id = await learner(database, zone, practised=[d("2026-01-14")])
    await practise(database, user_id, local(zone, d("2026-01-15"), 17, 59))
    for hour in (18, 19, 20, 21):
        assert await run(ctx, local(zone, d("2026-01-15"), hour)) == 0
    assert await scalar(database, "SELECT count(*) FROM notifications") == 0


@pytest.mark.parametrize(
    ("zone", "before", "after", "reminded_utc"),
    [
        # Paris leaves summer time (UTC+2 -> UTC+1) on Sunday 25 October 2026 at 03:00.
        (
            "Europe/Paris",
            d("2026-10-24"),
            d("2026-10-25"),
            (datetime(2026, 10, 24, 16, tzinfo=UTC), datetime(2026, 10, 25, 17, tzinfo=UTC)),
        ),
        # New York leaves daylight time (UTC-4 -> UTC-5) on Sunday 1 November 2026 at 02:00.
        (
            "America/New_York",
            d("2026-10-31"),
            d("2026-11-01"),
            (datetime(2026, 10, 31, 22, tzinfo=UTC), datetime(2026, 11, 1, 23, tzinfo=UTC)),
        ),
        # Paris starts summer time (UTC+1 -> UTC+2) on Sunday 29 March 2026 at 02:00.
        (
            "Europe/Paris",
            d("2026-03-28"),
            d("2026-03-29"),
            (datetime(2026, 3, 28, 17, tzinfo=UTC), datetime(2026, 3, 29, 16, tzinfo=UTC)),
        ),
    ],
)
async def test_the_local_18_oclock_hour_is_right_across_a_dst_change(
    ctx: JobContext,
    database: Database,
    zone: str,
    before: date,
    after: date,
    reminded_utc: tuple[datetime, datetime],
) -> None:
    user_id = await learner(database, zone, practised=[before - timedelta(days=1)])
    first, second = reminded_utc
    assert await run(ctx, first - timedelta(hours=1)) == 0  # 17:00 local
    assert await run(ctx, first) == 1
    # They practise that evening, then the clocks change overnight.
    await practise(database, user_id, local(zone, before, 20))
    assert await run(ctx, second - timedelta(hours=1)) == 0  # 17:00 local, the new offset
    assert await run(ctx, second) == 1
    outbox = (await reminders(database))[user_id]
    assert [row["reference"] for row in outbox] == [before.isoformat(), after.isoformat()]
    assert [row["data"]["streak"] for row in outbox] == [1, 2]


async def test_repeated_and_late_runs_write_one_reminder_a_day(
    ctx: JobContext, database: Database
) -> None:
    zone = "Asia/Kolkata"
    on_time = await learner(database, zone, practised=[d("2026-01-14")])
    assert await run(ctx, local(zone, d("2026-01-15"), 18, 30)) == 1
    assert await run(ctx, local(zone, d("2026-01-15"), 18, 30)) == 0
    assert await run(ctx, local(zone, d("2026-01-15"), 21, 30)) == 0

    # The hours from 18:00 were missed: a run at 21:59 still reminds, one at 22:00 does not.
    late = await learner(database, zone, practised=[d("2026-01-14")])
    too_late = await learner(database, "America/New_York", practised=[d("2026-01-14")])
    assert await run(ctx, local(zone, d("2026-01-15"), 21, 59)) == 1
    assert await run(ctx, local("America/New_York", d("2026-01-15"), 22)) == 0
    # Nor before 18:00 local, and not the day after a reminder the learner ignored.
    assert await run(ctx, local("America/New_York", d("2026-01-15"), 17, 59)) == 0
    assert await run(ctx, local(zone, d("2026-01-16"), 18, 30)) == 0

    outbox = await reminders(database)
    assert sorted(outbox, key=str) == sorted([on_time, late], key=str)
    assert too_late not in outbox
    assert all(len(rows) == 1 for rows in outbox.values())
    assert await scalar(database, "SELECT count(*) FROM notifications") == 2


async def test_reminders_are_in_the_learners_native_language(
    ctx: JobContext, database: Database
) -> None:
    zone = "Europe/Madrid"
    two_days = [d("2026-01-13"), d("2026-01-14")]
    by_language = {
        "fr": await learner(database, zone, language="fr", practised=two_days),
        "es": await learner(database, zone, language="es", practised=two_days),
        "de": await learner(database, zone, language="de", practised=[d("2026-01-14")]),
        "ja": await learner(database, zone, language="ja", practised=two_days),
    }
    assert await run(ctx, local(zone, d("2026-01-15"), 18)) == 4
    outbox = await reminders(database)
    titles = {language: outbox[user_id][0]["title"] for language, user_id in by_language.items()}
    assert titles == {
        "fr": "Gardez votre série de 2 jours !",
        "es": "¡Mantén tu racha de 2 días!",
        "de": "Halte deine Serie von 1 Tag!",
        "ja": "Keep your 2-day streak!",  # no Japanese text yet: English
    }
    assert "aujourd'hui" in outbox[by_language["fr"]][0]["body"]
    assert "hoy" in outbox[by_language["es"]][0]["body"]


async def test_a_zone_postgresql_does_not_know_counts_as_utc(
    ctx: JobContext, database: Database
) -> None:
    user_id = await learner(database, "UTC", practised=[d("2026-01-14")])
    async with database.session() as session:
        await session.execute(
            text("UPDATE users SET timezone = 'Mars/Olympus_Mons' WHERE id = :u"), {"u": user_id}
        )
    assert await run(ctx, datetime(2026, 1, 15, 17, tzinfo=UTC)) == 0
    assert await run(ctx, datetime(2026, 1, 15, 18, tzinfo=UTC)) == 1


async def test_learners_are_reminded_in_several_transactions(
    ctx: JobContext, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "REMINDER_BATCH_SIZE", 2)
    committed: list[int] = []
    original = service.send_streak_reminders

    async def counting(*args: Any, **kwargs: Any) -> int:
        written = await original(*args, **kwargs)
        committed.append(written)
        return written

    monkeypatch.setattr(service, "send_streak_reminders", counting)
    for _ in range(5):
        await learner(database, "UTC", practised=[d("2026-01-14")])
    assert await run(ctx, datetime(2026, 1, 15, 18, tzinfo=UTC)) == 5
    assert committed == [2, 2, 1]


async def test_a_bad_now_is_refused_and_writes_nothing(ctx: JobContext, database: Database) -> None:
    await learner(database, "UTC", practised=[d("2026-01-14")])
    with pytest.raises(ValueError, match="not an ISO 8601"):
        await jobs.run_job(ctx, JOB, {"now": "tomorrow at six"})
    # A time without an offset is UTC.
    assert await jobs.run_job(ctx, JOB, {"now": "2026-01-15T18:00:00"}) == 1


# --------------------------------------------------------------------------- the outbox


async def test_deliverers_claim_pending_messages_once(ctx: JobContext, database: Database) -> None:
    for hour in (18, 19, 20):
        await learner(database, "UTC", practised=[d("2026-01-14")])
        await run(ctx, datetime(2026, 1, 15, hour, tzinfo=UTC))
    assert await scalar(database, "SELECT count(*) FROM notifications") == 3

    async with database.session() as first, database.session() as second:
        claimed_first = await service.claim_pending(first, limit=1)
        # The first deliverer's message is locked: the second one skips it, never waits.
        claimed_second = await service.claim_pending(second, limit=10)
        assert [n.created_at.hour for n in claimed_first] == [18]
        assert [n.created_at.hour for n in claimed_second] == [19, 20]
        assert claimed_first[0].title == "Keep your 1-day streak!"
        delivered_at = datetime(2026, 1, 15, 21, tzinfo=UTC)
        assert await service.mark_delivered(first, [claimed_first[0].id], delivered_at) == 1
        await service.record_failed_attempt(second, [n.id for n in claimed_second])

    async with database.session() as session:
        pending = await service.claim_pending(session)
        assert [(n.created_at.hour, n.attempts) for n in pending] == [(19, 1), (20, 1)]
        # Delivering twice changes nothing the second time.
        assert await service.mark_delivered(session, [claimed_first[0].id], delivered_at) == 0
    assert (
        await scalar(database, "SELECT count(*) FROM notifications WHERE delivered_at IS NOT NULL")
        == 1
    )
