"""The `linguo` command: configuration errors, createadmin, serve on the embedded database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from linguo.core.db import Database
from linguo.gamification.achievements import CATALOGUE as ACHIEVEMENTS
from linguo.gamification.shop import CATALOGUE as SHOP_CATALOGUE
from tests.conftest import TEST_SECRET, TestServers, create_database, scalar

LINGUO = [sys.executable, "-m", "linguo.cli"]


def _env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINGUO_")}
    env.update(values)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LINGUO, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LINGUO_PORT", "eighty", "LINGUO_PORT"),
        (
            "LINGUO_DATABASE_URL",
            "mysql://db/linguo",
            "LINGUO_DATABASE_URL: must be a postgresql:// URL",
        ),
        ("LINGUO_ACCESS_TOKEN_MINUTES", "5", "LINGUO_ACCESS_TOKEN_MINUTES"),
        ("LINGUO_RATE_LIMIT_AUTH", "lots", "LINGUO_RATE_LIMIT_AUTH"),
    ],
)
def test_an_invalid_setting_fails_with_one_clear_line(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    result = _run(["migrate"], _env(**{variable: value}), tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("linguo: invalid configuration:")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    result = _run(["migrate"], _env(LINGUO_ENV="production"), tmp_path)
    assert result.returncode == 2
    assert "LINGUO_SECRET_KEY is required" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LINGUO_PORT=not-a-port\n")
    result = _run(["migrate"], _env(), tmp_path)
    assert result.returncode == 2 and "LINGUO_PORT" in result.stderr


def test_migrate_loads_the_reference_data_once(tmp_path: Path, servers: TestServers) -> None:
    url = create_database(servers.postgres_admin_url, "linguo_cli_reference_data")
    env = _env(LINGUO_DATABASE_URL=url, LINGUO_SECRET_KEY=TEST_SECRET)
    for _ in range(2):  # a second run finds everything in place and changes nothing
        result = _run(["migrate"], env, tmp_path)
        assert result.returncode == 0, result.stderr

    async def counts() -> tuple[int, int, int]:
        database = Database(url)
        try:
            return (
                await scalar(database, "SELECT count(*) FROM shop_items"),
                await scalar(database, "SELECT count(*) FROM achievements"),
                await scalar(database, "SELECT count(*) FROM users"),
            )
        finally:
            await database.dispose()

    shop_items, achievements, users = asyncio.run(counts())
    assert shop_items == len(SHOP_CATALOGUE) and achievements == len(ACHIEVEMENTS)
    assert users == 0  # demo accounts come only with `linguo seed`


async def test_createadmin_creates_an_admin_who_can_list_users(
    tmp_path: Path, servers: TestServers, database: Database, client: httpx.AsyncClient
) -> None:
    env = _env(LINGUO_DATABASE_URL=servers.database_url, LINGUO_SECRET_KEY=TEST_SECRET)
    result = _run(
        ["createadmin", "--email", "root@example.com"],
        {**env, "LINGUO_ADMIN_PASSWORD": "admin password 1"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "admin root@example.com ready" in result.stdout
    assert (
        await scalar(database, "SELECT role::text FROM users WHERE email = 'root@example.com'")
        == "admin"
    )

    tokens = (
        await client.post(
            "/api/v1/auth/login", json={"email": "root@example.com", "password": "admin password 1"}
        )
    ).json()
    listed = await client.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert listed.status_code == 200 and listed.json()["total"] == 1

    short = _run(
        ["createadmin", "--email", "x@example.com"],
        {**env, "LINGUO_ADMIN_PASSWORD": "short"},
        tmp_path,
    )
    assert short.returncode == 2 and "8 to 128" in short.stderr
    assert await scalar(database, "SELECT count(*) FROM users") == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[str], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"linguo serve exited with {process.returncode}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("linguo serve did not become ready")


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@pytest.fixture
def serve_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """Environment for `linguo serve` with no database configured and a fresh data dir."""
    data_dir = tmp_path / "data"
    yield _env(LINGUO_DATA_DIR=str(data_dir), LINGUO_LOG_JSON="false"), data_dir


@pytest.mark.slow
def test_serve_starts_the_embedded_database_reuses_it_and_stops_it(
    serve_env: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, data_dir = serve_env
    pgdata = data_dir / "postgres"
    email = "embedded@example.com"

    def start() -> tuple[subprocess.Popen[str], int]:
        port = _free_port()
        process = subprocess.Popen(
            [*LINGUO, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        return process, port

    def stop(process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGTERM)
        process.wait(60)

    process, port = start()
    try:
        ready = _wait_ready(port, process)
        assert ready.json()["checks"] == {"database": "ok"}
        registered = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/register",
            json={"email": email, "password": "embedded password"},
        )
        assert registered.status_code == 201
        postmaster = _postmaster_pid(pgdata)
    finally:
        stop(process)
    assert process.returncode == 128 + signal.SIGTERM
    assert (
        not psutil.pid_exists(postmaster)
        or psutil.Process(postmaster).status() == psutil.STATUS_ZOMBIE
    )
    assert "database system is shut down" in (pgdata / "log").read_text()
    assert not (pgdata / "postmaster.pid").exists()
    assert (data_dir / "secret_key").exists()

    process, port = start()
    try:
        _wait_ready(port, process)
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"email": email, "password": "embedded password"},
        )
        assert login.status_code == 200, "the second start must reuse the first start's data"
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/users/me",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert me.json()["email"] == email
    finally:
        stop(process)
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


@pytest.mark.slow
def test_metrics_add_up_across_worker_processes(tmp_path: Path, servers: TestServers) -> None:
    port = _free_port()
    env = _env(
        LINGUO_DATABASE_URL=servers.database_url,
        LINGUO_SECRET_KEY=TEST_SECRET,
        LINGUO_DATA_DIR=str(tmp_path / "data"),
        LINGUO_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [*LINGUO, "serve", "--port", str(port), "--workers", "2", "--no-migrate"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_ready(port, process)
        base = f"http://127.0.0.1:{port}"
        requests = 30
        for _ in range(requests):
            # A new connection each time, so that both workers answer some of them.
            assert httpx.get(f"{base}/api/v1/users/me").status_code == 401
        sample = 'linguo_http_requests_total{method="GET",route="/api/v1/users/me",status="401"}'
        for _ in range(6):
            text = httpx.get(f"{base}/metrics").text
            line = next(line for line in text.splitlines() if line.startswith(sample))
            assert float(line.rsplit(" ", 1)[1]) == requests
            assert "linguo_db_pool_size" in text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert process.returncode in (0, 128 + signal.SIGTERM)  # a clean stop
