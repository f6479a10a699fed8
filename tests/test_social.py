"""Follows, followers/following lists and the activity feed, through HTTP on real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from linguo.core.db import Database
from linguo.core.events import events
from linguo.gamification import repository as gamification_repository
from linguo.gamification import service as gamification_service
from linguo.lessons.service import LessonCompleted
from linguo.models.gamification import StreakDayKind
from tests.conftest import Clock, UserFactory, execute, scalar
from tests.test_lessons import (
    answer,
    assert_error,
    exercise_answers,
    import_spanish,
    lessons_of,
    outline,
)

API = "/api/v1"


@pytest.fixture
def completed_events() -> Iterator[list[LessonCompleted]]:
    seen: list[LessonCompleted] = []

    async def remember(_session: Any, event: LessonCompleted) -> None:
        seen.append(event)

    events.subscribe(LessonCompleted)(remember)
    yield seen
    events._handlers[LessonCompleted].remove(remember)


async def pass_lesson(
    client: httpx.AsyncClient, database: Database, lesson_id: str, headers: dict[str, str]
) -> None:
    attempt = (await client.post(f"{API}/lessons/{lesson_id}/start", headers=headers)).json()
    answers = await exercise_answers(database, [e["id"] for e in attempt["exercises"]])
    for exercise in attempt["exercises"]:
        right = answers[exercise["id"]][-1]
        await answer(client, attempt["attempt_id"], exercise["id"], right, headers)
    result = await client.post(f"{API}/attempts/{attempt['attempt_id']}/finish", headers=headers)
    assert result.json()["passed"] is True, result.text


async def follow(client: httpx.AsyncClient, user_id: str, headers: dict[str, str]) -> None:
    response = await client.post(f"{API}/users/{user_id}/follow", headers=headers)
    assert response.status_code == 204, response.text


async def test_follow_and_unfollow_are_idempotent_and_listed(
    client: httpx.AsyncClient, user_factory: UserFactory, database: Database, clock: Clock
) -> None:
    star, star_headers, _ = await user_factory(full_name="Ada Lovelace")
    fans = [await user_factory() for _ in range(3)]
    for index, (_fan, headers, _) in enumerate(fans):
        clock.advance(minutes=1)
        await follow(client, star["id"], headers)
        if index == 0:
            clock.advance(minutes=1)
            await follow(client, star["id"], headers)  # again: nothing changes
    assert await scalar(database, "SELECT count(*) FROM follows") == 3

    first = await client.get(
        f"{API}/users/{star['id']}/followers", params={"limit": 2}, headers=star_headers
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["total"] == 3 and body["limit"] == 2
    assert [item["user_id"] for item in body["items"]] == [fans[2][0]["id"], fans[1][0]["id"]]
    rest = await client.get(
        f"{API}/users/{star['id']}/followers",
        params={"limit": 2, "offset": 2},
        headers=star_headers,
    )
    (oldest,) = rest.json()["items"]
    assert oldest["user_id"] == fans[0][0]["id"]
    assert oldest["followed_at"].startswith("2026-03-02T12:01")  # the first follow's date
    # The email's local part stands in for a missing name; the email itself never shows.
    assert oldest["display_name"] == fans[0][0]["email"].split("@")[0]
    assert "@" not in str(body)

    following = await client.get(f"{API}/users/{fans[0][0]['id']}/following", headers=star_headers)
    assert following.json()["total"] == 1
    assert following.json()["items"][0] == {
        "user_id": star["id"],
        "display_name": "Ada Lovelace",
        "followed_at": oldest["followed_at"],
    }

    for _ in range(2):
        gone = await client.delete(f"{API}/users/{star['id']}/follow", headers=fans[0][1])
        assert gone.status_code == 204
    after = await client.get(f"{API}/users/{star['id']}/followers", headers=star_headers)
    assert after.json()["total"] == 2
    assert fans[0][0]["id"] not in {item["user_id"] for item in after.json()["items"]}


async def test_bad_follows_are_refused_and_change_nothing(
    client: httpx.AsyncClient, user_factory: UserFactory, database: Database
) -> None:
    me, headers, _ = await user_factory()
    other, _, _ = await user_factory()
    assert_error(
        await client.post(f"{API}/users/{me['id']}/follow", headers=headers),
        400,
        "cannot_follow_self",
    )
    unknown = uuid.uuid4()
    assert_error(
        await client.post(f"{API}/users/{unknown}/follow", headers=headers), 404, "not_found"
    )
    await execute(
        database, "UPDATE users SET is_active = false WHERE id = :u", u=uuid.UUID(other["id"])
    )
    assert_error(
        await client.post(f"{API}/users/{other['id']}/follow", headers=headers), 404, "not_found"
    )
    for path in ("followers", "following"):
        assert_error(
            await client.get(f"{API}/users/{unknown}/{path}", headers=headers), 404, "not_found"
        )
    assert await scalar(database, "SELECT count(*) FROM follows") == 0

    for method, url in (
        ("POST", f"/users/{other['id']}/follow"),
        ("DELETE", f"/users/{other['id']}/follow"),
        ("GET", f"/users/{other['id']}/followers"),
        ("GET", f"/users/{other['id']}/following"),
        ("GET", "/feed"),
        ("PATCH", "/me/social"),
    ):
        assert_error(await client.request(method, f"{API}{url}"), 401, "not_authenticated")
    assert_error(
        await client.patch(f"{API}/me/social", headers=headers, json={"share_activity": None}),
        422,
        "validation_error",
    )


async def test_feed_shows_followed_learners_public_lesson_passes_newest_first(
    client: httpx.AsyncClient,
    app: FastAPI,
    database: Database,
    user_factory: UserFactory,
    clock: Clock,
    completed_events: list[LessonCompleted],
) -> None:
    course_id = await import_spanish(app, database)
    _me, headers, _ = await user_factory()
    friend, friend_headers, _ = await user_factory(full_name="Grace Hopper")
    shy, shy_headers, _ = await user_factory()
    _stranger, stranger_headers, _ = await user_factory()
    await follow(client, friend["id"], headers)
    await follow(client, shy["id"], headers)
    lessons = lessons_of(await outline(client, course_id, headers))

    await pass_lesson(client, database, lessons[0]["id"], shy_headers)  # shared, then hidden
    clock.advance(minutes=5)
    await pass_lesson(client, database, lessons[0]["id"], friend_headers)
    clock.advance(minutes=5)
    await pass_lesson(client, database, lessons[0]["id"], stranger_headers)
    await pass_lesson(client, database, lessons[0]["id"], friend_headers)  # not a first pass
    clock.advance(minutes=5)
    await pass_lesson(client, database, lessons[1]["id"], friend_headers)
    private = await client.patch(
        f"{API}/me/social", headers=shy_headers, json={"share_activity": False}
    )
    assert private.json() == {"share_activity": False}
    assert (await client.get(f"{API}/me/social", headers=shy_headers)).json() == private.json()
    clock.advance(minutes=5)
    await pass_lesson(client, database, lessons[1]["id"], shy_headers)

    feed = await client.get(f"{API}/feed", headers=headers)
    assert feed.status_code == 200, feed.text
    body = feed.json()
    assert body["total"] == 2
    assert [(item["user_id"], item["data"]["lesson_title"]) for item in body["items"]] == [
        (friend["id"], lessons[1]["title"]),
        (friend["id"], lessons[0]["title"]),
    ]
    newest = body["items"][0]
    assert newest["kind"] == "lesson_passed" and newest["display_name"] == "Grace Hopper"
    assert newest["data"]["course_id"] == course_id and newest["data"]["course_title"]
    assert newest["created_at"].startswith("2026-03-02T12:15")
    page = await client.get(f"{API}/feed", params={"limit": 1, "offset": 1}, headers=headers)
    assert page.json()["items"] == body["items"][1:]
    assert (await client.get(f"{API}/feed", headers=stranger_headers)).json()["total"] == 0

    # A replayed event adds nothing.
    replayed = completed_events[-2]
    assert replayed.user_id == uuid.UUID(friend["id"]) and replayed.first_pass
    async with database.session() as session:
        await events.publish(session, replayed)
    assert (await client.get(f"{API}/feed", headers=headers)).json() == body
    assert await scalar(database, "SELECT count(*) FROM activities") == 5


async def test_a_streak_milestone_reaches_the_feed_once(
    client: httpx.AsyncClient, user_factory: UserFactory, database: Database, clock: Clock
) -> None:
    _me, headers, _ = await user_factory()
    runner, _, _ = await user_factory()
    await follow(client, runner["id"], headers)
    runner_id = uuid.UUID(runner["id"])
    today = date(2026, 3, 2)
    async with database.session() as session:
        for back in range(6, 0, -1):
            await gamification_repository.add_day(
                session,
                user_id=runner_id,
                day=today - timedelta(days=back),
                kind=StreakDayKind.ACTIVE,
                timezone="UTC",
                at=clock.now - timedelta(days=back),
            )
    for _ in range(2):
        async with database.session() as session:
            await gamification_service.record_activity(session, runner_id, clock.now)
    items = (await client.get(f"{API}/feed", headers=headers)).json()["items"]
    assert [(item["kind"], item["data"]) for item in items] == [("streak_milestone", {"days": 7})]
