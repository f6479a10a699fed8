"""CPU per request of each route of a learner's day, in-process: where the server's time goes.

`make bench-routes` runs `python -m bench.routes`. It starts PostgreSQL and Redis like the
tests (tests/services.py), migrates, loads the demo data, and starts the app in this process
with the production settings of `make bench` (Redis for cache and rate limits, PostgreSQL
over its Unix socket). Then `--learners` learners sign up and go through the scenario of
bench/locustfile.py one request at a time, `--rounds` times: the review queue and five
reviews, a lesson (start, answers, finish), three tutor messages, the analytics summary, the
leaderboard, the shop, the account.

Each request is timed twice: the CPU time of this process (the app, the database driver and
the in-process HTTP client: `GET /healthz` shows the floor the framework and client cost)
and the wall time (adding the database's and Redis's work and the round trips). No other
request runs at the same time, so the figures are the cost of one request, not queueing.
With `--profile ROUTE`, cProfile records that route's requests and prints the functions with
the most own time and the Linguo functions with the most time including their callees.

The CPU cost is what decides how many learners a core carries: a load test at N learners
needs about N / 2 requests per second (1-3 s of thinking between requests).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import secrets
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench.scenario import LEARNER_MESSAGES, RATINGS, guess_answer
from fastapi import FastAPI
from tests.services import PostgresServer, RedisServer

RESULTS_DIR = Path(__file__).resolve().parent / "results"
API = "/api/v1"
PASSWORD = secrets.token_urlsafe(12)


@asynccontextmanager
async def served_app(database_url: str, redis_url: str) -> AsyncIterator[FastAPI]:
    """The app started in this process (lifespan entered) with production-like settings."""
    from linguo.app import create_app
    from linguo.config import Settings

    settings = Settings(
        env="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
        scheduler_enabled=False,
        rate_limit_ip="1000000/minute",
        rate_limit_user="1000000/minute",
        rate_limit_auth="1000000/minute",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


class Timer:
    """CPU and wall milliseconds of each request, by route."""

    def __init__(self, client: httpx.AsyncClient, profiled_route: str | None = None):
        self.client = client
        self.cpu_ms: dict[str, list[float]] = defaultdict(list)
        self.wall_ms: dict[str, list[float]] = defaultdict(list)
        self.profiled_route = profiled_route
        self.profiler = cProfile.Profile()
        self.measuring = False

    async def call(
        self,
        route: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        token: str | None = None,
        body: Any = None,
    ) -> Any:
        """One request to `path` (from the root); timings kept under `route` if it succeeds."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        profiled = self.measuring and route == self.profiled_route
        if profiled:
            self.profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        response = await self.client.request(method, path, headers=headers, json=body)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiled:
            self.profiler.disable()
        if response.status_code not in expect:
            if response.status_code == 409:
                return None  # out of hearts, lesson locked: the scenario moves on
            raise RuntimeError(f"{route}: {response.status_code} {response.text[:200]}")
        self.cpu_ms[route].append(cpu * 1000)
        self.wall_ms[route].append(wall * 1000)
        return response.json() if response.content else None


class Learner:
    """One learner going through the day of bench/locustfile.py, without thinking."""

    def __init__(self, timer: Timer, index: int):
        self.timer = timer
        self.email = f"routes-{index}-{uuid.uuid4().hex[:6]}@bench.linguo.dev"
        self.token = ""
        self.course_id: str | None = None
        self.remembered: dict[str, str] = {}

    async def sign_up(self) -> None:
        """Register and log in (both hash a password)."""
        body = {"email": self.email, "password": PASSWORD, "target_language": "fr"}
        await self.timer.call(
            "POST /auth/register", "POST", f"{API}/auth/register", body=body, expect=(201,)
        )
        tokens = await self.timer.call(
            "POST /auth/login",
            "POST",
            f"{API}/auth/login",
            body={"email": self.email, "password": PASSWORD},
        )
        self.token = tokens["access_token"]

    async def get(self, route: str, path: str) -> Any:
        return await self.timer.call(route, "GET", f"{API}{path}", token=self.token)

    async def post(self, route: str, path: str, body: Any = None, expect: int = 200) -> Any:
        return await self.timer.call(
            route, "POST", f"{API}{path}", token=self.token, body=body, expect=(expect,)
        )

    async def review_words(self) -> None:
        """The review queue and up to five reviews."""
        queue = await self.get("GET /progress/queue", "/progress/queue?limit=5")
        for item in queue[:5]:
            if item.get("word_id") is not None:
                body = {"word_id": item["word_id"], "rating": random.choices(*RATINGS)[0]}
                await self.post("POST /progress/review", "/progress/review", body)

    async def play_lesson(self) -> None:
        """Course list, course, a lesson played to the end."""
        courses = await self.get("GET /courses", "/courses?language=fr")
        self.course_id = self.course_id or courses[0]["id"]
        course = await self.get("GET /courses/{id}", f"/courses/{self.course_id}")
        lessons = [lesson for unit in course["units"] for lesson in unit["lessons"]]
        playable = [lesson for lesson in lessons if lesson["status"] == "available"] or [
            lesson for lesson in lessons if lesson["status"] == "passed"
        ]
        if not playable:
            return
        attempt = await self.post(
            "POST /lessons/{id}/start", f"/lessons/{playable[0]['id']}/start", expect=201
        )
        if attempt is None:
            return
        for exercise in attempt["exercises"]:
            result = await self.post(
                "POST /attempts/{id}/answers",
                f"/attempts/{attempt['attempt_id']}/answers",
                {"exercise_id": exercise["id"], "answer": guess_answer(exercise, self.remembered)},
            )
            if result is None:
                break
            if not result["correct"]:
                self.remembered[exercise["id"]] = result["expected"]
        await self.post("POST /attempts/{id}/finish", f"/attempts/{attempt['attempt_id']}/finish")

    async def talk(self) -> None:
        """A tutor session of three messages, then completed."""
        created = await self.post(
            "POST /sessions",
            "/sessions",
            {"planned_duration_minutes": 10, "topic": "daily life"},
            expect=201,
        )
        session_id = created["session"]["id"]
        for content in random.sample(LEARNER_MESSAGES["fr"], 3):
            await self.post(
                "POST /sessions/{id}/messages",
                f"/sessions/{session_id}/messages",
                {"content": content},
            )
        await self.timer.call(
            "PATCH /sessions/{id}",
            "PATCH",
            f"{API}/sessions/{session_id}",
            token=self.token,
            body={"status": "completed"},
        )

    async def day(self) -> None:
        """Every task of the scenario once."""
        await self.get("GET /users/me", "/users/me")
        await self.review_words()
        await self.play_lesson()
        await self.talk()
        await self.get("GET /analytics/summary", "/analytics/summary")
        await self.get("GET /leaderboard", "/leaderboard")
        await self.get("GET /shop", "/shop")


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 2),
        "mean": round(statistics.fmean(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers and the app, run the learners, return the figures."""
    from linguo.core import migrations
    from linguo.seed import SEEDERS, run_seeders

    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    try:
        await asyncio.to_thread(migrations.upgrade, postgres.url)
        await run_seeders(postgres.url, SEEDERS)
        async with served_app(postgres.socket_url, redis.url) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                timer = Timer(client, args.profile)
                learners = [Learner(timer, index) for index in range(args.learners)]
                for learner in learners:
                    await learner.sign_up()
                for _ in range(3):  # warm up: analysers, caches, prepared statements
                    await learners[0].day()
                    await timer.call("GET /healthz", "GET", "/healthz")
                timer.cpu_ms.clear()
                timer.wall_ms.clear()
                timer.measuring = True
                for _ in range(args.rounds):
                    for learner in learners:
                        await learner.day()
                        for _ in range(5):
                            await timer.call("GET /healthz", "GET", "/healthz")
                if args.profile:
                    _print_profile(timer.profiler, args.profile)
                return {
                    route: {
                        "requests": len(timer.cpu_ms[route]),
                        "cpu_ms": _summary(timer.cpu_ms[route]),
                        "wall_ms": _summary(timer.wall_ms[route]),
                    }
                    for route in sorted(timer.cpu_ms)
                }
    finally:
        redis.stop()
        postgres.stop()


def _print_profile(profiler: cProfile.Profile, route: str) -> None:
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime")
    print(f"\n{route}: functions by own time (cProfile)")
    stats.print_stats(30)
    print(f"\n{route}: Linguo functions by time with callees")
    stats.sort_stats("cumtime")
    stats.print_stats(r"linguo/|fastapi|starlette|pydantic|httpx|sqlalchemy/(orm/session|ext)", 60)
    RESULTS_DIR.mkdir(exist_ok=True)
    dump = RESULTS_DIR / f"profile-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.pstats"
    profiler.dump_stats(dump)
    print(f"profile for pstats (callers, callees): {dump}")


def print_table(figures: dict[str, Any]) -> None:
    """One row per route, costliest first."""
    print(f"\n{'route':<32}{'reqs':>6}{'cpu med':>9}{'cpu mean':>10}{'cpu p95':>9}{'wall med':>10}")
    for route, row in sorted(figures.items(), key=lambda item: -item[1]["cpu_ms"]["mean"]):
        cpu, wall = row["cpu_ms"], row["wall_ms"]
        print(
            f"{route:<32}{row['requests']:>6}{cpu['median']:>9.2f}{cpu['mean']:>10.2f}"
            f"{cpu['p95']:>9.2f}{wall['median']:>10.2f}"
        )
    print("(milliseconds per request, one request at a time)")


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write bench/results/routes-<time>.json."""
    parser = argparse.ArgumentParser(description="CPU per request of the learner routes")
    parser.add_argument("--learners", type=int, default=10, help="learners (10)")
    parser.add_argument("--rounds", type=int, default=3, help="days each learner plays (3)")
    parser.add_argument(
        "--profile", metavar="ROUTE", help='cProfile one route, e.g. "POST /progress/review"'
    )
    args = parser.parse_args(argv)
    if args.learners < 1 or args.rounds < 1:
        parser.error("--learners and --rounds must be positive")
    from linguo.core.logging import configure_logging

    configure_logging("WARNING", json=False)
    random.seed(7)
    figures = asyncio.run(run(args))
    print_table(figures)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"routes-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
