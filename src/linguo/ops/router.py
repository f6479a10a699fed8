"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from linguo.core.db import Database
from linguo.core.errors import ErrorCode, error_response, error_responses
from linguo.core.metrics import registry

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


async def _check_database(database: Database) -> None:
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@router.get("/readyz", response_model=Health, responses=error_responses(503))
async def readyz(request: Request) -> Health | Response:
    """Readiness: the database (and Redis when configured) answer within 2 seconds."""
    checks: dict[str, str] = {}
    probes = {"database": _check_database(request.app.state.db)}
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        probes["redis"] = redis.ping()
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe, READINESS_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    if any(value != "ok" for value in checks.values()):
        return error_response(
            200, ErrorCode.NOT_READY, "A dependency is unavailable.", details={"checks": checks}
        )
    return Health(status="ready", checks=checks)


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
