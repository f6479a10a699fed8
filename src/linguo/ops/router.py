"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from sqlalchemy import text

from linguo.core.db import Database
from linguo.core.errors import ErrorCode, error_response, error_responses
from linguo.core.metrics import render_latest

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    """Liveness or readiness status."""

    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process is up and serving."""
    return Health(status="ok")


class SchemaBehind(Exception):
    """The database is not migrated to the revision this code expects."""


async def _check_database(database: Database, expected_heads: set[str]) -> None:
    async with database.engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        applied: set[str] = set()
        if exists:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            applied = {row[0] for row in rows}
    if applied != expected_heads:
        raise SchemaBehind()


@router.get("/readyz", response_model=Health, responses=error_responses(503))
async def readyz(request: Request) -> Health | Response:
    """Readiness: the database is reachable and migrated to this code's schema, and Redis
    (when configured) answers; each within 2 seconds."""
    checks: dict[str, str] = {}
    probes = {"database": _check_database(request.app.state.db, request.app.state.schema_heads)}
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        probes["redis"] = redis.ping()
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe, READINESS_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except SchemaBehind:
            checks[name] = "not migrated to this version: run `linguo migrate`"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    if any(value != "ok" for value in checks.values()):
        return error_response(
            503, ErrorCode.NOT_READY, "A dependency is unavailable.", details={"checks": checks}
        )
    return Health(status="ready", checks=checks)


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(render_latest(), media_type=CONTENT_TYPE_LATEST)
