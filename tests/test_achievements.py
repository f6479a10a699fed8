"""Achievements: seeded definitions, progress from SQL aggregates, unlocking exactly once.

Lessons and conversations go through HTTP (their services publish the domain events the
achievement handlers listen to); XP and cards are arranged through the ledgers and tables.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from linguo.core.db import Database
from linguo.core.events import events
from linguo.gamification import service
from linguo.gamification.achievements import CATALOGUE, seed_achievements
from linguo.lessons.service import LessonCompleted
from linguo.models.gamification import XpSource
from tests.conftest import Clock, UserFactory, play_first_demo_lesson, scalar

API = "/api/v1"


async def seed(database: Database) -> None:
    async with database.session() as session:
        assert len(await seed_achievements(session)) == len(CATALOGUE)
    async with database.session() as session:
        assert await seed_achievements(session) == []  # idempotent


async def my(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await client.get(f"{API}/achievements/my", headers=headers)
    assert response.status_code == 200, response.text
    return {row["code"]: row for row in response.json()}


async def award(database: Database, user_id: str, amount: int, reference: str) -> None:
    async with database.session() as session:
        await service.award_xp(
            session,
            uuid.UUID(user_id),
            source=XpSource.BONUS,
            reference=reference,
            amount=amount,
            at=datetime.now(UTC),
        )


async def rewards(database: Database, user_id: str, code: str) -> tuple[int, int, int, int]:
    """(XP rows, XP amount, gem rows, gem amount) granted for an achievement."""
    u = uuid.UUID(user_id)
    xp = await database_row(
        database,
        "SELECT count(*), coalesce(sum(amount), 0) FROM xp_ledger "
        "WHERE user_id = :u AND source = 'achievement' AND reference = :c",
        u=u,
        c=code,
    )
    gems = await database_row(
        database,
        "SELECT count(*), coalesce(sum(amount), 0) FROM gem_transactions "
        "WHERE user_id = :u AND source = 'achievement' AND reference = :c",
        u=u,
        c=code,
    )
    return xp[0], xp[1], gems[0], gems[1]


async def database_row(database: Database, sql: str, **params: Any) -> tuple[Any, ...]:
    async with database.session() as session:
        return tuple((await session.execute(text(sql), params)).one())


async def test_definitions_and_anonymous_access(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed(database)
    for method, path in (("GET", ""), ("GET", "/my"), ("POST", "/check")):
        response = await client.request(method, f"{API}/achievements{path}")
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"]
    _, headers, _ = await user_factory()
    listed = (await client.get(f"{API}/achievements", headers=headers)).json()
    assert [row["code"] for row in listed] == [row["code"] for row in CATALOGUE]
    by_code = {row["code"]: row for row in listed}
    assert {row["category"] for row in listed} == {
        "session",
        "streak",
        "vocabulary",
        "xp",
        "accuracy",
        "reviews",
    }
    assert by_code["streak_7"]["target"] == 7 and by_code["words_200"]["target"] == 200
    assert by_code["xp_5000"]["target"] == 5000 and by_code["reviews_1000"]["target"] == 1000
    assert set(by_code["first_lesson"]) == {
        "code",
        "category",
        "title",
        "description",
        "target",
        "xp_reward",
        "gems_reward",
        "icon",
    }
    mine = await my(client, headers)
    assert all(row["progress"] == 0 and row["unlocked_at"] is None for row in mine.values())


async def test_first_lesson_unlocks_once_with_its_rewards(
    client: httpx.AsyncClient,
    app: FastAPI,
    database: Database,
    user_factory: UserFactory,
    clock: Clock,
) -> None:
    await seed(database)
    user, headers, _ = await user_factory()
    played = await play_first_demo_lesson(client, app, database, headers)
    lesson_id = played.lesson_id
    finish = played.finish_path
    result = (await client.post(finish, headers=headers)).json()
    assert result["passed"] is True and result["new_achievements"] == ["first_lesson"]
    assert await rewards(database, user["id"], "first_lesson") == (1, 10, 1, 5)
    goals = (await client.get(f"{API}/me/goals", headers=headers)).json()
    assert goals["total_xp"] == 15 + 10  # the lesson (passed + perfect) and the achievement
    wallet = (await client.get(f"{API}/me/wallet", headers=headers)).json()
    assert wallet["gems"] == 10 + 5 + service.GEMS_DAILY_GOAL  # 25 XP reached the goal

    mine = await my(client, headers)
    assert mine["first_lesson"]["unlocked"] is True
    assert mine["first_lesson"]["unlocked_at"] == "2026-03-02T12:00:00Z"
    assert mine["first_lesson"]["progress"] == 1
    assert (mine["lessons_10"]["progress"], mine["lessons_10"]["target"]) == (1, 10)
    assert mine["lessons_10"]["unlocked"] is False and mine["lessons_10"]["unlocked_at"] is None
    assert mine["sharpshooter"]["progress"] == 1  # the latest attempt averages 100%
    assert mine["streak_3"]["progress"] == 1
    assert mine["xp_500"]["progress"] == 25

    # Finishing again, the event replayed, or a check: nothing more unlocks or is granted.
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
    for _ in range(2):
        async with database.session() as session:
            await events.publish(session, replay)
    checked = await client.post(f"{API}/achievements/check", headers=headers)
    assert checked.status_code == 200, checked.text
    assert checked.json() == {"newly_unlocked": [], "total_unlocked": 1}
    assert await rewards(database, user["id"], "first_lesson") == (1, 10, 1, 5)
    assert (await client.get(f"{API}/me/goals", headers=headers)).json()["total_xp"] == 25
    assert (await client.get(f"{API}/me/wallet", headers=headers)).json()["gems"] == 25
    # Followers' feeds learn of the unlock once, however often it was checked.
    activities = await scalar(
        database,
        "SELECT string_agg(data->>'code', ',') FROM activities "
        "WHERE user_id = :u AND kind = 'achievement_unlocked'",
        u=uuid.UUID(user["id"]),
    )
    assert activities == "first_lesson"


async def test_xp_progress_and_check(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed(database)
    user, headers, _ = await user_factory()
    await award(database, user["id"], 300, "a")
    mine = await my(client, headers)
    assert [mine[code]["progress"] for code in ("xp_500", "xp_2000", "xp_5000")] == [300] * 3
    assert (await client.post(f"{API}/achievements/check", headers=headers)).json() == {
        "newly_unlocked": [],
        "total_unlocked": 0,
    }
    summary = f"{API}/analytics/summary"
    assert (await client.get(summary, headers=headers)).json()["xp"] == 300  # now cached
    await award(database, user["id"], 250, "b")
    checked = (await client.post(f"{API}/achievements/check", headers=headers)).json()
    assert [row["code"] for row in checked["newly_unlocked"]] == ["xp_500"]
    # An unlock invalidates the learner's cached analytics.
    assert (await client.get(summary, headers=headers)).json()["xp"] == 550
    assert checked["total_unlocked"] == 1
    assert await rewards(database, user["id"], "xp_500") == (0, 0, 1, 10)
    mine = await my(client, headers)
    assert mine["xp_500"]["progress"] == 500 and mine["xp_500"]["unlocked"] is True
    assert mine["xp_2000"]["progress"] == 550


async def test_concurrent_checks_grant_once(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed(database)
    user, headers, _ = await user_factory()
    await award(database, user["id"], 2100, "a")
    responses = await asyncio.gather(
        *(client.post(f"{API}/achievements/check", headers=headers) for _ in range(2))
    )
    assert all(response.status_code == 200 for response in responses)
    unlocked = sorted(
        row["code"] for response in responses for row in response.json()["newly_unlocked"]
    )
    assert unlocked == ["xp_2000", "xp_500"]  # each once, across both requests
    assert {response.json()["total_unlocked"] for response in responses} <= {0, 2}
    for code, gems in (("xp_500", 10), ("xp_2000", 25)):
        assert await rewards(database, user["id"], code) == (0, 0, 1, gems)
    u = uuid.UUID(user["id"])
    assert (
        await scalar(database, "SELECT count(*) FROM user_achievements WHERE user_id = :u", u=u)
        == 2
    )
    wallet = (await client.get(f"{API}/me/wallet", headers=headers)).json()
    assert wallet["gems"] == 10 + 25 + service.GEMS_DAILY_GOAL


async def test_vocabulary_mastery_is_counted_from_fsrs_state(
    client: httpx.AsyncClient,
    database: Database,
    user_factory: UserFactory,
    demo_vocabulary: dict[tuple[str, str], int],
) -> None:
    await seed(database)
    user, headers, _ = await user_factory()
    states = [
        ("review", 30.0),  # mastered
        ("review", 21.0),  # mastered (exactly the threshold)
        ("review", 20.9),
        ("relearning", 40.0),
        ("learning", 25.0),
        ("new", None),
    ]
    async with database.session() as session:
        for word_id, (state, stability) in zip(
            sorted(demo_vocabulary.values()), states, strict=False
        ):
            await session.execute(
                text(
                    "INSERT INTO srs_cards (id, user_id, word_id, state, stability, due, origin) "
                    "VALUES (gen_random_uuid(), :u, :w, CAST(:s AS card_state), :st, now(), "
                    "'review')"
                ),
                {"u": uuid.UUID(user["id"]), "w": word_id, "s": state, "st": stability},
            )
    mine = await my(client, headers)
    assert [mine[code]["progress"] for code in ("words_50", "words_200", "words_500")] == [2] * 3
    assert mine["words_50"]["target"] == 50 and mine["words_50"]["unlocked"] is False


async def test_first_conversation_turn_unlocks_ice_breaker(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed(database)
    user, headers, _ = await user_factory()
    conversation = await client.post(
        f"{API}/sessions", headers=headers, json={"planned_duration_minutes": 10}
    )
    assert conversation.status_code == 201, conversation.text
    said = await client.post(
        f"{API}/sessions/{conversation.json()['session']['id']}/messages",
        headers=headers,
        json={"content": "Je mange une pomme."},
    )
    assert said.status_code == 200, said.text
    mine = await my(client, headers)
    assert mine["first_conversation"]["unlocked"] is True
    assert mine["conversations_10"]["progress"] == 1
    assert await rewards(database, user["id"], "first_conversation") == (1, 10, 1, 5)
