"""Test setup: real PostgreSQL and Redis servers for the run, the app, and an HTTP client.

Servers come from `tests/services.py` (Debian packages), or from LINGUO_TEST_DATABASE_URL
and LINGUO_TEST_REDIS_URL when those point at servers you already run. One database is
created and migrated per run; every test starts from empty tables and an empty Redis.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text, update

from linguo.app import create_app
from linguo.config import Settings
from linguo.core import migrations
from linguo.core.db import Base, Database, utcnow
from linguo.models.identity import Role, User
from tests.services import PostgresServer, RedisServer

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
PASSWORD = "correct horse battery"
# Data fetched from elsewhere lives in ../shared beside the repository (never copied in).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPANISH_COURSE = SHARED_DATA / "librelingo" / "spanish-from-english"
# Media files the test apps store (lesson audio), kept out of the repository's data dir.
MEDIA_DIR = Path(tempfile.mkdtemp(prefix="linguo-test-media-"))
atexit.register(shutil.rmtree, MEDIA_DIR, ignore_errors=True)


@dataclass(frozen=True)
class TestServers:
    """Where the run's servers listen."""

    __test__ = False  # not a test class, whatever its name

    postgres_admin_url: str
    database_url: str
    redis_url: str


def create_database(admin_url: str, name: str) -> str:
    """(Re)create an empty database on the server; returns its URL."""

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def servers() -> Iterator[TestServers]:
    """PostgreSQL and Redis for the whole run, stopped at the end."""
    started: list[PostgresServer | RedisServer] = []
    admin_url = os.environ.get("LINGUO_TEST_DATABASE_URL")
    redis_url = os.environ.get("LINGUO_TEST_REDIS_URL")
    try:
        if not admin_url:
            postgres = PostgresServer()
            postgres.start()
            started.append(postgres)
            admin_url = postgres.url
        if not redis_url:
            redis = RedisServer()
            redis.start()
            started.append(redis)
            redis_url = redis.url
        name = f"linguo_test_{os.getpid()}"
        database_url = create_database(admin_url, name)
        migrations.upgrade(database_url)
        yield TestServers(
            postgres_admin_url=admin_url, database_url=database_url, redis_url=redis_url
        )
    finally:
        for server in reversed(started):
            server.stop()


def make_settings(servers: TestServers, **overrides: Any) -> Settings:
    """Settings for a test app; rate limits are high unless a test lowers them."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": servers.database_url,
        "redis_url": None,
        "secret_key": TEST_SECRET,
        "rate_limit_ip": "10000/minute",
        "rate_limit_user": "10000/minute",
        "rate_limit_auth": "10000/minute",
        "scheduler_enabled": False,
        "log_json": True,
        "log_level": "WARNING",
        "media_dir": MEDIA_DIR,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """A fully started app (lifespan entered) for the block."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", **kwargs)


@pytest.fixture(scope="session")
def settings(servers: TestServers) -> Settings:
    """The default test settings: real PostgreSQL, in-process cache and jobs."""
    return make_settings(servers)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app shared by most tests."""
    async with running_app(settings) as application:
        yield application


@pytest.fixture(scope="session")
async def database(servers: TestServers) -> AsyncIterator[Database]:
    """Direct database access for arranging and checking state."""
    db = Database(servers.database_url)
    yield db
    await db.dispose()


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest, servers: TestServers) -> AsyncIterator[None]:
    """Every test starts with empty tables, an empty Redis and fresh rate-limit counters."""
    yield
    conn = await asyncpg.connect(servers.database_url)
    try:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    redis = Redis.from_url(servers.redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    if "app" in request.fixturenames:
        application: FastAPI = request.getfixturevalue("app")
        await application.state.rate_limiter.reset()
        await application.state.cache.delete_prefix("")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the shared app."""
    async with client_for(app) as http:
        yield http


async def register(
    client: httpx.AsyncClient, email: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Register a learner and return the created user."""
    body = {"email": email or f"learner-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
    body.update(fields)
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in and return the token pair."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """Authorization header for a token pair."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


UserFactory = Callable[..., Awaitable[tuple[dict[str, Any], dict[str, str], dict[str, Any]]]]


@pytest.fixture
def user_factory(client: httpx.AsyncClient, database: Database) -> UserFactory:
    """Create a user (optionally with a role) and return (user, auth headers, tokens)."""

    async def make(
        role: Role = Role.STUDENT, **fields: Any
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
        user = await register(client, **fields)
        if role is not Role.STUDENT:
            async with database.session() as session:
                await session.execute(
                    update(User).where(User.id == uuid.UUID(user["id"])).values(role=role)
                )
        tokens = await login(client, user["email"])
        return user, bearer(tokens), tokens

    return make


async def scalar(database: Database, sql: str, **params: Any) -> Any:
    """Run one SQL query and return its single value."""
    async with database.session() as session:
        return (await session.execute(text(sql), params)).scalar()


async def execute(database: Database, sql: str, **params: Any) -> None:
    """Run one SQL statement that returns no rows, committed."""
    async with database.session() as session:
        await session.execute(text(sql), params)


class Clock:
    """A clock the app reads instead of the real time; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's keyword arguments (days=1, hours=3...)."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    """Freeze the shared app's time at Monday 2026-03-02 12:00 UTC for this test."""
    fake = Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    app.state.clock = fake
    yield fake
    app.state.clock = utcnow


@pytest.fixture
async def demo_vocabulary(database: Database) -> dict[tuple[str, str], int]:
    """Load the demo French vocabulary and packs; returns word ids by (lemma, part of speech)."""
    from linguo.models.vocabulary import VocabularyWord
    from linguo.vocabulary.demo import seed_demo_vocabulary

    async with database.session() as session:
        await seed_demo_vocabulary(session)
    async with database.session() as session:
        rows = await session.execute(
            sqlalchemy.select(
                VocabularyWord.lemma, VocabularyWord.part_of_speech, VocabularyWord.id
            )
        )
        return {(lemma, pos.value): word_id for lemma, pos, word_id in rows}


@dataclass(frozen=True)
class PlayedLesson:
    """The demo course's first lesson, started and answered right, not finished yet."""

    course_id: uuid.UUID
    lesson_id: str
    attempt_id: str
    exercise_count: int

    @property
    def finish_path(self) -> str:
        """Where to POST to finish it."""
        return f"/api/v1/attempts/{self.attempt_id}/finish"


async def import_demo_course(app: FastAPI, database: Database) -> uuid.UUID:
    """Import the demo French course (without recording audio); returns its id."""
    from linguo.content.importer import import_course
    from linguo.content.librelingo import DEMO_COURSE_PATH, load_course
    from linguo.content.media import storage_from_settings

    async with database.session() as session:
        report = await import_course(
            session,
            load_course(DEMO_COURSE_PATH),
            storage=storage_from_settings(app.state.settings),
            tts=None,
        )
    return report.course_id


async def start_first_demo_lesson(
    client: httpx.AsyncClient, app: FastAPI, database: Database, headers: dict[str, str]
) -> tuple[uuid.UUID, str, dict[str, Any]]:
    """Import the demo course and start its first lesson: (course id, lesson id, attempt)."""
    course_id = await import_demo_course(app, database)
    course = (await client.get(f"/api/v1/courses/{course_id}", headers=headers)).json()
    lesson_id = course["units"][0]["lessons"][0]["id"]
    started = await client.post(f"/api/v1/lessons/{lesson_id}/start", headers=headers)
    assert started.status_code == 201, started.text
    return course_id, lesson_id, dict(started.json())


async def play_first_demo_lesson(
    client: httpx.AsyncClient, app: FastAPI, database: Database, headers: dict[str, str]
) -> PlayedLesson:
    """Import the demo course, start its first lesson and answer every exercise right."""
    course_id, lesson_id, attempt = await start_first_demo_lesson(client, app, database, headers)
    async with database.session() as session:
        rows = await session.execute(
            text("SELECT id::text, answers FROM exercises WHERE id::text = ANY(:ids)"),
            {"ids": [exercise["id"] for exercise in attempt["exercises"]]},
        )
        answers = {exercise_id: list(accepted) for exercise_id, accepted in rows.all()}
    for exercise in attempt["exercises"]:
        answered = await client.post(
            f"/api/v1/attempts/{attempt['attempt_id']}/answers",
            headers=headers,
            json={"exercise_id": exercise["id"], "answer": answers[exercise["id"]][0]},
        )
        assert answered.json()["correct"] is True, answered.text
    return PlayedLesson(
        course_id=course_id,
        lesson_id=lesson_id,
        attempt_id=attempt["attempt_id"],
        exercise_count=len(attempt["exercises"]),
    )
