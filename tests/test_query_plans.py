"""The SQL behind hot routes: a fixed number of statements whatever the learner's data size
(no N+1 queries), and indexes, not sequential scans, on the large tables.

Statements are captured on the app's own engine while the route runs, then each captured
SELECT is explained with its real parameters against a database of realistic size.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text
from starlette.concurrency import run_in_threadpool

from linguo.core.db import Database
from linguo.gamification import service
from linguo.models.gamification import XpSource
from tests.conftest import (
    UserFactory,
    execute,
    play_first_demo_lesson,
    scalar,
    start_first_demo_lesson,
)
from tests.test_conversation import new_session, say

API = "/api/v1"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the `clock` fixture's Monday
# A sequential scan of a table this large means a missing index (small tables are scanned
# whole on purpose: that is cheaper than an index lookup).
LARGE_TABLE_ROWS = 5_000


@contextmanager
def captured_statements(app: FastAPI) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app's engine sends while the block runs, with its parameters."""
    engine = app.state.db.engine.sync_engine
    statements: list[tuple[str, Any]] = []

    def record(
        _conn: object, _cursor: object, statement: str, parameters: Any, *_args: object
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def listing(statements: Iterable[str], width: int = 120) -> str:
    """Statements one per line, whitespace folded and cut: an assertion's message."""
    return "\n".join(" ".join(sql.split())[:width] for sql in statements)


async def statements_for(
    app: FastAPI, client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> list[tuple[str, Any]]:
    """The statements one GET of `path` runs (it must succeed)."""
    with captured_statements(app) as statements:
        response = await client.get(f"{API}{path}", headers=headers)
    assert response.status_code == 200, response.text
    return list(statements)


def _queries(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [
        (sql, params) for sql, params in statements if sql.lstrip().upper().startswith("SELECT")
    ]


def _seq_scans(plan: dict[str, Any], sizes: dict[str, float]) -> list[str]:
    """Large tables read by a sequential scan anywhere in the plan."""
    found = []
    relation = plan.get("Relation Name")
    if plan.get("Node Type") == "Seq Scan" and sizes.get(str(relation), 0) >= LARGE_TABLE_ROWS:
        found.append(str(relation))
    for child in plan.get("Plans", []):
        found.extend(_seq_scans(child, sizes))
    return found


async def assert_no_large_seq_scan(database: Database, statements: list[tuple[str, Any]]) -> int:
    """EXPLAIN every captured SELECT; fail on a sequential scan of a large table."""
    explained = 0
    async with database.engine.connect() as conn:
        tables = await conn.execute(
            select(text("relname"), text("reltuples"))
            .select_from(text("pg_class"))
            .where(text("relkind = 'r'"))
        )
        sizes: dict[str, float] = {str(row[0]): float(row[1]) for row in tables}
        for sql, params in _queries(statements):
            result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params)
            raw = result.scalar_one()
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            scans = _seq_scans(plan, sizes)
            assert not scans, f"sequential scan of {scans} in:\n{sql}\n{json.dumps(plan)[:2000]}"
            explained += 1
    return explained


# --------------------------------------------------------------------------- seeding


def at_now(sql: str) -> str:
    """`{now}` in seeding SQL: the `now` parameter typed for asyncpg."""
    return sql.replace("{now}", "CAST(:now AS timestamptz)")


async def seed_words(database: Database, count: int) -> None:
    """`count` French words with frequency ranks (plus as many Spanish ones)."""
    for language in ("fr", "es"):
        await execute(
            database,
            "INSERT INTO vocabulary_words (language, word, lemma, part_of_speech, translations, "
            "frequency_rank) SELECT CAST(:lang AS text), :lang || '-mot-' || g, "
            ":lang || '-mot-' || g, 'noun', "
            '\'{"en": ["word"]}\'::jsonb, g FROM generate_series(1, :n) g',
            lang=language,
            n=count,
        )


async def seed_cards(
    database: Database, user_id: uuid.UUID, *, cards: int, due_now: int, logs_per_card: int
) -> None:
    """`cards` reviewed cards of the learner (`due_now` of them due) and their review logs."""
    await execute(
        database,
        at_now(
            "INSERT INTO srs_cards (id, user_id, word_id, state, step, stability, difficulty, due, "
            "last_review, reps, origin, created_at, updated_at) "
            "SELECT gen_random_uuid(), :u, w.id, 'review', NULL, 5 + w.frequency_rank % 40, 5.0, "
            "CASE WHEN w.frequency_rank <= :due THEN {now} - interval '1 hour' * w.frequency_rank "
            "ELSE {now} + interval '1 hour' * w.frequency_rank END, "
            "{now} - interval '10 days', 3, 'review', {now} - interval '90 days', {now} "
            "FROM vocabulary_words w WHERE w.language = 'fr' AND w.frequency_rank <= :n"
        ),
        u=user_id,
        n=cards,
        due=due_now,
        now=NOW,
    )
    if logs_per_card:
        await execute(
            database,
            at_now(
                "INSERT INTO srs_review_logs (card_id, user_id, rating, source, reviewed_at, "
                "state_before, state_after, stability_before, stability_after, difficulty_before, "
                "difficulty_after, due_before, due_after) "
                "SELECT c.id, c.user_id, 2, 'queue', {now} - interval '1 day' * (g + 10), "
                "'review', 'review', 4, 5, 5, 5, {now}, {now} "
                "FROM srs_cards c, generate_series(1, :k) g "
                "WHERE c.user_id = :u"
            ),
            u=user_id,
            k=logs_per_card,
            now=NOW,
        )


async def seed_league_history(database: Database, *, weeks: int, learners: int) -> None:
    """`learners` learners who played `weeks` past weeks in groups of 30 (settled)."""
    await execute(
        database,
        "INSERT INTO users (id, email, password_hash, role, plan, native_language, "
        "target_language, proficiency_level, timezone) SELECT gen_random_uuid(), "
        "'history-' || g || '@example.com', '-', 'student', 'free', 'en', 'fr', 'A1', 'UTC' "
        "FROM generate_series(1, :n) g",
        n=learners,
    )
    await execute(
        database,
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM users "
        "WHERE email LIKE 'history-%'), weeks AS (SELECT (DATE '2026-03-02' - 7 * w) AS week "
        "FROM generate_series(1, :weeks) w) "
        "INSERT INTO league_groups (id, week_start, tier, number, member_count, is_open, "
        "settled_at, created_at) SELECT DISTINCT ON (weeks.week, ranked.i / 30) "
        "md5(weeks.week::text || (ranked.i / 30))::uuid, weeks.week, (ranked.i / 30) % 10, "
        "ranked.i / 300 + 1, 30, false, now(), now() FROM ranked, weeks",
        weeks=weeks,
    )
    await execute(
        database,
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM users "
        "WHERE email LIKE 'history-%'), weeks AS (SELECT (DATE '2026-03-02' - 7 * w) AS week "
        "FROM generate_series(1, :weeks) w) "
        "INSERT INTO league_memberships (user_id, week_start, group_id, tier, xp, xp_reached_at, "
        "joined_at, final_rank, outcome) SELECT ranked.id, weeks.week, "
        "md5(weeks.week::text || (ranked.i / 30))::uuid, (ranked.i / 30) % 10, ranked.i % 97, "
        "now(), now(), ranked.i % 30 + 1, 'stayed' FROM ranked, weeks",
        weeks=weeks,
    )


async def analyze(database: Database) -> None:
    """Fresh planner statistics, as autovacuum would have them in production."""
    async with database.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")


async def earn(database: Database, user_id: str, xp: int) -> None:
    """XP at the clock's time through the gamification service."""
    async with database.session() as session:
        await service.award_xp(
            session,
            uuid.UUID(user_id),
            source=XpSource.BONUS,
            reference=str(uuid.uuid4()),
            amount=xp,
            at=NOW,
        )


# --------------------------------------------------------------------------- tests


@pytest.mark.usefixtures("clock")
async def test_review_queue_statements_do_not_grow_with_the_backlog(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed_words(database, 200)
    small_user, small, _ = await user_factory()
    large_user, large, _ = await user_factory()
    await seed_cards(database, uuid.UUID(small_user["id"]), cards=10, due_now=3, logs_per_card=1)
    await seed_cards(database, uuid.UUID(large_user["id"]), cards=150, due_now=40, logs_per_card=2)

    few = await statements_for(app, client, "/progress/queue?limit=50", small)
    many = await statements_for(app, client, "/progress/queue?limit=50", large)
    assert len(few) == len(many), [sql for sql, _ in many]
    # The learner, the settings, the day's budget, due cards and new cards (each with their
    # words), unseen words: 7 before the cards came with their words.
    assert len(many) <= 6, [sql for sql, _ in many]


@pytest.mark.usefixtures("clock")
async def test_leaderboard_statements_do_not_grow_with_the_group(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    first, first_headers, _ = await user_factory()
    await earn(database, first["id"], 5)
    alone = await statements_for(app, client, "/leaderboard", first_headers)
    for _ in range(12):
        other, _, _ = await user_factory()
        await earn(database, other["id"], 3)
    crowded = await statements_for(app, client, "/leaderboard", first_headers)
    assert len(alone) == len(crowded) <= 6, [sql for sql, _ in crowded]


@pytest.mark.usefixtures("clock")
async def test_feed_and_streak_statements_do_not_grow_with_history(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    reader, headers, _ = await user_factory()
    followed, _, _ = await user_factory()
    await client.post(f"{API}/users/{followed['id']}/follow", headers=headers)
    await execute(
        database,
        at_now(
            "INSERT INTO activities (user_id, kind, reference, data, created_at) "
            "SELECT :u, 'streak_milestone', 'r' || g, '{\"days\": 7}'::jsonb, "
            "{now} - interval '1 hour' * g FROM generate_series(1, :n) g"
        ),
        u=uuid.UUID(followed["id"]),
        n=2,
        now=NOW,
    )
    short_feed = await statements_for(app, client, "/feed", headers)
    short_streak = await statements_for(app, client, "/me/streak?days=365", headers)
    await execute(
        database,
        at_now(
            "INSERT INTO activities (user_id, kind, reference, data, created_at) "
            "SELECT :u, 'streak_milestone', 'more' || g, '{\"days\": 7}'::jsonb, "
            "{now} - interval '1 minute' * g FROM generate_series(1, :n) g"
        ),
        u=uuid.UUID(followed["id"]),
        n=40,
        now=NOW,
    )
    await execute(
        database,
        at_now(
            "INSERT INTO streak_days (user_id, day, kind, timezone, created_at) "
            "SELECT :u, DATE '2026-03-01' - g, 'active', 'UTC', {now} "
            "FROM generate_series(0, 200) g"
        ),
        u=uuid.UUID(reader["id"]),
        now=NOW,
    )
    long_feed = await statements_for(app, client, "/feed", headers)
    long_streak = await statements_for(app, client, "/me/streak?days=365", headers)
    assert len(short_feed) == len(long_feed)
    assert len(long_streak) <= len(short_streak) + 2  # first read settles; then steady
    assert len(await statements_for(app, client, "/me/streak?days=365", headers)) <= len(
        long_streak
    )


@pytest.mark.usefixtures("clock")
async def test_current_user_costs_one_query(
    app: FastAPI, client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory()
    statements = await statements_for(app, client, "/users/me", headers)
    assert len(_queries(statements)) == 1, statements


@pytest.mark.usefixtures("clock")
async def test_review_queue_uses_indexes_on_a_large_database(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed_words(database, 20_000)
    others = [await user_factory() for _ in range(3)]
    for other, _, _ in others:
        await seed_cards(
            database, uuid.UUID(other["id"]), cards=20_000, due_now=500, logs_per_card=0
        )
    learner, headers, _ = await user_factory()
    await seed_cards(database, uuid.UUID(learner["id"]), cards=20_000, due_now=800, logs_per_card=5)
    await analyze(database)

    statements = await statements_for(app, client, "/progress/queue?limit=50", headers)
    assert await assert_no_large_seq_scan(database, statements) >= 3


@pytest.mark.usefixtures("clock")
async def test_leaderboard_and_history_use_indexes_on_a_large_database(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    await seed_league_history(database, weeks=52, learners=600)
    learner, headers, _ = await user_factory()
    await earn(database, learner["id"], 10)
    await analyze(database)

    statements = await statements_for(app, client, "/leaderboard", headers)
    statements += await statements_for(app, client, "/leaderboard/history", headers)
    assert await assert_no_large_seq_scan(database, statements) >= 3


def test_the_plan_walker_finds_nested_sequential_scans() -> None:
    plan = {
        "Node Type": "Limit",
        "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "srs_cards"},
            {"Node Type": "Seq Scan", "Relation Name": "league_memberships"},
            {"Node Type": "Seq Scan", "Relation Name": "shop_items"},
        ],
    }
    sizes = {"srs_cards": 1e6, "league_memberships": 31_200.0, "shop_items": 3.0}
    assert _seq_scans(plan, sizes) == ["league_memberships"]


@pytest.mark.usefixtures("clock")
async def test_a_queue_review_runs_a_fixed_small_number_of_statements(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    """Scheduling, the log, XP, the league, the streak day, achievements and the cache bump."""
    await seed_words(database, 50)
    user, headers, _ = await user_factory()
    await seed_cards(database, uuid.UUID(user["id"]), cards=40, due_now=20, logs_per_card=3)
    queue = (await client.get(f"{API}/progress/queue?limit=20", headers=headers)).json()
    goal = await client.patch(f"{API}/me/goals", headers=headers, json={"daily_xp": 1})
    assert goal.status_code == 200, goal.text
    counts = []
    # The first review of the week also joins a league and reaches the daily goal (gems),
    # the fifth of the day counts it for the streak; the others, before and after, are
    # steady: the goal's gems are not tried again.
    for item in queue[:7]:
        with captured_statements(app) as statements:
            response = await client.post(
                f"{API}/progress/review",
                headers=headers,
                json={"word_id": item["word_id"], "rating": 3},
            )
        assert response.status_code == 200, response.text
        counts.append(len(statements))
    assert counts[1] == counts[2] == counts[3] == counts[5] == counts[6], counts
    # 20 before the card and profile locks were read first; 12 before an award (ledger,
    # boost, total, league week) became one statement; 9 before the card's update and its
    # log became one statement and the achievements reached came with their figures; 8
    # before the learner's SRS settings came with the card's lock
    assert counts[1] <= 7, listing(sql for sql, _ in statements)


@pytest.mark.usefixtures("clock")
async def test_the_first_review_of_a_word_creates_its_card_in_one_statement(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    """A new word from the queue: one lock finds no card, one insert creates it (locked)."""
    await seed_words(database, 20)
    user, headers, _ = await user_factory()
    queue = (await client.get(f"{API}/progress/queue?limit=5", headers=headers)).json()
    assert [item["state"] for item in queue[:3]] == ["new"] * 3
    counts = []
    for item in queue[:3]:  # the first review of the week also joins a league
        with captured_statements(app) as statements:
            response = await client.post(
                f"{API}/progress/review",
                headers=headers,
                json={"word_id": item["word_id"], "rating": 2},
            )
        assert response.status_code == 200 and response.json()["reps"] == 1, response.text
        counts.append(len(statements))
    cards = await scalar(
        database, "SELECT count(*) FROM srs_cards WHERE user_id = :u", u=uuid.UUID(user["id"])
    )
    assert cards == 3
    # Two more than a known card's review (the insert, the settings read on their own),
    # three fewer than before: the word was looked up first and the new card locked again.
    assert counts[1] == counts[2] <= 9, listing(sql for sql, _ in statements)


@pytest.mark.usefixtures("clock")
async def test_finishing_a_lesson_logs_its_words_in_a_few_statements(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    """Practised words are locked, created, scheduled and logged together, not one by one."""
    user, headers, _ = await user_factory()
    played = await play_first_demo_lesson(client, app, database, headers)
    with captured_statements(app) as statements:
        response = await client.post(played.finish_path, headers=headers)
    assert response.status_code == 200 and response.json()["passed"] is True, response.text
    words = await scalar(
        database,
        "SELECT count(*) FROM srs_review_logs WHERE user_id = :u AND source = 'lesson'",
        u=uuid.UUID(user["id"]),
    )
    assert words >= 5
    practised = await scalar(
        database,
        "SELECT count(*) FROM srs_cards WHERE user_id = :u AND reps = 1 AND state <> 'new'",
        u=uuid.UUID(user["id"]),
    )
    assert practised == words  # every word's card was scheduled, not only the first one's
    # Lock the cards, check and create the new ones, lock them, read the settings, insert the
    # logs, update the cards, queue the lesson's words: 7 whatever the number of words (it
    # was about 6 per word). The rest is XP, gems, a league to join, the streak's first day,
    # achievements, the feed and the response: 39 in all (52 before an XP award became one
    # statement and the result reused the first answers and the award it had just made; 43
    # before the attempt's lock brought its lesson, the first answers their words, the
    # feed's insert read the learner's sharing choice itself, and the result took the
    # achievements its own check had just unlocked).
    srs = [
        sql
        for sql, _ in statements
        if ("srs_" in sql or "vocabulary_words" in sql) and "achievements" not in sql
    ]
    assert len(srs) <= 8, listing(srs)
    assert len(statements) <= 39, listing(sql for sql, _ in statements)


@pytest.mark.usefixtures("clock")
async def test_a_failed_lesson_reads_no_xp_award(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    """A finish that earned no XP made no award: neither the award nor the result reads it."""
    _, headers, _ = await user_factory()
    _, _, attempt = await start_first_demo_lesson(client, app, database, headers)
    exercise = attempt["exercises"][0]
    answered = await client.post(
        f"{API}/attempts/{attempt['attempt_id']}/answers",
        headers=headers,
        json={"exercise_id": exercise["id"], "answer": "zzz"},
    )
    assert answered.status_code == 200 and answered.json()["correct"] is False, answered.text
    with captured_statements(app) as statements:
        finished = await client.post(
            f"{API}/attempts/{attempt['attempt_id']}/finish", headers=headers
        )
    assert finished.status_code == 200, finished.text
    assert (finished.json()["passed"], finished.json()["xp_earned"]) == (False, 0)
    ledger = [sql for sql, _ in statements if "xp_ledger" in sql]
    assert ledger == [], listing(ledger)


@pytest.mark.usefixtures("clock")
async def test_an_answer_runs_a_fixed_small_number_of_statements(
    app: FastAPI, client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    """The learner, the attempt's lock with the exercise, the answer with its heart."""
    _, headers, _ = await user_factory()
    _, _, attempt = await start_first_demo_lesson(client, app, database, headers)
    counts = []
    for exercise in attempt["exercises"][:2]:
        with captured_statements(app) as statements:
            response = await client.post(
                f"{API}/attempts/{attempt['attempt_id']}/answers",
                headers=headers,
                json={"exercise_id": exercise["id"], "answer": "not the answer"},
            )
        assert response.status_code == 200 and response.json()["correct"] is False, response.text
        counts.append(len(statements))
    # A wrong answer also takes a heart, in the answer's statement. 6 before the exercise and
    # its earlier answers were read together, 5 before the heart came with the answer, 4
    # before the exercise came with the attempt's lock and the answer counted its own number.
    assert counts == [3, 3], counts
    attempt_id = uuid.UUID(attempt["attempt_id"])
    hearts = await scalar(
        database, "SELECT hearts_left FROM lesson_attempts WHERE id = :a", a=attempt_id
    )
    assert hearts == attempt["hearts"] - 2
    assert response.json()["hearts_left"] == hearts


@pytest.mark.usefixtures("clock")
async def test_a_learners_day_runs_nothing_in_fastapis_thread_pool(
    app: FastAPI,
    client: httpx.AsyncClient,
    database: Database,
    user_factory: UserFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FastAPI runs a plain `def` endpoint or dependency in its thread pool: a thread hop and
    a wake-up of the event loop for each, however small the function. No hot route has one."""
    hops: list[str] = []

    async def recording(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(kwargs.get("function", function), "__qualname__", repr(function)))
        return await run_in_threadpool(function, *args, **kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", recording)
    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", recording)
    await seed_words(database, 10)
    _, headers, _ = await user_factory()
    played = await play_first_demo_lesson(client, app, database, headers)
    assert (await client.post(played.finish_path, headers=headers)).status_code == 200
    queue = (await client.get(f"{API}/progress/queue?limit=5", headers=headers)).json()
    review = {"word_id": queue[0]["word_id"], "rating": 2}
    assert (await client.post(f"{API}/progress/review", headers=headers, json=review)).is_success
    session_id = (await new_session(client, headers))["session"]["id"]
    turn = await say(client, session_id, headers, "Je suis allé au marche hier.")
    assert turn.status_code == 200, turn.text
    for path in ("/analytics/summary", "/leaderboard", "/shop", "/users/me", "/courses"):
        assert (await client.get(f"{API}{path}", headers=headers)).status_code == 200, path
    assert hops == []
