"""Jobs through Celery: `linguo worker` runs enqueued jobs, `linguo beat` keeps its schedule."""

from __future__ import annotations

import asyncio
import os
import shelve
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from linguo.core import jobs
from linguo.core.db import Database, utcnow
from linguo.core.jobs import CeleryJobBackend
from linguo.models.identity import RefreshToken, User
from tests.conftest import TEST_SECRET, make_settings, running_app, scalar

if TYPE_CHECKING:
    from tests.conftest import TestServers

pytestmark = pytest.mark.slow

LINGUO = [sys.executable, "-m", "linguo.cli"]


def _env(**values: str) -> dict[str, str]:
    """The test process's environment without any LINGUO_* variable, plus `values`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINGUO_")}
    env.update(values)
    return env


def _server_env(servers: TestServers, data_dir: Path) -> dict[str, str]:
    return _env(
        LINGUO_ENV="test",
        LINGUO_DATABASE_URL=servers.database_url,
        LINGUO_REDIS_URL=servers.redis_url,
        LINGUO_SECRET_KEY=TEST_SECRET,
        LINGUO_DATA_DIR=str(data_dir),
        LINGUO_LOG_LEVEL="INFO",
    )


@contextmanager
def _spawn(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `linguo ARGS` for the block; stop it and every process it started afterwards."""
    log = cwd / f"{args[0]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*LINGUO, *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        leftovers = _stop(process)
        assert leftovers == [], f"processes left behind: {leftovers}\n{log.read_text()}"


def _stop(process: subprocess.Popen[bytes]) -> list[int]:
    """SIGTERM the process (a clean shutdown), SIGKILL its session if that is not enough."""
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    _, alive = psutil.wait_procs(descendants, timeout=10)
    for leftover in alive:
        leftover.kill()
    return [leftover.pid for leftover in alive]


def _output(cwd: Path, name: str) -> str:
    path = cwd / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


async def _insert_tokens(database: Database) -> tuple[list[uuid.UUID], uuid.UUID]:
    """A user with two stale refresh tokens and one live one; returns (stale ids, live id)."""
    now = utcnow()
    async with database.session() as session:
        user = User(email="worker@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        stale = [
            RefreshToken(
                user_id=user.id,
                family_id=uuid.uuid4(),
                token_hash=uuid.uuid4().hex,
                expires_at=now - timedelta(days=30),
            ),
            RefreshToken(
                user_id=user.id,
                family_id=uuid.uuid4(),
                token_hash=uuid.uuid4().hex,
                expires_at=now + timedelta(days=5),
                revoked_at=now - timedelta(days=30),
            ),
        ]
        live = RefreshToken(
            user_id=user.id,
            family_id=uuid.uuid4(),
            token_hash=uuid.uuid4().hex,
            expires_at=now + timedelta(days=30),
        )
        session.add_all([*stale, live])
        await session.flush()
        return [token.id for token in stale], live.id


async def test_worker_runs_an_enqueued_job(
    servers: TestServers, database: Database, tmp_path: Path
) -> None:
    stale_ids, live_id = await _insert_tokens(database)
    previous_backend = jobs._backend
    settings = make_settings(servers, redis_url=servers.redis_url)

    with _spawn(["worker", "--concurrency", "1"], _server_env(servers, tmp_path), tmp_path) as w:
        try:
            async with running_app(settings) as app:
                assert app.state.job_runner is None
                assert isinstance(jobs._backend, CeleryJobBackend)
                await jobs.enqueue("identity.purge_stale_refresh_tokens")
        finally:
            jobs.set_backend(previous_backend)

        deadline = time.monotonic() + 30
        remaining = len(stale_ids)
        while time.monotonic() < deadline:
            assert w.poll() is None, f"the worker exited:\n{_output(tmp_path, 'worker')}"
            remaining = await scalar(
                database, "SELECT count(*) FROM refresh_tokens WHERE id = ANY(:ids)", ids=stale_ids
            )
            if remaining == 0:
                break
            await asyncio.sleep(0.2)
        assert remaining == 0, f"stale tokens not purged:\n{_output(tmp_path, 'worker')}"
        assert await scalar(database, "SELECT count(*) FROM refresh_tokens") == 1
        assert (
            await scalar(database, "SELECT count(*) FROM refresh_tokens WHERE id = :id", id=live_id)
            == 1
        )
    # The worker shut down cleanly on SIGTERM.
    assert w.returncode == 0, _output(tmp_path, "worker")


async def test_beat_starts_and_writes_its_schedule(servers: TestServers, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with _spawn(["beat"], _server_env(servers, data_dir), tmp_path) as beat:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not list(data_dir.glob("celerybeat-schedule*")):
            assert beat.poll() is None, f"beat exited:\n{_output(tmp_path, 'beat')}"
            await asyncio.sleep(0.1)
        assert list(data_dir.glob("celerybeat-schedule*")), _output(tmp_path, "beat")
        # Give beat a moment to finish writing before asking it to stop.
        await asyncio.sleep(0.5)
        assert beat.poll() is None, f"beat exited:\n{_output(tmp_path, 'beat')}"
    assert beat.returncode is not None

    # Our own beat just wrote this file.
    with shelve.open(str(data_dir / "celerybeat-schedule"), flag="r") as stored:  # noqa: S301
        entries = stored["entries"]
    assert "identity.purge_stale_refresh_tokens" in entries


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_command_without_redis_exits_with_one_clear_line(
    servers: TestServers, tmp_path: Path, command: str
) -> None:
    env = _env(
        LINGUO_ENV="test",
        LINGUO_DATABASE_URL=servers.database_url,
        LINGUO_SECRET_KEY=TEST_SECRET,
        LINGUO_DATA_DIR=str(tmp_path / "data"),
    )
    result = subprocess.run(
        [*LINGUO, command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"linguo: LINGUO_REDIS_URL is required for `linguo {command}`"]
    assert result.stdout == ""
