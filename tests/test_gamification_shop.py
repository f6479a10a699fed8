"""Gamification: gem wallet, shop purchases (idempotent, concurrent), inventory and activation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from linguo.core.db import Database
from linguo.gamification import service
from linguo.gamification.shop import seed_shop_items
from tests.conftest import Clock, UserFactory, import_demo_course, scalar
from tests.test_gamification_xp_streaks import assert_error, assert_ledgers_agree

API = "/api/v1"


@pytest.fixture
async def shop(database: Database) -> None:
    async with database.session() as session:
        await seed_shop_items(session)
        await seed_shop_items(session)  # idempotent


async def learner_with_gems(
    user_factory: UserFactory, database: Database, gems: int
) -> tuple[str, dict[str, str]]:
    user, headers, _ = await user_factory()
    if gems:
        async with database.session() as session:
            await service.grant_gems(
                session, uuid.UUID(user["id"]), gems, reference="start", at=datetime.now(UTC)
            )
    return user["id"], headers


async def counts(database: Database, user_id: str) -> tuple[int, int, int, int]:
    """(gems, gem transactions, purchases, items held) of a learner."""
    u = uuid.UUID(user_id)
    return (
        await scalar(database, "SELECT gems FROM gamification_profiles WHERE user_id = :u", u=u),
        await scalar(database, "SELECT count(*) FROM gem_transactions WHERE user_id = :u", u=u),
        await scalar(database, "SELECT count(*) FROM purchases WHERE user_id = :u", u=u),
        await scalar(
            database,
            "SELECT coalesce(sum(quantity), 0) FROM inventory_items WHERE user_id = :u",
            u=u,
        ),
    )


async def test_shop_lists_seeded_items(
    client: httpx.AsyncClient, shop: None, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory()
    items = (await client.get(f"{API}/shop", headers=headers)).json()
    assert [(item["id"], item["price_gems"]) for item in items] == [
        ("streak_freeze", 50),
        ("heart_refill", 30),
        ("xp_boost", 40),
    ]
    assert items[0]["max_owned"] == 2 and items[2]["duration_minutes"] == 15
    assert_error(await client.get(f"{API}/shop"), 401, "not_authenticated")


async def test_purchases_are_idempotent_and_refusals_change_nothing(
    client: httpx.AsyncClient, shop: None, database: Database, user_factory: UserFactory
) -> None:
    user_id, headers = await learner_with_gems(user_factory, database, 100)
    url = f"{API}/shop/xp_boost/purchase"
    keyed = {**headers, "Idempotency-Key": "order-1"}
    first = await client.post(url, headers=keyed)
    assert first.status_code == 201, first.text
    assert first.json()["quantity"] == 1 and first.json()["gems_left"] == 60
    assert first.json()["item"]["id"] == "xp_boost"
    again = await client.post(url, headers=keyed)
    assert again.status_code == 201 and again.json() == first.json()
    assert await counts(database, user_id) == (60, 2, 1, 1)
    assert_error(
        await client.post(f"{API}/shop/heart_refill/purchase", headers=keyed),
        409,
        "idempotency_key_reused",
    )

    # Without a key every request is a new purchase.
    second = await client.post(url, headers=headers)
    assert second.status_code == 201 and second.json()["gems_left"] == 20
    assert second.json()["quantity"] == 2
    before = await counts(database, user_id)
    short = await client.post(url, headers={**headers, "Idempotency-Key": "order-2"})
    assert_error(short, 409, "insufficient_gems")
    assert short.json()["error"]["details"] == {"price": 40, "gems": 20}
    for response in (
        await client.post(f"{API}/shop/no_such_item/purchase", headers=headers),
        await client.post(f"{API}/shop/Bad-Item!/purchase", headers=headers),
        await client.post(url, headers={**headers, "Idempotency-Key": "k" * 201}),
        await client.post(url, headers={**headers, "Idempotency-Key": ""}),
    ):
        assert response.status_code in (404, 422), response.text
        assert response.json()["error"]["code"] in ("not_found", "validation_error")
    assert await counts(database, user_id) == before
    # The refused key was not remembered: with gems, the same key now buys.
    async with database.session() as session:
        await service.grant_gems(
            session, uuid.UUID(user_id), 20, reference="more", at=datetime.now(UTC)
        )
    retried = await client.post(url, headers={**headers, "Idempotency-Key": "order-2"})
    assert retried.status_code == 201 and retried.json()["gems_left"] == 0

    wallet = (await client.get(f"{API}/me/wallet", headers=headers)).json()
    assert wallet == {"gems": 0, "total_earned": 120, "total_spent": 120}
    page = (
        await client.get(f"{API}/me/wallet/transactions", headers=headers, params={"limit": 2})
    ).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert [item["type"] for item in page["items"]] == ["spend", "earn"]
    await assert_ledgers_agree(database, user_id)


async def test_concurrent_purchases_charge_exactly_once(
    client: httpx.AsyncClient, shop: None, database: Database, user_factory: UserFactory
) -> None:
    user_id, headers = await learner_with_gems(user_factory, database, 40)
    url = f"{API}/shop/xp_boost/purchase"
    responses = await asyncio.gather(*(client.post(url, headers=headers) for _ in range(20)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "insufficient_gems"
    }
    assert await counts(database, user_id) == (0, 2, 1, 1)

    # The same key sent 20 times at once: one purchase, 20 identical answers.
    other_id, other_headers = await learner_with_gems(user_factory, database, 200)
    keyed = {**other_headers, "Idempotency-Key": "tap-tap-tap"}
    responses = await asyncio.gather(*(client.post(url, headers=keyed) for _ in range(20)))
    assert {response.status_code for response in responses} == {201}
    assert len({response.text for response in responses}) == 1
    assert await counts(database, other_id) == (160, 2, 1, 1)
    await assert_ledgers_agree(database, user_id)
    await assert_ledgers_agree(database, other_id)


async def test_boost_doubles_xp_while_active(
    client: httpx.AsyncClient,
    shop: None,
    database: Database,
    user_factory: UserFactory,
    clock: Clock,
) -> None:
    user_id, headers = await learner_with_gems(user_factory, database, 80)
    for _ in range(2):
        assert (
            await client.post(f"{API}/shop/xp_boost/purchase", headers=headers)
        ).status_code == 201
    activate = f"{API}/me/inventory/xp_boost/activate"
    started = await client.post(activate, headers=headers)
    assert started.status_code == 200, started.text
    entry = started.json()["item"]
    assert entry["active"] is True and entry["quantity"] == 1
    assert datetime.fromisoformat(entry["expires_at"]) == clock.now + timedelta(minutes=15)
    assert_error(await client.post(activate, headers=headers), 409, "boost_active")

    conversation = await client.post(
        f"{API}/sessions", headers=headers, json={"planned_duration_minutes": 30}
    )
    session_id = conversation.json()["session"]["id"]
    messages = f"{API}/sessions/{session_id}/messages"
    said = await client.post(messages, headers=headers, json={"content": "Je mange une pomme."})
    assert said.status_code == 200, said.text
    boosted_turn_xp = said.json()["xp_awarded"]
    clock.advance(minutes=16)
    said = await client.post(
        messages, headers=headers, json={"content": "Nous regardons le film ce soir."}
    )
    assert said.status_code == 200, said.text

    u = uuid.UUID(user_id)
    rows = await scalar(
        database,
        "SELECT string_agg(base_amount || 'x' || multiplier || '=' || amount, ',' ORDER BY id) "
        "FROM xp_ledger WHERE user_id = :u",
        u=u,
    )
    boosted, plain = rows.split(",")
    base, rest = boosted.split("x")
    assert int(base) > 0 and rest == f"2={2 * int(base)}"
    assert boosted_turn_xp == 2 * int(base)  # the learner is told what they really got
    summary = (await client.get(f"{API}/sessions/{session_id}/summary", headers=headers)).json()
    assert summary["xp"] == 2 * int(base) + int(plain.split("x")[0])
    assert plain.split("x")[1].startswith("1=")
    inventory = (await client.get(f"{API}/me/inventory", headers=headers)).json()
    assert [(i["item_id"], i["quantity"], i["active"]) for i in inventory] == [
        ("xp_boost", 1, False)
    ]
    await assert_ledgers_agree(database, user_id)


async def test_heart_refill_restores_an_attempt(
    client: httpx.AsyncClient,
    app: FastAPI,
    shop: None,
    database: Database,
    user_factory: UserFactory,
) -> None:
    user_id, headers = await learner_with_gems(user_factory, database, 100)
    course_id = await import_demo_course(app, database)
    course = (await client.get(f"{API}/courses/{course_id}", headers=headers)).json()
    lesson_id = course["units"][0]["lessons"][0]["id"]
    attempt = (await client.post(f"{API}/lessons/{lesson_id}/start", headers=headers)).json()
    attempt_id = attempt["attempt_id"]
    for exercise in attempt["exercises"][:2]:
        wrong = await client.post(
            f"{API}/attempts/{attempt_id}/answers",
            headers=headers,
            json={"exercise_id": exercise["id"], "answer": "zzz qqq"},
        )
        assert wrong.json()["correct"] is False
    assert wrong.json()["hearts_left"] == 3

    activate = f"{API}/me/inventory/heart_refill/activate"
    assert_error(
        await client.post(activate, headers=headers, json={"attempt_id": attempt_id}),
        409,
        "item_not_owned",
    )
    assert (
        await client.post(f"{API}/shop/heart_refill/purchase", headers=headers)
    ).status_code == 201
    before = await counts(database, user_id)
    for response, status, code in (
        (await client.post(activate, headers=headers), 400, "bad_request"),
        (
            await client.post(activate, headers=headers, json={"attempt_id": "x"}),
            422,
            "validation_error",
        ),
        (
            await client.post(activate, headers=headers, json={"attempt_id": str(uuid.uuid4())}),
            404,
            "not_found",
        ),
        (
            await client.post(f"{API}/me/inventory/streak_freeze/activate", headers=headers),
            409,
            "item_not_activatable",
        ),
        (
            await client.post(f"{API}/me/inventory/nothing/activate", headers=headers),
            404,
            "not_found",
        ),
    ):
        assert_error(response, status, code)
    assert await counts(database, user_id) == before

    refilled = await client.post(activate, headers=headers, json={"attempt_id": attempt_id})
    assert refilled.status_code == 200, refilled.text
    assert refilled.json()["hearts_left"] == 5 and refilled.json()["item"]["quantity"] == 0
    hearts = await scalar(
        database, "SELECT hearts_left FROM lesson_attempts WHERE id = :a", a=uuid.UUID(attempt_id)
    )
    assert hearts == 5

    assert (
        await client.post(f"{API}/shop/heart_refill/purchase", headers=headers)
    ).status_code == 201
    full = await client.post(activate, headers=headers, json={"attempt_id": attempt_id})
    assert_error(full, 409, "hearts_full")
    await client.post(f"{API}/attempts/{attempt_id}/finish", headers=headers)
    finished = await client.post(activate, headers=headers, json={"attempt_id": attempt_id})
    assert_error(finished, 409, "attempt_finished")
    inventory = (await client.get(f"{API}/me/inventory", headers=headers)).json()
    assert [(i["item_id"], i["quantity"]) for i in inventory] == [("heart_refill", 1)]
    await assert_ledgers_agree(database, user_id)
