"""Background jobs in-process: deferred until commit, dropped on rollback, periodic scheduling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from celery.schedules import schedule
from fastapi import FastAPI, Request
from sqlalchemy import select, text

from linguo.app import create_app
from linguo.config import Settings
from linguo.core import jobs
from linguo.core.cache import MemoryCache
from linguo.core.db import Database
from linguo.core.deps import DbSession
from linguo.core.errors import AppError, BadRequest, ErrorCode
from linguo.core.jobs import InProcessJobRunner, JobContext, JobFunc, deferred_jobs, enqueue
from linguo.models.identity import User
from tests.conftest import client_for

if TYPE_CHECKING:
    from tests.conftest import TestServers


class JobFailed(Exception):
    pass


class KeptRefusal(AppError):
    """A refusal whose transaction is committed anyway."""

    status_code = 409
    code = ErrorCode.CONFLICT
    commit_transaction = True


class Registrar:
    """Registers test jobs in the module-global registry and removes them afterwards."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str, func: JobFunc, **options: Any) -> None:
        jobs.job(name, **options)(func)
        self.names.append(name)


@pytest.fixture
def registrar() -> Iterator[Registrar]:
    added = Registrar()
    yield added
    for name in added.names:
        jobs.registry.pop(name, None)


@pytest.fixture(autouse=True)
def _restore_backend() -> Iterator[None]:
    """Tests install their own backend; the process-wide one is put back afterwards."""
    previous = jobs._backend
    yield
    jobs.set_backend(previous)


@pytest.fixture
def recorded(registrar: Registrar) -> list[dict[str, Any]]:
    """Calls of the job `tests.record`, which also notes whether the named user is committed."""
    calls: list[dict[str, Any]] = []

    async def record(ctx: JobContext, **kwargs: Any) -> str:
        entry = dict(kwargs)
        if "email" in kwargs:
            async with ctx.db.session() as session:
                found = await session.execute(select(User.id).where(User.email == kwargs["email"]))
                entry["user_committed"] = found.scalar_one_or_none() is not None
        calls.append(entry)
        return "recorded"

    registrar.add("tests.record", record)
    return calls


@pytest.fixture
async def runner(settings: Settings, database: Database) -> AsyncIterator[InProcessJobRunner]:
    """A started in-process runner (no scheduler) installed as the job backend."""
    job_runner = InProcessJobRunner(
        JobContext(settings=settings, db=database, cache=MemoryCache()), scheduler=False
    )
    await job_runner.start()
    jobs.set_backend(job_runner)
    yield job_runner
    await job_runner.stop()


async def _wait_for(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


# --- enqueue and the unit of work -------------------------------------------------------


async def test_enqueue_outside_a_unit_of_work_sends_at_once(
    runner: InProcessJobRunner, recorded: list[dict[str, Any]]
) -> None:
    await enqueue("tests.record", n=1)
    await runner.drain()
    assert recorded == [{"n": 1}]


async def test_enqueue_inside_deferred_jobs_waits_for_send(
    runner: InProcessJobRunner, recorded: list[dict[str, Any]]
) -> None:
    async with deferred_jobs() as batch:
        await enqueue("tests.record", n=1)
        await enqueue("tests.record", n=2)
        await asyncio.sleep(0.05)
        await runner.drain()
        assert recorded == []
        assert runner.queue.qsize() == 0
    # Leaving the block does not send either: only send() does.
    await runner.drain()
    assert recorded == []

    await batch.send()
    await runner.drain()
    assert sorted(entry["n"] for entry in recorded) == [1, 2]

    # A batch is sent once.
    await batch.send()
    await runner.drain()
    assert len(recorded) == 2


async def test_discarded_batch_sends_nothing(
    runner: InProcessJobRunner, recorded: list[dict[str, Any]]
) -> None:
    async with deferred_jobs() as batch:
        await enqueue("tests.record", n=1)
    batch.discard()
    await batch.send()
    await runner.drain()
    assert recorded == []


async def test_enqueue_after_the_block_is_not_deferred(
    runner: InProcessJobRunner, recorded: list[dict[str, Any]]
) -> None:
    async with deferred_jobs() as batch:
        await enqueue("tests.record", n=1)
    await enqueue("tests.record", n=2)
    await runner.drain()
    assert recorded == [{"n": 2}]
    assert len(batch.jobs) == 1


async def test_nested_units_of_work_keep_their_own_jobs(
    runner: InProcessJobRunner, recorded: list[dict[str, Any]]
) -> None:
    async with deferred_jobs() as outer:
        await enqueue("tests.record", n="outer")
        async with deferred_jobs() as inner:
            await enqueue("tests.record", n="inner")
        inner.discard()
        await enqueue("tests.record", n="outer-again")
    await outer.send()
    await runner.drain()
    assert sorted(entry["n"] for entry in recorded) == ["outer", "outer-again"]


async def test_enqueue_unknown_job_raises_key_error(runner: InProcessJobRunner) -> None:
    with pytest.raises(KeyError, match=r"tests\.nope"):
        await enqueue("tests.nope")
    # Refused inside a unit of work too, at enqueue time rather than after the commit.
    async with deferred_jobs() as batch:
        with pytest.raises(KeyError):
            await enqueue("tests.nope")
    assert batch.jobs == []


async def test_enqueue_without_a_backend_raises(recorded: list[dict[str, Any]]) -> None:
    jobs.set_backend(None)
    with pytest.raises(RuntimeError, match="no job backend"):
        await enqueue("tests.record")
    # After a commit a failure to send is logged, never raised into the caller.
    async with deferred_jobs() as batch:
        await enqueue("tests.record")
    await batch.send()
    assert batch.jobs == []


def test_registering_another_function_under_a_taken_name_fails(registrar: Registrar) -> None:
    async def first(ctx: JobContext) -> None:
        return None

    async def second(ctx: JobContext) -> None:
        return None

    registrar.add("tests.taken", first)
    registrar.add("tests.taken", first)  # re-registering the same function is harmless
    with pytest.raises(ValueError, match="registered twice"):
        jobs.job("tests.taken")(second)
    assert jobs.registry["tests.taken"].func is first


def test_domain_jobs_are_registered() -> None:
    specs = jobs.load_task_modules()
    spec = specs["identity.purge_stale_refresh_tokens"]
    assert spec.schedule is not None


# --- the in-process runner ----------------------------------------------------------------


async def test_failing_job_does_not_kill_the_runner(
    settings: Settings,
    database: Database,
    registrar: Registrar,
    recorded: list[dict[str, Any]],
) -> None:
    async def fail(ctx: JobContext) -> None:
        raise JobFailed("job broke")

    registrar.add("tests.fail", fail)
    single = InProcessJobRunner(
        JobContext(settings=settings, db=database, cache=MemoryCache()),
        concurrency=1,
        scheduler=False,
    )
    await single.start()
    jobs.set_backend(single)
    try:
        await enqueue("tests.fail")
        await enqueue("tests.fail")
        await enqueue("tests.record", n="after")
        await asyncio.wait_for(single.drain(), timeout=5)
        assert recorded == [{"n": "after"}]
    finally:
        await single.stop()


async def test_run_job_propagates_failure(runner: InProcessJobRunner, registrar: Registrar) -> None:
    async def fail(ctx: JobContext, reason: str) -> None:
        raise JobFailed(reason)

    registrar.add("tests.fail", fail)
    with pytest.raises(JobFailed, match="because"):
        await jobs.run_job(runner.ctx, "tests.fail", {"reason": "because"})


async def test_run_job_returns_the_result_and_passes_the_context(
    runner: InProcessJobRunner, registrar: Registrar
) -> None:
    async def remember(ctx: JobContext, key: str, value: int) -> int:
        await ctx.cache.set(key, value, 60)
        return value * 2

    registrar.add("tests.remember", remember)
    assert await jobs.run_job(runner.ctx, "tests.remember", {"key": "k", "value": 21}) == 42
    assert await runner.ctx.cache.get("k") == 21


async def test_jobs_enqueued_by_a_job_are_sent_after_it_succeeds(
    runner: InProcessJobRunner, registrar: Registrar, recorded: list[dict[str, Any]]
) -> None:
    async def chain(ctx: JobContext, fail: bool) -> None:
        await enqueue("tests.record", n="child")
        await asyncio.sleep(0.05)
        # The child is held back while its parent runs.
        assert recorded == []
        if fail:
            raise JobFailed("parent failed")

    registrar.add("tests.chain", chain)
    await enqueue("tests.chain", fail=True)
    await runner.drain()
    assert recorded == []

    await enqueue("tests.chain", fail=False)
    await runner.drain()
    assert recorded == [{"n": "child"}]


async def test_runner_runs_jobs_concurrently(
    settings: Settings, database: Database, registrar: Registrar
) -> None:
    both_started = asyncio.Barrier(2)
    finished: list[str] = []

    async def meet(ctx: JobContext, name: str) -> None:
        await asyncio.wait_for(both_started.wait(), timeout=2)
        finished.append(name)

    registrar.add("tests.meet", meet)
    pair = InProcessJobRunner(
        JobContext(settings=settings, db=database, cache=MemoryCache()),
        concurrency=2,
        scheduler=False,
    )
    await pair.start()
    try:
        await pair.send("tests.meet", {"name": "a"})
        await pair.send("tests.meet", {"name": "b"})
        await asyncio.wait_for(pair.drain(), timeout=5)
        assert sorted(finished) == ["a", "b"]
    finally:
        await pair.stop()


async def test_stop_finishes_queued_jobs(
    settings: Settings, database: Database, registrar: Registrar
) -> None:
    done: list[int] = []

    async def slow(ctx: JobContext, n: int) -> None:
        await asyncio.sleep(0.05)
        done.append(n)

    registrar.add("tests.slow", slow)
    runner = InProcessJobRunner(
        JobContext(settings=settings, db=database, cache=MemoryCache()),
        concurrency=1,
        scheduler=False,
    )
    await runner.start()
    for n in range(4):
        await runner.send("tests.slow", {"n": n})
    await runner.stop()
    assert done == [0, 1, 2, 3]
    assert runner._tasks == []


# --- through HTTP: the request's transaction decides ------------------------------------


@pytest.fixture
async def job_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app with a test route that inserts a user, enqueues a job, then ends as told."""
    app = create_app(settings)

    async def signup(
        request: Request, session: DbSession, email: str, outcome: str = "ok", flush: bool = True
    ) -> dict[str, Any]:
        session.add(User(email=email, password_hash="x"))
        if flush:
            await session.flush()
        await enqueue("tests.record", email=email)
        queued = request.app.state.job_runner.queue.qsize()
        if outcome == "refuse":
            raise BadRequest("refused on purpose")
        if outcome == "refuse_but_keep":
            raise KeptRefusal("kept on purpose")
        if outcome == "crash":
            raise RuntimeError("crashed on purpose")
        return {"queued_during_request": queued}

    app.add_api_route("/test/signup", signup, methods=["POST"])
    async with app.router.lifespan_context(app):
        yield app


async def _user_exists(database: Database, email: str) -> bool:
    async with database.session() as session:
        found = await session.execute(select(User.id).where(User.email == email))
        return found.scalar_one_or_none() is not None


async def test_job_enqueued_by_a_request_runs_after_its_commit(
    job_app: FastAPI, database: Database, recorded: list[dict[str, Any]]
) -> None:
    async with client_for(job_app) as http:
        response = await http.post("/test/signup", params={"email": "ok@example.com"})
    assert response.status_code == 200, response.text
    # Nothing was sent while the request was running.
    assert response.json() == {"queued_during_request": 0}

    await job_app.state.job_runner.drain()
    assert recorded == [{"email": "ok@example.com", "user_committed": True}]
    assert await _user_exists(database, "ok@example.com")


@pytest.mark.parametrize(("outcome", "status"), [("refuse", 400), ("crash", 500)])
async def test_failed_request_rolls_back_and_drops_its_jobs(
    job_app: FastAPI,
    database: Database,
    recorded: list[dict[str, Any]],
    outcome: str,
    status: int,
) -> None:
    async with client_for(job_app) as http:
        response = await http.post(
            "/test/signup", params={"email": "no@example.com", "outcome": outcome}
        )
    assert response.status_code == status, response.text

    await asyncio.sleep(0.05)
    await job_app.state.job_runner.drain()
    assert recorded == []
    assert not await _user_exists(database, "no@example.com")


async def test_refusal_that_commits_also_sends_its_jobs(
    job_app: FastAPI, database: Database, recorded: list[dict[str, Any]]
) -> None:
    async with client_for(job_app) as http:
        response = await http.post(
            "/test/signup", params={"email": "kept@example.com", "outcome": "refuse_but_keep"}
        )
    assert response.status_code == 409, response.text
    assert response.json()["error"]["message"] == "kept on purpose"

    await job_app.state.job_runner.drain()
    assert recorded == [{"email": "kept@example.com", "user_committed": True}]
    assert await _user_exists(database, "kept@example.com")


async def test_failed_commit_drops_the_requests_jobs(
    job_app: FastAPI, database: Database, recorded: list[dict[str, Any]]
) -> None:
    async with database.session() as session:
        session.add(User(email="taken@example.com", password_hash="x"))

    async with client_for(job_app) as http:
        # Not flushed by the route: the unique index on lower(email) fails the commit itself.
        response = await http.post(
            "/test/signup", params={"email": "TAKEN@example.com", "flush": False}
        )
    assert response.status_code == 500, response.text

    await job_app.state.job_runner.drain()
    assert recorded == []


# --- periodic jobs in-process ---------------------------------------------------------------


ADVISORY_LOCKS_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass
class TwoSchedulers:
    """Two runners on separate engines (separate PostgreSQL sessions, like two processes)."""

    first: InProcessJobRunner
    second: InProcessJobRunner
    ticks: list[JobContext]

    def ran_on(self, runner: InProcessJobRunner) -> int:
        return sum(ctx is runner.ctx for ctx in self.ticks)


@pytest.fixture
async def two_schedulers(
    settings: Settings, servers: TestServers, registrar: Registrar
) -> AsyncIterator[TwoSchedulers]:
    ticks: list[JobContext] = []

    async def tick(ctx: JobContext) -> None:
        ticks.append(ctx)

    registrar.add("tests.tick", tick, schedule=schedule(timedelta(seconds=1)))
    db_a, db_b = Database(servers.database_url), Database(servers.database_url)
    first = InProcessJobRunner(JobContext(settings=settings, db=db_a, cache=MemoryCache()))
    second = InProcessJobRunner(JobContext(settings=settings, db=db_b, cache=MemoryCache()))
    try:
        yield TwoSchedulers(first, second, ticks)
    finally:
        await first.stop()
        await second.stop()
        await db_a.dispose()
        await db_b.dispose()


async def test_scheduler_runs_periodic_jobs_only_on_the_lock_holder(
    two_schedulers: TwoSchedulers,
) -> None:
    first, second, ticks = two_schedulers.first, two_schedulers.second, two_schedulers.ticks
    await first.start()
    assert await _wait_for(lambda: len(ticks) >= 1, within=5), "the scheduler never ran"
    await second.start()  # tries the lock at once, then only every 30 s
    before = two_schedulers.ran_on(first)
    assert await _wait_for(lambda: two_schedulers.ran_on(first) >= before + 2, within=5), (
        "it ran only once"
    )
    assert two_schedulers.ran_on(second) == 0
    async with first.ctx.db.session() as session:
        assert (await session.execute(text(ADVISORY_LOCKS_HELD))).scalar() == 1


async def test_stopped_scheduler_hands_over_at_once(two_schedulers: TwoSchedulers) -> None:
    first, second, ticks = two_schedulers.first, two_schedulers.second, two_schedulers.ticks
    await first.start()
    assert await _wait_for(lambda: len(ticks) >= 1, within=5), "the scheduler never ran"
    # The first stops while its engine (and pooled connections) stay alive.
    await first.stop()
    count = len(ticks)
    await asyncio.sleep(1.2)
    assert len(ticks) == count, "a stopped runner kept scheduling"

    await second.start()
    assert await _wait_for(lambda: two_schedulers.ran_on(second) > 0, within=3), (
        "the advisory lock was not released when the first scheduler stopped"
    )


async def test_scheduler_disabled_schedules_nothing(
    settings: Settings, database: Database, registrar: Registrar
) -> None:
    ticks: list[JobContext] = []

    async def tick(ctx: JobContext) -> None:
        ticks.append(ctx)

    registrar.add("tests.tick", tick, schedule=schedule(timedelta(seconds=1)))
    quiet = InProcessJobRunner(
        JobContext(settings=settings, db=database, cache=MemoryCache()), scheduler=False
    )
    await quiet.start()
    try:
        await asyncio.sleep(1.3)
        assert ticks == []
    finally:
        await quiet.stop()
