"""Gamification: XP ledger, daily goal, streaks on local days (DST, time-zone change), freezes.

Lessons, reviews and conversation turns go through HTTP or through the very domain events
their services publish; every figure is checked against the ledgers and the calendar.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from linguo.conversation.service import ConversationTurnCompleted
from linguo.core.db import Database
from linguo.core.events import events
from linguo.gamification import service
from linguo.gamification.shop import seed_shop_items
from linguo.lessons.service import LessonCompleted
from tests.conftest import Clock, UserFactory, play_first_demo_lesson, scalar

API = "/api/v1"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def assert_ledgers_agree(database: Database, user_id: str) -> None:
    """users.total_xp = sum of the XP ledger; wallet = earnings - spendings = last balance."""
    u = uuid.UUID(user_id)
    ledger_xp = await scalar(
        database, "SELECT coalesce(sum(amount), 0) FROM xp_ledger WHERE user_id = :u", u=u
    )
    assert await scalar(database, "SELECT total_xp FROM users WHERE id = :u", u=u) == ledger_xp
    gems = await scalar(
        database, "SELECT coalesce(gems, 0) FROM gamification_profiles WHERE user_id = :u", u=u
    )
    ledger_gems = await scalar(
        database,
        "SELECT coalesce(sum(CASE WHEN type = 'earn' THEN amount ELSE -amount END), 0) "
        "FROM gem_transactions WHERE user_id = :u",
        u=u,
    )
    last = await scalar(
        database,
        "SELECT balance_after FROM gem_transactions WHERE user_id = :u ORDER BY id DESC LIMIT 1",
        u=u,
    )
    assert (gems or 0) == ledger_gems == (last or 0)


async def publish(database: Database, event: object) -> None:
    """Publish a domain event in its own unit of work, as the publishing service does."""
    async with database.session() as session:
        await events.publish(session, event)


async def turn(database: Database, user_id: str, at: datetime, xp: int = 3) -> None:
    """A conversation turn completed at `at`."""
    await publish(
        database,
        ConversationTurnCompleted(
            user_id=uuid.UUID(user_id),
            session_id=uuid.uuid4(),
            turn_number=1,
            xp_awarded=xp,
            error_count=0,
            words_used=0,
            at=at,
        ),
    )


def runs(calendar: list[dict[str, Any]], today: date) -> tuple[int, int]:
    """(current, longest) computed by hand from the calendar shown to the learner."""
    days = {date.fromisoformat(day["date"]): day["kind"] for day in calendar}
    best = current = count = 0
    previous: date | None = None
    for day in sorted(days):
        if previous is None or day != previous + timedelta(days=1):
            count = 0
        count += days[day] == "active"
        best = max(best, count)
        previous = day
    if previous is not None and previous >= today - timedelta(days=1):
        current = count
    return current, best


async def streak(
    client: httpx.AsyncClient, headers: dict[str, str], database: Database, user_id: str
) -> dict[str, Any]:
    """GET /me/streak, checked against the calendar it shows and the users row."""
    response = await client.get(f"{API}/me/streak", headers=headers, params={"days": 365})
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert (body["current"], body["longest"]) == runs(
        body["calendar"], date.fromisoformat(body["today"])
    )
    stored = await scalar(
        database,
        "SELECT current_streak || '/' || longest_streak FROM users WHERE id = :u",
        u=uuid.UUID(user_id),
    )
    assert stored == f"{body['current']}/{body['longest']}"
    return body


def calendar_of(body: dict[str, Any]) -> dict[str, str]:
    return {day["date"]: day["kind"] for day in body["calendar"]}


async def test_lesson_xp_gems_and_streak_are_awarded_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    database: Database,
    user_factory: UserFactory,
    clock: Clock,
) -> None:
    user, headers, _ = await user_factory()
    played = await play_first_demo_lesson(client, app, database, headers)
    lesson_id = played.lesson_id
    finish = played.finish_path
    result = (await client.post(finish, headers=headers)).json()
    assert result["passed"] is True and result["xp_earned"] == 15  # passed + perfect

    goals = (await client.get(f"{API}/me/goals", headers=headers)).json()
    assert goals == {
        "daily_xp": 20,
        "today_xp": 15,
        "met_today": False,
        "total_xp": 15,
        "level": 1,
        "level_xp": 0,
        "next_level_xp": 50,
    }
    wallet = (await client.get(f"{API}/me/wallet", headers=headers)).json()
    assert wallet == {"gems": 10, "total_earned": 10, "total_spent": 0}  # 5 pass + 5 perfect
    body = await streak(client, headers, database, user["id"])
    assert body["current"] == 1 and body["today_done"] is True
    assert body["calendar"] == [{"date": "2026-03-02", "kind": "active"}]

    # Finishing again, or the same event published again, awards nothing more.
    assert (await client.post(finish, headers=headers)).json() == result
    replay = LessonCompleted(
        user_id=uuid.UUID(user["id"]),
        lesson_id=uuid.UUID(lesson_id),
        course_id=played.course_id,
        attempt_id=uuid.UUID(played.attempt_id),
        score=1.0,
        passed=True,
        perfect=True,
        first_pass=True,
        xp_earned=15,
        time_spent_ms=1000,
        finished_at=clock.now,
    )
    await publish(database, replay)
    await publish(database, replay)
    assert (await client.get(f"{API}/me/goals", headers=headers)).json()["total_xp"] == 15
    assert (await client.get(f"{API}/me/wallet", headers=headers)).json()["gems"] == 10
    u = uuid.UUID(user["id"])
    assert await scalar(database, "SELECT count(*) FROM xp_ledger WHERE user_id = :u", u=u) == 1

    # A conversation turn reaches the daily goal: 10 gems, once per local day.
    await turn(database, user["id"], clock.now, xp=6)
    await turn(database, user["id"], clock.now, xp=6)
    goals = (await client.get(f"{API}/me/goals", headers=headers)).json()
    assert goals["today_xp"] == 27 and goals["met_today"] is True
    assert (await client.get(f"{API}/me/wallet", headers=headers)).json()["gems"] == 20
    history = (await client.get(f"{API}/me/xp/history", headers=headers)).json()
    assert history["total"] == 3
    assert [item["source"] for item in history["items"]] == [
        "conversation",
        "conversation",
        "lesson",
    ]
    transactions = (await client.get(f"{API}/me/wallet/transactions", headers=headers)).json()
    assert [(t["source"], t["amount"], t["balance_after"]) for t in transactions["items"]] == [
        ("daily_goal", 10, 20),
        ("lesson", 10, 10),
    ]
    await assert_ledgers_agree(database, user["id"])


async def test_five_queue_reviews_count_the_day(
    client: httpx.AsyncClient,
    database: Database,
    user_factory: UserFactory,
    demo_vocabulary: dict[tuple[str, str], int],
    clock: Clock,
) -> None:
    user, headers, _ = await user_factory()
    words = list(demo_vocabulary.values())[:5]
    for index, word_id in enumerate(words):
        reviewed = await client.post(
            f"{API}/progress/review", headers=headers, json={"word_id": word_id, "rating": 2}
        )
        assert reviewed.status_code == 200, reviewed.text
        body = await streak(client, headers, database, user["id"])
        assert body["today_done"] is (index == 4), index
    assert body["current"] == 1
    goals = (await client.get(f"{API}/me/goals", headers=headers)).json()
    assert goals["today_xp"] == 5 * service.XP_PER_REVIEW
    await assert_ledgers_agree(database, user["id"])


async def test_streaks_follow_local_days_across_dst(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory, clock: Clock
) -> None:
    # New York moves to daylight time on 2026-03-08 at 02:00 local.
    user, headers, _ = await user_factory(timezone="America/New_York")
    for moment in (
        "2026-03-07T20:00:00-05:00",  # 01:00 UTC on the 8th
        "2026-03-08T00:30:00-05:00",  # same local day as the next, different UTC days
        "2026-03-08T23:30:00-04:00",
        "2026-03-09T00:30:00-04:00",  # 04:30 UTC: with a fixed -05:00 this would be the 8th
    ):
        await turn(database, user["id"], datetime.fromisoformat(moment))
    clock.now = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    body = await streak(client, headers, database, user["id"])
    assert calendar_of(body) == {
        "2026-03-07": "active",
        "2026-03-08": "active",
        "2026-03-09": "active",
    }
    assert body["today"] == "2026-03-09" and body["today_done"] is True
    assert body["current"] == 3 and body["longest"] == 3

    # Paris moves to summer time on 2026-03-29; these three local days fall on two UTC days.
    paris, paris_headers, _ = await user_factory(timezone="Europe/Paris")
    for moment in (
        "2026-03-28T23:30:00+01:00",
        "2026-03-29T00:30:00+01:00",
        "2026-03-30T00:30:00+02:00",
    ):
        await turn(database, paris["id"], datetime.fromisoformat(moment))
    clock.now = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    body = await streak(client, paris_headers, database, paris["id"])
    assert list(calendar_of(body)) == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert body["current"] == 3

    # The learner flies to Los Angeles: days are now counted there.
    moved = await client.patch(
        f"{API}/users/me", headers=paris_headers, json={"timezone": "America/Los_Angeles"}
    )
    assert moved.status_code == 200, moved.text
    await turn(database, paris["id"], datetime(2026, 3, 31, 5, 0, tzinfo=UTC))  # 30th 22:00 PDT
    await turn(database, paris["id"], datetime(2026, 4, 1, 3, 0, tzinfo=UTC))  # 31st 20:00 PDT
    clock.now = datetime(2026, 4, 1, 3, 30, tzinfo=UTC)
    body = await streak(client, paris_headers, database, paris["id"])
    assert body["today"] == "2026-03-31" and body["today_done"] is True
    assert list(calendar_of(body)) == ["2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"]
    assert body["current"] == 4 and body["longest"] == 4
    # Two days later with nothing done, the streak is gone; the longest stays.
    clock.now = datetime(2026, 4, 3, 3, 30, tzinfo=UTC)
    body = await streak(client, paris_headers, database, paris["id"])
    assert body["current"] == 0 and body["longest"] == 4 and body["today_done"] is False


async def test_freezes_cover_missed_days_then_run_out(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory, clock: Clock
) -> None:
    async with database.session() as session:
        await seed_shop_items(session)
    user, headers, _ = await user_factory()
    async with database.session() as session:
        await service.grant_gems(session, uuid.UUID(user["id"]), 150, reference="t", at=clock.now)
    buy = f"{API}/shop/streak_freeze/purchase"
    for quantity in (1, 2):
        bought = await client.post(buy, headers=headers)
        assert bought.status_code == 201, bought.text
        assert bought.json()["quantity"] == quantity
    assert_error(await client.post(buy, headers=headers), 409, "item_limit_reached")
    assert (await client.get(f"{API}/me/wallet", headers=headers)).json()["gems"] == 50

    monday = clock.now  # 2026-03-02 12:00 UTC
    await turn(database, user["id"], monday)
    # Nothing on Tuesday and Wednesday; Thursday's activity spends both freezes.
    await turn(database, user["id"], monday + timedelta(days=3))
    clock.now = monday + timedelta(days=3, hours=1)
    body = await streak(client, headers, database, user["id"])
    assert calendar_of(body) == {
        "2026-03-02": "active",
        "2026-03-03": "frozen",
        "2026-03-04": "frozen",
        "2026-03-05": "active",
    }
    assert body["current"] == 2 and body["freezes_equipped"] == 0

    # Friday missed with no freeze left: read on Saturday, the streak is broken...
    clock.now = monday + timedelta(days=5)
    body = await streak(client, headers, database, user["id"])
    assert body["current"] == 0 and body["longest"] == 2
    # ...and a freeze bought now does not mend Friday after the fact.
    assert (await client.post(buy, headers=headers)).status_code == 201
    await turn(database, user["id"], clock.now)
    body = await streak(client, headers, database, user["id"])
    assert body["current"] == 1 and body["freezes_equipped"] == 1
    assert "2026-03-06" not in calendar_of(body)

    # Sunday missed; reading on Monday applies the freeze lazily, once.
    clock.now = monday + timedelta(days=7)
    first = await streak(client, headers, database, user["id"])
    again = await streak(client, headers, database, user["id"])
    assert first == again
    assert calendar_of(first)["2026-03-08"] == "frozen"
    assert first["current"] == 1 and first["freezes_equipped"] == 0 and not first["today_done"]
    await assert_ledgers_agree(database, user["id"])


async def test_bad_goal_and_streak_inputs_change_nothing(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    user, headers, _ = await user_factory()
    changed = await client.patch(f"{API}/me/goals", headers=headers, json={"daily_xp": 50})
    assert changed.status_code == 200 and changed.json()["daily_xp"] == 50
    for body in (
        {"daily_xp": 0},
        {"daily_xp": 501},
        {"daily_xp": "30"},
        {"daily_xp": 30.5},
        {"daily_xp": None},
        {"daily_xp": 30, "extra": 1},
        {},
    ):
        assert_error(
            await client.patch(f"{API}/me/goals", headers=headers, json=body),
            422,
            "validation_error",
        )
    assert (await client.get(f"{API}/me/goals", headers=headers)).json()["daily_xp"] == 50
    for days in ("6", "366", "x"):
        assert_error(
            await client.get(f"{API}/me/streak", headers=headers, params={"days": days}),
            422,
            "validation_error",
        )
    for page in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        assert_error(
            await client.get(f"{API}/me/wallet/transactions", headers=headers, params=page),
            422,
            "validation_error",
        )
    assert_error(await client.get(f"{API}/me/streak"), 401, "not_authenticated")
    assert (
        await scalar(
            database, "SELECT count(*) FROM streak_days WHERE user_id = :u", u=uuid.UUID(user["id"])
        )
        == 0
    )
