"""Spaced repetition through HTTP and the service: py-fsrs scheduling, queue, caps, fits."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from itertools import pairwise
from typing import Any

import fsrs
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from linguo.config import Settings
from linguo.core import jobs
from linguo.core.cache import MemoryCache
from linguo.core.db import Database, utcnow
from linguo.core.jobs import JobContext, run_job
from linguo.core.security import create_access_token
from linguo.models.identity import User
from linguo.models.srs import CardOrigin, CardState, ReviewLog, ReviewSource, SrsCard
from linguo.srs import service
from linguo.srs.service import PracticeOutcome
from tests.conftest import (
    TEST_SECRET,
    Clock,
    TestServers,
    client_for,
    make_settings,
    running_app,
    scalar,
)

API = "/api/v1"
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, 07:00 in New York
DEFAULTS = list(fsrs.Scheduler().parameters)
RATING_NAMES = {0: fsrs.Rating.Again, 1: fsrs.Rating.Hard, 2: fsrs.Rating.Good, 3: fsrs.Rating.Easy}
PACKS: list[dict[str, Any]] = json.loads(
    (resources.files("linguo.vocabulary") / "data" / "demo_packs.json").read_text("utf-8")
)
Vocabulary = dict[tuple[str, str], int]


def pack_words(vocabulary: Vocabulary, title: str) -> list[int]:
    """Word ids of a demo pack, in the pack's order."""
    (pack,) = [pack for pack in PACKS if pack["title"] == title]
    return [vocabulary[(word["lemma"], word["part_of_speech"])] for word in pack["words"]]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    return dict(error)


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def state_name(card: fsrs.Card) -> str:
    return card.state.name.lower()


def fsrs_card(card: SrsCard) -> fsrs.Card:
    """A stored reviewed card as py-fsrs sees it."""
    return fsrs.Card(
        card_id=1,
        state=fsrs.State[card.state.value.capitalize()],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )


# --- an app that schedules without fuzzing, with its own clock -------------------------


@dataclass
class Exact:
    """A client of the app built with `srs_fuzzing=False`, and that app's clock."""

    client: httpx.AsyncClient
    clock: Clock
    settings: Settings
    database: Database


@pytest.fixture(scope="module")
def exact_settings(servers: TestServers) -> Settings:
    return make_settings(
        servers, srs_fuzzing=False, srs_optimizer_min_reviews=50, srs_optimizer_refit_reviews=5
    )


@pytest.fixture(scope="module")
async def exact_app(app: FastAPI, exact_settings: Settings) -> AsyncIterator[FastAPI]:
    # Depends on the shared app so that it starts first and gets its job backend back last.
    async with running_app(exact_settings) as application:
        yield application


@pytest.fixture
async def exact(
    exact_app: FastAPI, exact_settings: Settings, database: Database
) -> AsyncIterator[Exact]:
    clock = Clock(START)
    exact_app.state.clock = clock
    async with client_for(exact_app) as http:
        yield Exact(http, clock, exact_settings, database)
    exact_app.state.clock = utcnow
    await exact_app.state.rate_limiter.reset()


async def learner(exact: Exact, *, timezone: str = "UTC") -> tuple[uuid.UUID, dict[str, str]]:
    """A learner and their auth headers.

    Stored directly with a dummy password hash and given a minted token: hashing a
    password costs half a second, and these tests never log in.
    """
    async with exact.database.session() as session:
        user = User(
            email=f"learner-{uuid.uuid4().hex[:10]}@example.com",
            password_hash="not-a-hash",
            timezone=timezone,
        )
        session.add(user)
        await session.flush()
        user_id = user.id
    token, _ = create_access_token(
        user_id=user_id, role="student", key=TEST_SECRET, issuer="linguo", minutes=60
    )
    return user_id, {"Authorization": f"Bearer {token}"}


async def review(
    http: httpx.AsyncClient, headers: dict[str, str], word_id: int, rating: int, **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        f"{API}/progress/review",
        headers=headers,
        json={"word_id": word_id, "rating": rating, **extra},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def get_json(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await http.get(f"{API}{url}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def patch_settings(http: httpx.AsyncClient, headers: dict[str, str], **changes: Any) -> None:
    response = await http.patch(f"{API}/progress/settings", headers=headers, json=changes)
    assert response.status_code == 200, response.text


async def review_logs(database: Database, user_id: uuid.UUID) -> list[ReviewLog]:
    async with database.session() as session:
        stmt = select(ReviewLog).where(ReviewLog.user_id == user_id).order_by(ReviewLog.id)
        return list(await session.scalars(stmt))


async def stored_card(database: Database, user_id: uuid.UUID, word_id: int) -> SrsCard:
    async with database.session() as session:
        stmt = select(SrsCard).where(SrsCard.user_id == user_id, SrsCard.word_id == word_id)
        return (await session.execute(stmt)).scalar_one()


async def add_review_card(
    database: Database,
    user_id: uuid.UUID,
    word_id: int,
    *,
    stability: float,
    last_review: datetime,
    due: datetime,
    difficulty: float = 5.0,
) -> None:
    """Store a card in the review state, as if reviewed before."""
    async with database.session() as session:
        session.add(
            SrsCard(
                user_id=user_id,
                word_id=word_id,
                state=CardState.REVIEW,
                stability=stability,
                difficulty=difficulty,
                last_review=last_review,
                due=due,
                reps=3,
                correct_count=3,
                origin=CardOrigin.REVIEW,
            )
        )


def retrievability(stability: float, last_review: datetime, now: datetime) -> float:
    card = fsrs.Card(
        card_id=1,
        state=fsrs.State.Review,
        step=None,
        stability=stability,
        difficulty=5.0,
        due=now,
        last_review=last_review,
    )
    return float(fsrs.Scheduler().get_card_retrievability(card, now))


# --- 1. scheduling is py-fsrs's -------------------------------------------------------


async def test_reviews_schedule_exactly_as_py_fsrs_and_are_logged(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database
) -> None:
    http, clock = exact.client, exact.clock
    user_id, headers = await learner(exact)
    word = demo_vocabulary[("pain", "noun")]
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=1, due=START)
    steps = [(2, 1200), (2, 800), (3, None), (0, 4000), (1, 1500)]
    expected_logs: list[dict[str, Any]] = []
    previous_state = "new"
    for rating, duration in steps:
        clock.now = max(clock.now, card.due)
        before = card
        card, _ = scheduler.review_card(card, RATING_NAMES[rating], review_datetime=clock.now)
        extra = {} if duration is None else {"response_time_ms": duration}
        result = await review(http, headers, word, rating, **extra)
        assert result["word_id"] == word
        assert result["state"] == state_name(card)
        assert result["stability"] == card.stability
        assert result["difficulty"] == card.difficulty
        assert at(result["next_review"]) == card.due
        assert result["scheduled_days"] == (card.due - clock.now).days
        expected_logs.append(
            {
                "rating": rating,
                "source": "queue",
                "reviewed_at": clock.now,
                "duration_ms": duration,
                "state_before": previous_state,
                "state_after": state_name(card),
                "stability_before": before.stability,
                "stability_after": card.stability,
                "difficulty_before": before.difficulty,
                "difficulty_after": card.difficulty,
            }
        )
        previous_state = state_name(card)
    # The sequence went learning -> review -> review -> relearning (a lapse) -> relearning.
    assert [log["state_after"] for log in expected_logs] == [
        "learning",
        "review",
        "review",
        "relearning",
        "relearning",
    ]

    progress = await get_json(http, f"/progress/{word}", headers)
    assert progress["state"] == "relearning"
    assert (progress["reps"], progress["lapses"]) == (5, 1)
    assert (progress["correct_count"], progress["incorrect_count"]) == (4, 1)
    assert at(progress["last_review"]) == clock.now
    assert at(progress["next_review"]) == card.due
    assert progress["stability"] == card.stability
    assert progress["difficulty"] == card.difficulty
    assert progress["retrievability"] == pytest.approx(
        scheduler.get_card_retrievability(card, clock.now)
    )

    history = await get_json(http, f"/progress/{word}/reviews", headers)
    assert history["total"] == 5
    newest_first = list(reversed(expected_logs))
    for item, expected in zip(history["items"], newest_first, strict=True):
        for key, value in expected.items():
            got = at(item[key]) if key == "reviewed_at" else item[key]
            assert got == value, (key, item)
    logs = await review_logs(database, user_id)
    assert len(logs) == 5
    assert logs[-1].due_after == card.due
    assert all(log.source is ReviewSource.QUEUE for log in logs)


async def test_review_intervals_grow_after_success(
    exact: Exact, demo_vocabulary: Vocabulary
) -> None:
    http, clock = exact.client, exact.clock
    _, headers = await learner(exact)
    word = demo_vocabulary[("eau", "noun")]
    intervals = []
    for _ in range(4):
        result = await review(http, headers, word, 2)
        intervals.append(result["scheduled_days"])
        clock.now = at(result["next_review"]) or clock.now
    assert intervals[0] == 0  # the learning step
    assert 0 < intervals[1] < intervals[2] < intervals[3]


async def test_desired_retention_sets_the_interval_as_py_fsrs_does(
    exact: Exact, demo_vocabulary: Vocabulary
) -> None:
    http, clock = exact.client, exact.clock
    word = demo_vocabulary[("café", "noun")]
    learners = {}
    for retention in (0.8, 0.9, 0.95):
        _, headers = await learner(exact)
        if retention != 0.9:
            await patch_settings(http, headers, desired_retention=retention)
        learners[retention] = headers
    # The same history for all three: good, good at the learning step's end, good when due.
    days: dict[float, int] = {}
    for retention, headers in learners.items():
        scheduler = fsrs.Scheduler(desired_retention=retention, enable_fuzzing=False)
        card = fsrs.Card(card_id=1, due=START)
        clock.now = START
        for rating in (2, 2, 2):
            clock.now = max(clock.now, card.due)
            card, _ = scheduler.review_card(card, RATING_NAMES[rating], review_datetime=clock.now)
            result = await review(http, headers, word, rating)
            assert at(result["next_review"]) == card.due
            assert result["scheduled_days"] == (card.due - clock.now).days
            assert (result["stability"], result["difficulty"]) == (card.stability, card.difficulty)
        days[retention] = result["scheduled_days"]
    assert days[0.8] > days[0.9] > days[0.95] > 0


# --- 2. the queue ---------------------------------------------------------------------


async def test_queue_puts_least_retrievable_due_cards_first_then_added_then_unseen_words(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database
) -> None:
    http, now = exact.client, START
    user_id, headers = await learner(exact)
    other_id, _ = await learner(exact)
    food = pack_words(demo_vocabulary, "Food and drink")
    # (stability, days since the last review, days overdue): the order by how overdue
    # a card is in days (a, b/c, d) differs from the order by retrievability (b, c, a, d).
    arranged = {
        "a": (food[0], 50.0, timedelta(days=70), timedelta(days=20)),
        "b": (food[1], 1.5, timedelta(days=6), timedelta(days=4)),
        "c": (food[2], 8.0, timedelta(days=12, hours=20), timedelta(days=4)),
        "d": (food[3], 3.0, timedelta(days=3), timedelta(0)),
        "later": (food[4], 20.0, timedelta(days=5), -timedelta(days=15)),
    }
    for word_id, stability, elapsed, overdue in arranged.values():
        await add_review_card(
            database,
            user_id,
            word_id,
            stability=stability,
            last_review=now - elapsed,
            due=now - overdue,
        )
    # Someone else's overdue card is not ours.
    await add_review_card(
        database, other_id, food[5], stability=1.0, last_review=now - timedelta(days=30), due=now
    )
    family = await scalar(database, "SELECT id FROM word_packs WHERE title = 'Family'")
    subscribed = await http.post(f"{API}/packs/{family}/subscribe", headers=headers)
    assert subscribed.status_code == 201, subscribed.text
    family_words = set(pack_words(demo_vocabulary, "Family")) - {w for w, *_ in arranged.values()}

    queue = await get_json(http, "/progress/queue?limit=50", headers)

    expected_due = ["b", "c", "a", "d"]
    due_part, new_part = queue[:4], queue[4:]
    assert [item["word_id"] for item in due_part] == [arranged[k][0] for k in expected_due]
    for item, key in zip(due_part, expected_due, strict=True):
        _, stability, elapsed, overdue = arranged[key]
        assert item["kind"] == "word"
        assert (item["state"], item["is_new"]) == ("review", False)
        assert at(item["next_review"]) == now - overdue
        assert item["retrievability"] == pytest.approx(
            retrievability(stability, now - elapsed, now), rel=1e-9
        )
    assert due_part[0]["retrievability"] < due_part[1]["retrievability"]
    # New words: 20 a day by default, the subscribed pack's first, then unseen ones.
    assert len(new_part) == 20
    assert all(item["is_new"] and item["state"] == "new" for item in new_part)
    assert all(item["next_review"] is None and item["retrievability"] is None for item in new_part)
    added, unseen = new_part[: len(family_words)], new_part[len(family_words) :]
    assert {item["word_id"] for item in added} == family_words
    ranks = dict(await _rows(database, "SELECT id, frequency_rank FROM vocabulary_words", {}))
    added_ranks = [ranks[item["word_id"]] for item in added]
    assert added_ranks == sorted(added_ranks)
    expected_unseen = await _rows(
        database,
        "SELECT id, frequency_rank FROM vocabulary_words w WHERE language = 'fr' AND NOT EXISTS"
        " (SELECT 1 FROM srs_cards c WHERE c.user_id = :u AND c.word_id = w.id)"
        " ORDER BY frequency_rank NULLS LAST, id LIMIT :n",
        {"u": user_id, "n": 20 - len(family_words)},
    )
    assert [item["word_id"] for item in unseen] == [word_id for word_id, _ in expected_unseen]
    assert all(item["translations"] and item["word"] for item in queue)

    top_two = await get_json(http, "/progress/queue?limit=2", headers)
    assert [item["word_id"] for item in top_two] == [arranged["b"][0], arranged["c"][0]]
    assert len(await get_json(http, "/progress/queue?limit=7", headers)) == 7
    for bad in (0, 51, -1):
        response = await http.get(f"{API}/progress/queue?limit={bad}", headers=headers)
        assert_error(response, 422, "validation_error")


async def _rows(database: Database, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    async with database.session() as session:
        return [tuple(row) for row in await session.execute(text(sql), params)]


async def test_queue_new_words_follow_frequency_and_reviewed_words_leave_it(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database
) -> None:
    http, clock = exact.client, exact.clock
    _, headers = await learner(exact)
    first = await get_json(http, "/progress/queue?limit=5", headers)
    expected = await _rows(
        database,
        "SELECT id FROM vocabulary_words WHERE language = 'fr'"
        " ORDER BY frequency_rank NULLS LAST, id LIMIT 6",
        {},
    )
    assert [item["word_id"] for item in first] == [row[0] for row in expected[:5]]
    await review(http, headers, first[0]["word_id"], 2)
    after = await get_json(http, "/progress/queue?limit=5", headers)
    # The reviewed word is learning now (due in minutes), not new.
    assert [item["word_id"] for item in after] == [row[0] for row in expected[1:6]]
    clock.advance(minutes=11)
    later = await get_json(http, "/progress/queue?limit=5", headers)
    assert later[0]["word_id"] == first[0]["word_id"]
    assert (later[0]["state"], later[0]["is_new"]) == ("learning", False)
    assert later[0]["retrievability"] == pytest.approx(1.0)


# --- 3. daily caps, per the learner's local day ---------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "after_utc_midnight", "local_midnight"),
    [
        (
            "America/New_York",
            datetime(2026, 3, 2, 12, 0, tzinfo=UTC),  # Mon 07:00 local
            datetime(2026, 3, 3, 0, 30, tzinfo=UTC),  # Mon 19:30 local
            datetime(2026, 3, 3, 5, 0, tzinfo=UTC),  # Tue 00:00 local
        ),
        (
            "Asia/Tokyo",
            datetime(2026, 3, 2, 16, 0, tzinfo=UTC),  # Tue 01:00 local
            datetime(2026, 3, 3, 0, 30, tzinfo=UTC),  # Tue 09:30 local
            datetime(2026, 3, 3, 15, 0, tzinfo=UTC),  # Wed 00:00 local
        ),
    ],
)
async def test_new_card_cap_resets_at_the_learners_local_midnight(
    exact: Exact,
    demo_vocabulary: Vocabulary,
    zone: str,
    start: datetime,
    after_utc_midnight: datetime,
    local_midnight: datetime,
) -> None:
    http, clock = exact.client, exact.clock
    clock.now = start
    _, headers = await learner(exact, timezone=zone)
    await patch_settings(http, headers, new_cards_per_day=3, reviews_per_day=5)

    queue = await get_json(http, "/progress/queue?limit=20", headers)
    assert len(queue) == 3 and all(item["is_new"] for item in queue)
    today = await get_json(http, "/progress/today", headers)
    assert at(today["day_started_at"]) == local_midnight - timedelta(days=1)
    for item in queue:
        await review(http, headers, item["word_id"], 2)
    assert await get_json(http, "/progress/queue?limit=20", headers) == []
    today = await get_json(http, "/progress/today", headers)
    assert (today["new_done_today"], today["new_left_today"]) == (3, 0)
    assert (today["reviews_done_today"], today["reviews_left_today"]) == (0, 5)

    # UTC midnight is not the learner's midnight: still no new words (the learning
    # cards are due by now, and they are all the queue holds).
    clock.now = after_utc_midnight
    queue = await get_json(http, "/progress/queue?limit=20", headers)
    assert len(queue) == 3 and not any(item["is_new"] for item in queue)
    clock.now = local_midnight - timedelta(seconds=1)
    assert not any(
        item["is_new"] for item in await get_json(http, "/progress/queue?limit=20", headers)
    )
    assert (await get_json(http, "/progress/today", headers))["new_left_today"] == 0

    clock.now = local_midnight
    queue = await get_json(http, "/progress/queue?limit=20", headers)
    assert sum(item["is_new"] for item in queue) == 3
    today = await get_json(http, "/progress/today", headers)
    assert at(today["day_started_at"]) == local_midnight
    assert (today["new_done_today"], today["new_left_today"]) == (0, 3)


async def test_review_cap_shows_the_most_at_risk_and_resets_at_local_midnight(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database
) -> None:
    http, clock = exact.client, exact.clock
    user_id, headers = await learner(exact, timezone="America/New_York")
    await patch_settings(http, headers, new_cards_per_day=0, reviews_per_day=5)
    words = pack_words(demo_vocabulary, "Food and drink")[:12]
    stabilities = {}
    rng = random.Random(7)
    for index, word_id in enumerate(words):
        stability = 1.0 + index * 1.7
        stabilities[word_id] = stability
        await add_review_card(
            database,
            user_id,
            word_id,
            stability=stability,
            last_review=START - timedelta(days=20, hours=rng.randint(0, 23)),
            due=START - timedelta(days=1),
        )

    def most_at_risk(candidates: list[int], now: datetime) -> list[int]:
        risk = {
            word_id: retrievability(stabilities[word_id], last_reviews[word_id], now)
            for word_id in candidates
        }
        return sorted(candidates, key=lambda word_id: risk[word_id])

    last_reviews = {
        word_id: (await stored_card(database, user_id, word_id)).last_review or START
        for word_id in words
    }
    today = await get_json(http, "/progress/today", headers)
    assert (today["due_total"], today["reviews_left_today"]) == (12, 5)
    assert at(today["day_started_at"]) == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)

    queue = await get_json(http, "/progress/queue?limit=20", headers)
    assert [item["word_id"] for item in queue] == most_at_risk(words, START)[:5]
    for item in queue:
        await review(http, headers, item["word_id"], 2)
    assert await get_json(http, "/progress/queue?limit=20", headers) == []
    today = await get_json(http, "/progress/today", headers)
    assert (today["due_total"], today["reviews_done_today"], today["reviews_left_today"]) == (
        7,
        5,
        0,
    )
    reviewed = {item["word_id"] for item in queue}

    clock.now = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # past UTC midnight, 19:30 local
    assert await get_json(http, "/progress/queue?limit=20", headers) == []
    clock.now = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # local midnight
    queue = await get_json(http, "/progress/queue?limit=20", headers)
    remaining = [word_id for word_id in words if word_id not in reviewed]
    assert [item["word_id"] for item in queue] == most_at_risk(remaining, clock.now)[:5]
    today = await get_json(http, "/progress/today", headers)
    assert (today["due_total"], today["reviews_done_today"], today["reviews_left_today"]) == (
        7,
        0,
        5,
    )


async def test_lesson_practice_updates_the_card_but_not_the_daily_caps(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database
) -> None:
    http, clock = exact.client, exact.clock
    user_id, headers = await learner(exact, timezone="Asia/Tokyo")
    await patch_settings(http, headers, new_cards_per_day=3, reviews_per_day=5)
    food = pack_words(demo_vocabulary, "Food and drink")
    outcomes = {
        food[0]: (PracticeOutcome.CORRECT, fsrs.Rating.Good, 2),
        food[1]: (PracticeOutcome.CORRECT_WITH_HELP, fsrs.Rating.Hard, 1),
        food[2]: (PracticeOutcome.WRONG, fsrs.Rating.Again, 0),
    }
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    # A card already in review, practised in a lesson after it fell due.
    await review(http, headers, food[3], 2)
    clock.advance(minutes=10)
    await review(http, headers, food[3], 2)
    known_before = await stored_card(database, user_id, food[3])
    assert known_before.state is CardState.REVIEW
    clock.advance(minutes=30)
    async with database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        await service.record_practice(
            session,
            user,
            {word_id: outcome for word_id, (outcome, _, _) in outcomes.items()},
            exact.settings,
            source=ReviewSource.LESSON,
            now=clock.now,
        )
        await service.record_practice(
            session,
            user,
            {food[3]: PracticeOutcome.WRONG},
            exact.settings,
            source=ReviewSource.LESSON,
            now=clock.now,
        )

    for word_id, (_, fsrs_rating, rating) in outcomes.items():
        expected, _ = scheduler.review_card(
            fsrs.Card(card_id=1, due=clock.now), fsrs_rating, review_datetime=clock.now
        )
        card = await stored_card(database, user_id, word_id)
        assert card.state.value == state_name(expected)
        assert (card.stability, card.difficulty) == (expected.stability, expected.difficulty)
        assert (card.due, card.last_review, card.step) == (
            expected.due,
            expected.last_review,
            expected.step,
        )
        assert card.origin is CardOrigin.LESSON
        assert card.lapses == 0  # a wrong answer on a new word is no lapse
        assert (card.reps, card.correct_count, card.incorrect_count) == (
            1,
            int(rating > 0),
            int(rating == 0),
        )
    known, _ = scheduler.review_card(
        fsrs_card(known_before), fsrs.Rating.Again, review_datetime=clock.now
    )
    card = await stored_card(database, user_id, food[3])
    assert (card.state.value, card.stability, card.due) == (
        state_name(known),
        known.stability,
        known.due,
    )
    assert (card.reps, card.lapses) == (3, 1)

    logs = [log for log in await review_logs(database, user_id) if log.reviewed_at == clock.now]
    assert len(logs) == 4
    assert all(log.source is ReviewSource.LESSON for log in logs)
    assert sorted(log.rating for log in logs) == [0, 0, 1, 2]
    history = await get_json(http, f"/progress/{food[3]}/reviews", headers)
    assert [item["source"] for item in history["items"]] == ["lesson", "queue", "queue"]

    # Only the two queue reviews count: one new card, one review of a known card.
    today = await get_json(http, "/progress/today", headers)
    assert (today["new_done_today"], today["new_left_today"]) == (1, 2)
    assert (today["reviews_done_today"], today["reviews_left_today"]) == (1, 4)


# --- 4. concurrent reviews ------------------------------------------------------------


def assert_chained(logs: list[ReviewLog]) -> None:
    """Each review started from the state the previous one stored."""
    for previous, following in pairwise(logs):
        assert following.state_before == previous.state_after
        assert following.stability_before == previous.stability_after
        assert following.difficulty_before == previous.difficulty_after
        assert following.due_before == previous.due_after


def replay(logs: list[ReviewLog]) -> fsrs.Card:
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=1, due=logs[0].reviewed_at)
    for log in logs:
        card, _ = scheduler.review_card(card, RATING_NAMES[log.rating], log.reviewed_at)
    return card


@pytest.mark.parametrize("reviewed_before", [False, True])
async def test_simultaneous_http_reviews_of_one_word_both_land(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database, reviewed_before: bool
) -> None:
    http, clock = exact.client, exact.clock
    user_id, headers = await learner(exact)
    word = demo_vocabulary[("pain", "noun")]
    if reviewed_before:
        await review(http, headers, word, 2)
        clock.advance(minutes=10)
    body = [{"word_id": word, "rating": 2}, {"word_id": word, "rating": 0}]
    responses = await asyncio.gather(
        *(http.post(f"{API}/progress/review", headers=headers, json=b) for b in body)
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    expected_reps = 3 if reviewed_before else 2
    card = await stored_card(database, user_id, word)
    assert card.reps == expected_reps
    assert max(r.json()["reps"] for r in responses) == expected_reps
    logs = await review_logs(database, user_id)
    assert len(logs) == expected_reps
    assert logs[0].state_before is CardState.NEW
    assert_chained(logs)
    final = replay(logs)
    assert (card.stability, card.difficulty, card.due) == (
        final.stability,
        final.difficulty,
        final.due,
    )
    assert (
        await scalar(database, "SELECT count(*) FROM srs_cards WHERE user_id = :u", u=user_id) == 1
    )


@pytest.mark.parametrize("reviewed_before", [False, True])
async def test_a_review_waits_for_a_concurrent_one_on_the_same_card(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database, reviewed_before: bool
) -> None:
    http, clock = exact.client, exact.clock
    user_id, headers = await learner(exact)
    word = demo_vocabulary[("eau", "noun")]
    if reviewed_before:
        await review(http, headers, word, 2)
    now = clock.advance(minutes=10)

    async def second_review() -> service.ReviewOutcome:
        async with database.session() as session:
            user = await session.get(User, user_id)
            assert user is not None
            return await service.review_word(session, user, word, 1, exact.settings, now=now)

    async with database.session() as first:
        user = await first.get(User, user_id)
        assert user is not None
        await service.review_word(first, user, word, 2, exact.settings, now=now)
        other = asyncio.create_task(second_review())
        await asyncio.sleep(0.3)
        assert not other.done()  # blocked on the first transaction's row lock
    outcome = await other
    expected_reps = 3 if reviewed_before else 2
    assert outcome.card.reps == expected_reps
    logs = await review_logs(database, user_id)
    assert [log.rating for log in logs][-2:] == [2, 1]
    assert len(logs) == expected_reps
    assert_chained(logs)
    card = await stored_card(database, user_id, word)
    assert card.reps == expected_reps
    assert card.stability == replay(logs).stability


# --- 5. settings and parameters -------------------------------------------------------


async def test_settings_defaults_bounds_and_persistence(
    client: httpx.AsyncClient, user_factory: Any, database: Database
) -> None:
    _, headers, _ = await user_factory()
    defaults = {"desired_retention": 0.9, "new_cards_per_day": 20, "reviews_per_day": 200}
    assert await get_json(client, "/progress/settings", headers) == defaults
    for bad in (
        {"desired_retention": 0.69},
        {"desired_retention": 0.98},
        {"desired_retention": None},
        {"new_cards_per_day": -1},
        {"reviews_per_day": -1},
        {"new_cards_per_day": None},
        {"daily_goal": 3},
        {"desired_retention": "high"},
    ):
        response = await client.patch(f"{API}/progress/settings", headers=headers, json=bad)
        assert_error(response, 422, "validation_error")
    assert await get_json(client, "/progress/settings", headers) == defaults
    assert await scalar(database, "SELECT count(*) FROM srs_profiles") == 0

    changed = await client.patch(
        f"{API}/progress/settings", headers=headers, json={"desired_retention": 0.85}
    )
    assert changed.json() == {**defaults, "desired_retention": 0.85}
    changed = await client.patch(
        f"{API}/progress/settings", headers=headers, json={"reviews_per_day": 0}
    )
    assert changed.json() == {**defaults, "desired_retention": 0.85, "reviews_per_day": 0}
    for edge in (0.7, 0.97):
        response = await client.patch(
            f"{API}/progress/settings", headers=headers, json={"desired_retention": edge}
        )
        assert response.status_code == 200 and response.json()["desired_retention"] == edge
    stored = await get_json(client, "/progress/settings", headers)
    assert stored == {"desired_retention": 0.97, "new_cards_per_day": 20, "reviews_per_day": 0}
    assert (await get_json(client, "/progress/parameters", headers))["desired_retention"] == 0.97
    # Another learner still has the defaults.
    _, other, _ = await user_factory()
    assert await get_json(client, "/progress/settings", other) == defaults


async def test_parameters_are_the_py_fsrs_defaults_until_fitted(
    client: httpx.AsyncClient, user_factory: Any, demo_vocabulary: Vocabulary
) -> None:
    _, headers, _ = await user_factory()
    parameters = await get_json(client, "/progress/parameters", headers)
    assert parameters == {
        "parameters": DEFAULTS,
        "personal": False,
        "fitted_at": None,
        "fitted_on_reviews": None,
        "reviews_logged": 0,
        "reviews_needed": 400,
        "desired_retention": 0.9,
    }
    assert len(parameters["parameters"]) == 21
    await review(client, headers, demo_vocabulary[("pain", "noun")], 2)
    await review(client, headers, demo_vocabulary[("pain", "noun")], 3)
    await review(client, headers, demo_vocabulary[("eau", "noun")], 0)
    parameters = await get_json(client, "/progress/parameters", headers)
    assert (parameters["reviews_logged"], parameters["personal"]) == (3, False)


# --- 6. personal parameters -----------------------------------------------------------


class RecordingBackend:
    """A job backend that only notes what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self.sent.append((name, kwargs))


@pytest.fixture
def sent_jobs() -> Iterator[RecordingBackend]:
    backend = RecordingBackend()
    previous = jobs.set_backend(backend)
    yield backend
    jobs.set_backend(previous)


async def simulate_history(
    database: Database,
    settings: Settings,
    user_id: uuid.UUID,
    word_ids: list[int],
    *,
    start: datetime,
    days: int,
    seed: int,
) -> int:
    """A learner studying daily: two new words a day, every due card reviewed; returns count."""
    rng = random.Random(seed)
    count = 0
    async with database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        for day in range(days):
            now = start + timedelta(days=day, minutes=rng.randint(0, 180))
            due = set(
                await session.scalars(
                    select(SrsCard.word_id).where(SrsCard.user_id == user_id, SrsCard.due <= now)
                )
            )
            for word_id in [*word_ids[2 * day : 2 * day + 2], *sorted(w for w in due if w)]:
                rating = rng.choices([0, 1, 2, 3], weights=[18, 12, 60, 10])[0]
                await service.review_word(session, user, word_id, rating, settings, now=now)
                count += 1
                now += timedelta(seconds=20)
    return count


async def test_personal_parameters_are_fitted_and_then_used(
    exact: Exact,
    demo_vocabulary: Vocabulary,
    database: Database,
    sent_jobs: RecordingBackend,
) -> None:
    http, clock = exact.client, exact.clock
    settings = exact.settings
    ctx = JobContext(settings=settings, db=database, cache=MemoryCache())
    student_id, headers = await learner(exact)
    casual_id, casual_headers = await learner(exact)
    words = sorted(demo_vocabulary.values())
    history_start = START - timedelta(days=70)
    logged = await simulate_history(
        database, settings, student_id, words[:40], start=history_start, days=60, seed=3
    )
    assert logged > 60
    casual = await simulate_history(
        database, settings, casual_id, words[:5], start=history_start, days=4, seed=4
    )
    assert casual < settings.srs_optimizer_min_reviews
    before = await get_json(http, "/progress/parameters", headers)
    assert (before["personal"], before["reviews_logged"], before["reviews_needed"]) == (
        False,
        logged,
        50,
    )

    assert await run_job(ctx, "srs.schedule_parameter_fits", {}) == 1
    assert sent_jobs.sent == [("srs.fit_learner_parameters", {"user_id": str(student_id)})]
    assert await run_job(ctx, "srs.fit_learner_parameters", sent_jobs.sent[0][1]) is True

    fitted = await get_json(http, "/progress/parameters", headers)
    assert fitted["personal"] is True
    assert fitted["fitted_at"] is not None
    assert (fitted["fitted_on_reviews"], fitted["reviews_logged"]) == (logged, logged)
    parameters = fitted["parameters"]
    assert len(parameters) == 21 and parameters != DEFAULTS
    assert sum(a != b for a, b in zip(parameters, DEFAULTS, strict=True)) >= 10
    fsrs.Scheduler(parameters=parameters)  # py-fsrs accepts them
    casual_parameters = await get_json(http, "/progress/parameters", casual_headers)
    assert casual_parameters["personal"] is False

    # Reviews now follow the fitted parameters.
    scheduler = fsrs.Scheduler(parameters=parameters, enable_fuzzing=False)
    word = words[100]
    card = fsrs.Card(card_id=1, due=clock.now)
    for rating in (2, 2, 1):
        clock.now = max(clock.now, card.due)
        card, _ = scheduler.review_card(card, RATING_NAMES[rating], review_datetime=clock.now)
        result = await review(http, headers, word, rating)
        assert result["stability"] == card.stability
        assert at(result["next_review"]) == card.due
        assert result["scheduled_days"] == (card.due - clock.now).days
    default_card, _ = fsrs.Scheduler(enable_fuzzing=False).review_card(
        fsrs.Card(card_id=1), fsrs.Rating.Good, review_datetime=START
    )
    first_log = (await review_logs(database, student_id))[-3]
    assert first_log.stability_after != default_card.stability

    # Not refitted until refit_reviews (5) more reviews: 3 so far, then 2 more.
    sent_jobs.sent.clear()
    assert await run_job(ctx, "srs.schedule_parameter_fits", {}) == 0
    await review(http, headers, words[101], 2)
    assert await run_job(ctx, "srs.schedule_parameter_fits", {}) == 0
    await review(http, headers, words[102], 2)
    assert await run_job(ctx, "srs.schedule_parameter_fits", {}) == 1
    assert sent_jobs.sent == [("srs.fit_learner_parameters", {"user_id": str(student_id)})]


async def test_a_failed_fit_keeps_the_defaults_and_waits_for_more_reviews(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database, sent_jobs: RecordingBackend
) -> None:
    http = exact.client
    settings = exact.settings
    ctx = JobContext(settings=settings, db=database, cache=MemoryCache())
    user_id, headers = await learner(exact)
    # 60 reviews in one sitting: nothing to learn long-term memory from.
    words = sorted(demo_vocabulary.values())[:60]
    async with database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        for word_id in words:
            await service.review_word(session, user, word_id, 2, settings, now=START)
    assert await run_job(ctx, "srs.schedule_parameter_fits", {}) == 1
    assert await run_job(ctx, "srs.fit_learner_parameters", {"user_id": str(user_id)}) is False
    parameters = await get_json(http, "/progress/parameters", headers)
    assert (parameters["personal"], parameters["parameters"]) == (False, DEFAULTS)
    assert parameters["fitted_on_reviews"] is None
    sent_jobs.sent.clear()
    assert await run_job(ctx, "srs.schedule_parameter_fits", {}) == 0
    assert sent_jobs.sent == []


# --- 7. errors ------------------------------------------------------------------------


async def test_reviewing_an_unknown_word_is_404_and_writes_nothing(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database
) -> None:
    http = exact.client
    _, headers = await learner(exact)
    response = await http.post(
        f"{API}/progress/review", headers=headers, json={"word_id": 999_999, "rating": 2}
    )
    assert_error(response, 404, "not_found")
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 0
    assert await scalar(database, "SELECT count(*) FROM srs_review_logs") == 0
    assert_error(await http.get(f"{API}/progress/999999", headers=headers), 404, "not_found")
    assert_error(
        await http.get(f"{API}/progress/999999/reviews", headers=headers), 404, "not_found"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"word_id": "WORD", "rating": 4},
        {"word_id": "WORD", "rating": -1},
        {"word_id": "WORD", "rating": 2.5},
        {"word_id": "WORD"},
        {"rating": 2},
        {"word_id": 0, "rating": 2},
        {"word_id": "WORD", "rating": 2, "response_time_ms": -5},
        {"word_id": "WORD", "rating": 2, "response_time_ms": False},  # a bool is not a duration
        {"word_id": "WORD", "rating": True},  # a bool is not a rating
        {"word_id": "WORD", "rating": 2, "confidence": "high"},
    ],
)
async def test_invalid_reviews_are_422_with_the_envelope(
    exact: Exact, demo_vocabulary: Vocabulary, database: Database, body: dict[str, Any]
) -> None:
    http = exact.client
    _, headers = await learner(exact)
    word = demo_vocabulary[("pain", "noun")]
    payload = {key: word if value == "WORD" else value for key, value in body.items()}
    response = await http.post(f"{API}/progress/review", headers=headers, json=payload)
    error = assert_error(response, 422, "validation_error")
    assert error["details"]
    assert await scalar(database, "SELECT count(*) FROM srs_review_logs") == 0


async def test_progress_of_a_word_never_reviewed_is_new(
    exact: Exact, demo_vocabulary: Vocabulary
) -> None:
    http = exact.client
    _, headers = await learner(exact)
    word = demo_vocabulary[("pain", "noun")]
    progress = await get_json(http, f"/progress/{word}", headers)
    assert progress == {
        "word_id": word,
        "word": "pain",
        "state": "new",
        "stability": None,
        "difficulty": None,
        "next_review": None,
        "last_review": None,
        "reps": 0,
        "lapses": 0,
        "correct_count": 0,
        "incorrect_count": 0,
        "retrievability": None,
    }
    history = await get_json(http, f"/progress/{word}/reviews", headers)
    assert (history["items"], history["total"]) == ([], 0)
    # Someone else's review is not mine.
    _, other = await learner(exact)
    await review(http, other, word, 2)
    assert (await get_json(http, f"/progress/{word}", headers))["reps"] == 0


async def test_every_progress_route_needs_a_token(
    exact: Exact, demo_vocabulary: Vocabulary
) -> None:
    http = exact.client
    word = demo_vocabulary[("pain", "noun")]
    calls = [
        ("GET", "/progress/queue", None),
        ("GET", "/progress/today", None),
        ("POST", "/progress/review", {"word_id": word, "rating": 2}),
        ("GET", "/progress/settings", None),
        ("PATCH", "/progress/settings", {"reviews_per_day": 3}),
        ("GET", "/progress/parameters", None),
        ("GET", f"/progress/{word}", None),
        ("GET", f"/progress/{word}/reviews", None),
    ]
    for method, url, body in calls:
        response = await http.request(method, f"{API}{url}", json=body)
        assert_error(response, 401, "not_authenticated")
        bad = await http.request(
            method, f"{API}{url}", json=body, headers={"Authorization": "Bearer nope"}
        )
        assert_error(bad, 401, "invalid_token")


async def test_simultaneous_first_settings_changes_both_apply(exact: Exact) -> None:
    http = exact.client
    _, headers = await learner(exact)
    changes = [{"new_cards_per_day": 7}, {"reviews_per_day": 70}, {"desired_retention": 0.8}]
    responses = await asyncio.gather(
        *(http.patch(f"{API}/progress/settings", headers=headers, json=c) for c in changes)
    )
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert await get_json(http, "/progress/settings", headers) == {
        "desired_retention": 0.8,
        "new_cards_per_day": 7,
        "reviews_per_day": 70,
    }


async def test_a_settings_change_waits_for_a_concurrent_first_one(exact: Exact) -> None:
    user_id, headers = await learner(exact)
    database, settings = exact.database, exact.settings

    async def second_change() -> service.LearnerSettings:
        async with database.session() as session:
            return await service.update_learner_settings(
                session, user_id, settings, reviews_per_day=70
            )

    async with database.session() as first:
        await service.update_learner_settings(first, user_id, settings, new_cards_per_day=7)
        other = asyncio.create_task(second_change())
        await asyncio.sleep(0.3)
    changed = await other
    assert (changed.new_cards_per_day, changed.reviews_per_day) == (7, 70)
    assert await get_json(exact.client, "/progress/settings", headers) == {
        "desired_retention": 0.9,
        "new_cards_per_day": 7,
        "reviews_per_day": 70,
    }
