"""Migrations: upgrade -> downgrade to base -> upgrade, and the models match the migrations."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import linguo.models  # noqa: F401 - registers every table
from linguo.core import migrations
from linguo.core.db import Base, async_database_url
from tests.conftest import TestServers, create_database


def _schema(url: str) -> tuple[set[str], set[str]]:
    async def read() -> tuple[set[str], set[str]]:
        conn = await asyncpg.connect(url)
        try:
            tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            types = await conn.fetch(
                "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND t.typtype = 'e'"
            )
        finally:
            await conn.close()
        return {row["tablename"] for row in tables}, {row["typname"] for row in types}

    return asyncio.run(read())


def test_upgrade_downgrade_upgrade_round_trip(servers: TestServers) -> None:
    url = create_database(servers.postgres_admin_url, "linguo_migrations_round_trip")
    model_tables = {table.name for table in Base.metadata.sorted_tables}

    migrations.upgrade(url)
    tables, enums = _schema(url)
    assert model_tables <= tables
    assert {"user_role", "user_plan", "device_platform"} <= enums

    migrations.downgrade(url, "base")
    tables, enums = _schema(url)
    assert tables <= {"alembic_version"}
    assert enums == set()

    migrations.upgrade(url)
    tables, _ = _schema(url)
    assert model_tables <= tables


def test_models_and_migrations_agree(servers: TestServers) -> None:
    url = create_database(servers.postgres_admin_url, "linguo_migrations_drift")
    migrations.upgrade(url)

    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))

    async def run() -> list[Any]:
        engine = create_async_engine(async_database_url(url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    diff = asyncio.run(run())
    assert diff == [], f"models differ from migrations: {diff}"
