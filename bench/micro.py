"""Microbenchmarks of the hot paths, timed in-process (server-side, no HTTP).

`make bench-micro` runs `python -m bench.micro`; each figure is printed as median, p95 and
operations per second, with the issue's target where it sets one:

- answers:     `check_answer` on a typical sentence (exact, with slips, wrong); target median
               < 1 ms for the sentence with slips;
- analysis:    the offline analysers on a 30-word learner message in English, French and
               Spanish (first call, which loads the models, shown apart); target p95 < 100 ms;
- queue:       `srs.service.build_queue` (what GET /progress/queue runs) for a learner with
               20,000 cards and 100,000 review logs; target p95 < 20 ms;
- leaderboard: `gamification.leagues.leaderboard` for a learner in a full league of 30;
- analytics:   `analytics.service.summary` for a learner with a year of history, built
               (cache miss) and from the cache.

The database parts start a throwaway PostgreSQL like the tests do (tests/services.py), load
the demo content, and create the data with set-based INSERT ... SELECT generate_series.

Run: .venv/bin/python -m bench.micro [--only answers,analysis,queue,leaderboard,analytics]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text
from tests.services import PostgresServer

from linguo.config import Settings
from linguo.core.cache import Cache, MemoryCache
from linguo.core.db import Database
from linguo.core.logging import configure_logging

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CARDS = 20_000
REVIEW_LOGS = 100_000
LEAGUE_SIZE = 30
HISTORY_DAYS = 365


@dataclass
class Figure:
    """Timings of one benchmark, in milliseconds."""

    name: str
    samples: list[float]
    target: str = ""
    meets_target: bool | None = None

    @property
    def median_ms(self) -> float:
        """The median."""
        return statistics.median(self.samples)

    @property
    def p95_ms(self) -> float:
        """The 95th percentile (nearest rank)."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]

    @property
    def ops_per_s(self) -> float:
        """Calls per second, one at a time."""
        return 1000 * len(self.samples) / sum(self.samples)

    def row(self) -> str:
        """One line of the table."""
        verdict = ""
        if self.meets_target is not None:
            verdict = f"{self.target} {'ok' if self.meets_target else 'MISSED'}"
        return (
            f"{self.name:<50}{self.median_ms:>10.3f}{self.p95_ms:>10.3f}"
            f"{self.ops_per_s:>11.0f}{len(self.samples):>7}  {verdict}"
        )

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return {
            "name": self.name,
            "median_ms": round(self.median_ms, 4),
            "p95_ms": round(self.p95_ms, 4),
            "ops_per_s": round(self.ops_per_s, 1),
            "calls": len(self.samples),
            "target": self.target or None,
            "meets_target": self.meets_target,
        }


def time_calls(call: Callable[[], object], count: int, warm_up: int = 3) -> list[float]:
    """Milliseconds of `count` calls, after `warm_up` untimed ones."""
    for _ in range(warm_up):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def time_async_calls(
    call: Callable[[], Awaitable[object]], count: int, warm_up: int = 3
) -> list[float]:
    """Milliseconds of `count` awaited calls, after `warm_up` untimed ones."""
    for _ in range(warm_up):
        await call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def print_table(figures: Iterable[Figure]) -> None:
    """The results table."""
    print(f"\n{'benchmark':<50}{'median ms':>10}{'p95 ms':>10}{'ops/s':>11}{'calls':>7}")
    for figure in figures:
        print(figure.row())


# --- answers and analysis (no database) --------------------------------------------------------


def bench_answers() -> list[Figure]:
    """check_answer on a typical sentence: exactly right, with slips, wrong."""
    from linguo.language.answers import check_answer

    accepted = [
        "Je voudrais un café au lait, s'il vous plaît.",
        "J'aimerais un café au lait, s'il vous plaît.",
        "Je veux un café au lait, s'il te plaît.",
    ]
    cases = [
        ("exact", "je voudrais un café au lait s'il vous plaît"),
        ("with slips", "Je voudrai un cafe au lait sil vous plait"),
        ("wrong", "Je voudrais une thé avec du lait merci"),
    ]
    figures = []
    for label, answer in cases:
        samples = time_calls(partial(check_answer, answer, accepted, "fr"), 3000)
        figure = Figure(f"check_answer, fr sentence, {label}", samples)
        if label == "with slips":
            figure.target = "median<1ms"
            figure.meets_target = figure.median_ms < 1.0
        figures.append(figure)
    return figures


# 30-word learner messages with typical mistakes.
LEARNER_TEXTS = {
    "en": (
        "Yesterday I goed to the market with my friend and we buyed many apple. She say that "
        "the fruits is more cheap there than in the supermarket near our house."
    ),
    "fr": (
        "Hier je suis allé au marché avec mon amie et nous avons acheter des pommes. Elle dit "
        "que les fruits est moins cher là-bas que dans le supermarché du quartier."
    ),
    "es": (
        "Ayer yo fui al mercado con mi amiga y compramos muchas manzana. Ella dice que las "
        "frutas es más barato allí que en el supermercado cerca de nuestra casa nueva."
    ),
}


def bench_analysis() -> list[Figure]:
    """The offline analysers on a 30-word message per language."""
    from linguo.language.analysis import analyse

    figures = []
    for language, message in LEARNER_TEXTS.items():
        started = time.perf_counter()
        result = analyse(message, language, "en")
        first_ms = (time.perf_counter() - started) * 1000
        words = len(message.split())
        samples = time_calls(partial(analyse, message, language, "en"), 200)
        figure = Figure(
            f"analyse {language}, {words} words ({len(result.errors)} errors found)",
            samples,
            target="p95<100ms",
        )
        figure.meets_target = figure.p95_ms < 100
        figures.append(figure)
        print(f"analyse {language}: first call (loads the models) {first_ms:.0f} ms")
    return figures


# --- database ----------------------------------------------------------------------------------


async def execute(database: Database, sql: str, **params: Any) -> None:
    """One statement in its own transaction."""
    async with database.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def create_learner(database: Database, email: str, now: datetime) -> uuid.UUID:
    """A French learner in Paris who joined a year ago."""
    user_id = uuid.uuid4()
    await execute(
        database,
        "INSERT INTO users (id, email, password_hash, full_name, role, plan, native_language, "
        "target_language, proficiency_level, timezone, total_xp, current_streak, "
        "longest_streak, created_at, updated_at) VALUES (:id, :email, '-', 'Bench Learner', "
        "'student', 'free', 'en', 'fr', 'A2', 'Europe/Paris', 0, 0, 0, "
        "CAST(:joined AS timestamptz), CAST(:now AS timestamptz))",
        id=user_id,
        email=email,
        joined=now - timedelta(days=HISTORY_DAYS),
        now=now,
    )
    return user_id


async def seed_cards(database: Database, user_id: uuid.UUID, now: datetime) -> None:
    """CARDS French words, a card for each (some due, most not), REVIEW_LOGS reviews."""
    await execute(
        database,
        "INSERT INTO vocabulary_words (language, word, lemma, part_of_speech, translations, "
        "frequency_rank) SELECT 'fr', 'bench-mot-' || g, 'bench-mot-' || g, 'noun', "
        '\'{"en": ["word"]}\'::jsonb, 100000 + g FROM generate_series(1, :n) g',
        n=CARDS,
    )
    # States: 2% new, 3% learning, 90% review, 5% relearning; 5% of them due now, most
    # overdue by a few hours to weeks, the rest due over the coming months.
    await execute(
        database,
        "INSERT INTO srs_cards (id, user_id, word_id, state, step, stability, difficulty, due, "
        "last_review, reps, lapses, origin, created_at, updated_at) "
        "SELECT gen_random_uuid(), :user_id, w.id, "
        "CAST(CASE WHEN w.n % 50 = 0 THEN 'new' WHEN w.n % 33 = 0 THEN 'learning' "
        "WHEN w.n % 20 = 0 THEN 'relearning' ELSE 'review' END AS card_state), "
        "CASE WHEN w.n % 33 = 0 OR w.n % 20 = 0 THEN 0 END, "
        "CASE WHEN w.n % 50 = 0 THEN NULL ELSE 1 + (w.n % 120) END, "
        "CASE WHEN w.n % 50 = 0 THEN NULL ELSE 3 + (w.n % 7) END, "
        "CASE WHEN w.n % 20 = 1 THEN CAST(:now AS timestamptz) - interval '1 hour' * (w.n % 500) "
        "ELSE CAST(:now AS timestamptz) + interval '1 hour' * (1 + w.n % 2000) END, "
        "CASE WHEN w.n % 50 = 0 THEN NULL "
        "ELSE CAST(:now AS timestamptz) - interval '1 hour' * (24 + w.n % 8000) END, "
        "CASE WHEN w.n % 50 = 0 THEN 0 ELSE 5 END, w.n % 3, 'review', "
        "CAST(:now AS timestamptz) - interval '360 days', CAST(:now AS timestamptz) "
        "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM vocabulary_words "
        "WHERE word LIKE 'bench-mot-%') w",
        user_id=user_id,
        now=now,
    )
    # Six reviews per reviewed card, cut at REVIEW_LOGS, spread over the past year.
    await execute(
        database,
        "INSERT INTO srs_review_logs (card_id, user_id, rating, source, reviewed_at, "
        "duration_ms, state_before, state_after, stability_before, stability_after, "
        "difficulty_before, difficulty_after, due_before, due_after) "
        "SELECT c.id, c.user_id, CASE WHEN g % 7 = 0 THEN 0 ELSE 2 END, 'queue', "
        "CAST(:now AS timestamptz) - interval '1 minute' * (hashtext(c.id::text || g) & 524287), "
        "6000, 'review', 'review', 4, 5, 5, 5, CAST(:now AS timestamptz), "
        "CAST(:now AS timestamptz) FROM srs_cards c, generate_series(1, 6) g "
        "WHERE c.user_id = :user_id AND c.state <> 'new' LIMIT :logs",
        user_id=user_id,
        logs=REVIEW_LOGS,
        now=now,
    )


async def seed_history(database: Database, user_id: uuid.UUID, now: datetime) -> None:
    """A year of daily practice: 2 lessons (15 answers each), a conversation, XP, streak."""
    await execute(
        database,
        "INSERT INTO lesson_attempts (id, user_id, lesson_id, course_id, "
        "lesson_content_version, exercise_ids, hearts_start, hearts_left, started_at, "
        "finished_at, score, passed, xp_earned, time_spent_ms) "
        "SELECT gen_random_uuid(), :user_id, l.id, l.course_id, 1, ARRAY[]::uuid[], 5, 3, "
        "CAST(:now AS timestamptz) - interval '1 day' * d - interval '10 minutes' * k, "
        "CAST(:now AS timestamptz) - interval '1 day' * d - interval '10 minutes' * k "
        "+ interval '6 minutes', 0.8, true, 10, 360000 "
        "FROM generate_series(1, :days) d, generate_series(1, 2) k, "
        "LATERAL (SELECT id, course_id FROM lessons ORDER BY id LIMIT 1) l",
        user_id=user_id,
        days=HISTORY_DAYS,
        now=now,
    )
    await execute(
        database,
        "INSERT INTO question_attempts (attempt_id, exercise_id, answer, correct, typo, "
        "used_hint, time_spent_ms, attempt_number, answered_at) "
        "SELECT a.id, e.id, 'réponse', q % 5 <> 0, false, false, 8000, 1, "
        "a.started_at + interval '20 seconds' * q FROM lesson_attempts a, "
        "generate_series(1, 15) q, LATERAL (SELECT id FROM exercises ORDER BY id LIMIT 1) e "
        "WHERE a.user_id = :user_id",
        user_id=user_id,
    )
    await execute(
        database,
        "INSERT INTO conversation_sessions (id, user_id, status, conversation_style, topic, "
        "language, native_language, level, planned_duration_minutes, started_at, "
        "last_activity_at, ended_at, turn_count, error_free_turns, error_count, xp_earned, "
        "created_at, updated_at) SELECT gen_random_uuid(), :user_id, 'completed', 'tutor', "
        "'daily life', 'fr', 'en', 'A2', 10, "
        "CAST(:now AS timestamptz) - interval '1 day' * d + interval '2 hours', "
        "CAST(:now AS timestamptz) - interval '1 day' * d + interval '2 hours 9 minutes', "
        "CAST(:now AS timestamptz) - interval '1 day' * d + interval '2 hours 10 minutes', "
        "6, 4, 3, 15, CAST(:now AS timestamptz) - interval '1 day' * d, "
        "CAST(:now AS timestamptz) - interval '1 day' * d FROM generate_series(1, :days) d",
        user_id=user_id,
        days=HISTORY_DAYS,
        now=now,
    )
    await execute(
        database,
        "INSERT INTO xp_ledger (user_id, source, reference, base_amount, multiplier, amount, "
        "local_date, created_at) SELECT :user_id, 'lesson', 'bench-' || d || '-' || k, 10, 1, "
        "10, CAST((CAST(:now AS timestamptz) - interval '1 day' * d) AT TIME ZONE "
        "'Europe/Paris' AS date), CAST(:now AS timestamptz) - interval '1 day' * d "
        "FROM generate_series(1, :days) d, generate_series(1, 5) k",
        user_id=user_id,
        days=HISTORY_DAYS,
        now=now,
    )
    await execute(
        database,
        "INSERT INTO streak_days (user_id, day, kind, timezone, created_at) "
        "SELECT :user_id, CAST((CAST(:now AS timestamptz) - interval '1 day' * d) AT TIME ZONE "
        "'Europe/Paris' AS date), 'active', 'Europe/Paris', now() "
        "FROM generate_series(1, :days) d",
        user_id=user_id,
        days=HISTORY_DAYS,
        now=now,
    )
    await execute(
        database,
        "UPDATE users SET total_xp = :xp, current_streak = :days, longest_streak = :days "
        "WHERE id = :user_id",
        user_id=user_id,
        xp=HISTORY_DAYS * 50,
        days=HISTORY_DAYS,
    )


async def seed_league(database: Database, user_id: uuid.UUID, now: datetime) -> None:
    """This week's league group: the learner and 29 others, all with XP."""
    from linguo.gamification.leagues import week_start

    week = week_start(now)
    group_id = uuid.uuid4()
    await execute(
        database,
        "INSERT INTO users (id, email, password_hash, full_name, role, plan, native_language, "
        "target_language, proficiency_level, timezone) SELECT gen_random_uuid(), "
        "'league-' || g || '@bench.linguo.dev', '-', 'Rival ' || g, 'student', 'free', 'en', "
        "'fr', 'A1', 'UTC' FROM generate_series(1, :n) g",
        n=LEAGUE_SIZE - 1,
    )
    await execute(
        database,
        "INSERT INTO league_groups (id, week_start, tier, number, member_count, is_open, "
        "created_at) VALUES (:group_id, :week, 0, 1, :size, false, now())",
        group_id=group_id,
        week=week,
        size=LEAGUE_SIZE,
    )
    await execute(
        database,
        "INSERT INTO league_memberships (user_id, week_start, group_id, tier, xp, "
        "xp_reached_at, joined_at) SELECT id, :week, :group_id, 0, "
        "(abs(hashtext(id::text)) % 500) + 1, now(), now() FROM users "
        "WHERE email LIKE 'league-%' OR id = :user_id",
        week=week,
        group_id=group_id,
        user_id=user_id,
    )


class NoCache:
    """A cache that never hits: times the analytics figures as built."""

    async def get(self, key: str) -> Any | None:
        """Always a miss."""
        return None

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        """Forget it."""

    async def delete(self, key: str) -> None:
        """Nothing to delete."""

    async def delete_prefix(self, prefix: str) -> int:
        """Nothing to delete."""
        return 0

    async def close(self) -> None:
        """Nothing to close."""


async def bench_database(only: set[str], calls: int) -> list[Figure]:
    """The queue, leaderboard and analytics benchmarks against a seeded PostgreSQL."""
    from linguo.analytics import service as analytics
    from linguo.core import migrations
    from linguo.gamification import leagues
    from linguo.models.identity import User
    from linguo.seed import SEEDERS, run_seeders
    from linguo.srs import service as srs

    server = PostgresServer()
    print(f"starting PostgreSQL on port {server.port}", file=sys.stderr)
    server.start()
    database: Database | None = None
    try:
        url = server.url
        await asyncio.to_thread(migrations.upgrade, url)
        await run_seeders(url, SEEDERS)  # the demo course: lessons for the lesson history
        database = Database(url)
        now = datetime.now(UTC)
        user_id = await create_learner(database, "heavy@bench.linguo.dev", now)
        print("seeding 20,000 cards, 100,000 review logs, a year of history", file=sys.stderr)
        started = time.perf_counter()
        await seed_cards(database, user_id, now)
        await seed_history(database, user_id, now)
        await seed_league(database, user_id, now)
        async with database.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            counts = (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM srs_cards WHERE user_id = :u), "
                        "(SELECT count(*) FROM srs_review_logs WHERE user_id = :u)"
                    ),
                    {"u": user_id},
                )
            ).one()
        print(
            f"seeded in {time.perf_counter() - started:.1f}s: {counts[0]} cards, "
            f"{counts[1]} review logs",
            file=sys.stderr,
        )
        settings = Settings()
        sessionmaker = database.sessionmaker
        figures = []

        async def in_request(work: Callable[[Any, User], Awaitable[object]]) -> None:
            # Like one request: a session, the user loaded, the work, then rolled back.
            async with sessionmaker() as session:
                user = await session.get(User, user_id)
                assert user is not None
                await work(session, user)
                await session.rollback()

        if "queue" in only:

            async def queue(session: Any, user: User) -> None:
                entries = await srs.build_queue(
                    session, user, settings, limit=20, include_flashcards=False, now=now
                )
                assert entries, "the queue should not be empty"

            figure = Figure(
                f"build_queue (limit 20), {CARDS} cards, {REVIEW_LOGS} logs",
                await time_async_calls(lambda: in_request(queue), calls),
                target="p95<20ms",
            )
            figure.meets_target = figure.p95_ms < 20
            figures.append(figure)

        if "leaderboard" in only:

            async def board(session: Any, user: User) -> None:
                result = await leagues.leaderboard(session, user.id, now)
                assert len(result.entries) == LEAGUE_SIZE

            figures.append(
                Figure(
                    f"leaderboard, full league of {LEAGUE_SIZE}",
                    await time_async_calls(lambda: in_request(board), calls),
                )
            )

        if "analytics" in only:
            no_cache: Cache = NoCache()
            memory: Cache = MemoryCache()

            async def summary_built(session: Any, user: User) -> None:
                await analytics.summary(session, no_cache, user, now)

            async def summary_cached(session: Any, user: User) -> None:
                await analytics.summary(session, memory, user, now)

            figures.append(
                Figure(
                    "analytics summary, a year of history, built",
                    await time_async_calls(lambda: in_request(summary_built), calls),
                )
            )
            figures.append(
                Figure(
                    "analytics summary, a year of history, cached",
                    await time_async_calls(lambda: in_request(summary_cached), calls),
                )
            )
        return figures
    finally:
        if database is not None:
            await database.dispose()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print the table, write bench/results/micro-<time>.json."""
    names = ("answers", "analysis", "queue", "leaderboard", "analytics")
    parser = argparse.ArgumentParser(description="Linguo microbenchmarks")
    parser.add_argument(
        "--only", default=",".join(names), help=f"comma-separated subset of {', '.join(names)}"
    )
    parser.add_argument("--calls", type=int, default=200, help="timed calls per database figure")
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=False)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    figures: list[Figure] = []
    if "answers" in only:
        figures += bench_answers()
    if "analysis" in only:
        figures += bench_analysis()
    if only & {"queue", "leaderboard", "analytics"}:
        figures += asyncio.run(bench_database(only, args.calls))
    print_table(figures)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"micro-{stamp}.json"
    path.write_text(json.dumps([figure.as_dict() for figure in figures], indent=2) + "\n")
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
