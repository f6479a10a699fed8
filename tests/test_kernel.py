"""The HTTP kernel: error envelope, request ids, rate limits, middleware, ops routes, logs."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update

from linguo.app import SERVING_GC_THRESHOLDS, create_app, create_served_app
from linguo.core import metrics, migrations
from linguo.core.db import Database
from linguo.language.analysis import Analyser, default_analyser
from linguo.models.identity import Role, User
from tests.conftest import (
    PASSWORD,
    bearer,
    client_for,
    create_database,
    login,
    make_settings,
    register,
    running_app,
)

if TYPE_CHECKING:
    from tests.conftest import TestServers

REQUEST_ID_FORMAT = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
CLOSED_PORT_DATABASE = "postgresql://postgres@127.0.0.1:1/nope"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the response is the error envelope with `code`; return its `error` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


@asynccontextmanager
async def app_and_client(
    servers: TestServers, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A separately configured, started app and a client for it."""
    async with running_app(make_settings(servers, **overrides)) as app, client_for(app) as http:
        yield app, http


def client_from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    """A client whose requests come from another address than the default one."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def metric_value(metrics_text: str, sample: str) -> float:
    """The value of one exact sample line (`name{labels}`) in Prometheus text, 0 when absent."""
    for line in metrics_text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


# --- The error envelope --------------------------------------------------------------------


async def test_validation_error_envelope_names_field_and_hides_password(
    client: httpx.AsyncClient,
) -> None:
    secret = "xQ7"
    response = await client.post(
        "/api/v1/auth/register", json={"email": "short-pw@example.com", "password": secret}
    )
    error = assert_envelope(response, 422, "validation_error")
    assert isinstance(error["details"], list)
    assert ["body", "password"] in [item["loc"] for item in error["details"]]
    assert secret not in response.text


async def test_malformed_json_body_is_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b'{"email": "x@example.com", "password": ',
        headers={"Content-Type": "application/json"},
    )
    assert_envelope(response, 422, "validation_error")


async def test_query_parameter_out_of_range_is_validation_error(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register(client)
    async with database.session() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(admin["id"])).values(role=Role.ADMIN)
        )
    headers = bearer(await login(client, admin["email"]))

    ok = await client.get("/api/v1/users", params={"limit": 100}, headers=headers)
    assert ok.status_code == 200, ok.text
    response = await client.get("/api/v1/users", params={"limit": 101}, headers=headers)
    error = assert_envelope(response, 422, "validation_error")
    assert ["query", "limit"] in [item["loc"] for item in error["details"]]
    response = await client.get("/api/v1/users", params={"offset": -1}, headers=headers)
    assert_envelope(response, 422, "validation_error")


@pytest.mark.parametrize("path", ["/api/v1/no-such-route", "/no-such-route"])
async def test_unknown_route_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    assert_envelope(await client.get(path), 404, "not_found")


async def test_wrong_method_is_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]
    response = await client.get("/api/v1/auth/login")
    assert_envelope(response, 405, "method_not_allowed")


async def test_app_error_uses_its_own_status_and_code(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/v1/auth/register", json={"email": user["email"], "password": PASSWORD}
    )
    assert_envelope(response, 409, "email_taken")


async def test_unauthenticated_is_enveloped_with_www_authenticate(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/users/me")
    assert_envelope(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unhandled_exception_is_internal_error_without_details(
    servers: TestServers,
) -> None:
    app = create_app(make_settings(servers))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    async with app.router.lifespan_context(app), client_for(app) as http:
        before = metric_value(
            await scrape(http),
            'linguo_http_requests_total{method="GET",route="/boom",status="500"}',
        )
        response = await http.get("/boom", headers={"X-Request-ID": "boom-request-1"})
        error = assert_envelope(response, 500, "internal_error")
        assert error["request_id"] == "boom-request-1"
        assert error["details"] is None
        assert "secret detail" not in response.text
        assert "RuntimeError" not in response.text
        assert "Traceback" not in response.text
        after = metric_value(
            await scrape(http),
            'linguo_http_requests_total{method="GET",route="/boom",status="500"}',
        )
        assert after == before + 1


# --- X-Request-ID --------------------------------------------------------------------------


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    ok = await client.get("/healthz")
    failed = await client.get("/api/v1/users/me")
    for response in (ok, failed):
        assert REQUEST_ID_FORMAT.match(response.headers["x-request-id"])
    assert ok.headers["x-request-id"] != failed.headers["x-request-id"]
    assert_envelope(failed, 401, "not_authenticated")


async def test_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    request_id = "client-Id_1.2:3"
    ok = await client.get("/healthz", headers={"X-Request-ID": request_id})
    assert ok.headers["x-request-id"] == request_id
    failed = await client.get("/api/v1/users/me", headers={"X-Request-ID": request_id})
    assert failed.headers["x-request-id"] == request_id
    assert assert_envelope(failed, 401, "not_authenticated")["request_id"] == request_id


@pytest.mark.parametrize("garbage", ["x" * 300, "has spaces in it", "semi;colon", "é-accent"])
async def test_invalid_request_id_is_replaced(client: httpx.AsyncClient, garbage: str) -> None:
    headers = {b"X-Request-ID": garbage.encode("utf-8")}
    ok = await client.get("/healthz", headers=headers)
    assert ok.headers["x-request-id"] != garbage
    assert REQUEST_ID_FORMAT.match(ok.headers["x-request-id"])
    failed = await client.get("/api/v1/users/me", headers=headers)
    error = assert_envelope(failed, 401, "not_authenticated")
    assert error["request_id"] != garbage
    assert REQUEST_ID_FORMAT.match(error["request_id"])


# --- Rate limiting -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limiter_backend(request: pytest.FixtureRequest, servers: TestServers) -> dict[str, Any]:
    """Settings overrides selecting where rate-limit counters live."""
    return {"redis_url": servers.redis_url if request.param == "redis" else None}


def assert_rate_limited(response: httpx.Response) -> None:
    assert_envelope(response, 429, "rate_limited")
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= 60


async def test_ip_limit_answers_429_with_retry_after(
    servers: TestServers, limiter_backend: dict[str, Any]
) -> None:
    async with app_and_client(servers, rate_limit_ip="3/minute", **limiter_backend) as (app, http):
        for _ in range(3):
            assert (await http.get("/api/v1/users/me")).status_code == 401
        assert_rate_limited(await http.get("/api/v1/users/me"))
        # Other API routes share the same per-IP budget.
        assert_rate_limited(await http.post("/api/v1/auth/login", json={}))
        # Another client address has its own budget.
        async with client_from(app, "10.1.2.3") as other:
            assert (await other.get("/api/v1/users/me")).status_code == 401
        # Operations routes are never limited.
        for _ in range(5):
            assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200


async def test_user_limit_is_per_user(
    servers: TestServers, limiter_backend: dict[str, Any]
) -> None:
    async with app_and_client(servers, rate_limit_user="2/minute", **limiter_backend) as (_, http):
        first = bearer(await login(http, (await register(http))["email"]))
        second = bearer(await login(http, (await register(http))["email"]))
        for _ in range(2):
            assert (await http.get("/api/v1/users/me", headers=first)).status_code == 200
        assert_rate_limited(await http.get("/api/v1/users/me", headers=first))
        for _ in range(2):
            assert (await http.get("/api/v1/users/me", headers=second)).status_code == 200
        assert_rate_limited(await http.get("/api/v1/users/me", headers=second))


async def test_signed_in_requests_use_the_user_budget_not_the_address_budget(
    servers: TestServers, limiter_backend: dict[str, Any]
) -> None:
    """Learners behind one address (a classroom) do not share its budget once signed in."""
    async with app_and_client(servers, rate_limit_ip="4/minute", **limiter_backend) as (_, http):
        first = bearer(await login(http, (await register(http))["email"]))  # 2 of the 4
        for _ in range(6):
            assert (await http.get("/api/v1/users/me", headers=first)).status_code == 200
        forged = {"Authorization": "Bearer not-a-token"}
        assert (await http.get("/api/v1/users/me", headers=forged)).status_code == 401
        assert (await http.get("/api/v1/users/me")).status_code == 401  # 4 of the 4
        assert_rate_limited(await http.get("/api/v1/users/me", headers=forged))
        assert (await http.get("/api/v1/users/me", headers=first)).status_code == 200


async def test_a_saturated_connection_pool_answers_503_with_retry_after(
    servers: TestServers,
) -> None:
    async with app_and_client(servers, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.5) as (
        app,
        http,
    ):
        user = await register(http)
        tokens = await login(http, user["email"])
        async with app.state.db.engine.connect() as held:  # the only connection, kept busy
            await held.exec_driver_sql("SELECT 1")
            busy = await http.get("/api/v1/users/me", headers=bearer(tokens))
        body = assert_envelope(busy, 503, "overloaded")
        assert busy.headers["Retry-After"] == "2" and body["request_id"]
        again = await http.get("/api/v1/users/me", headers=bearer(tokens))
        assert again.status_code == 200, again.text


async def _backend_pid(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def _terminate_backend(servers: TestServers, pid: int) -> None:
    killer = Database(servers.database_url, pool_size=1, max_overflow=0)
    try:
        async with killer.engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()


async def test_a_lost_database_connection_answers_503_once_then_recovers(
    servers: TestServers,
) -> None:
    """A connection killed while the pool thought it fresh fails one request, not more."""
    async with app_and_client(servers, db_pool_size=1, db_max_overflow=0) as (app, http):
        tokens = await login(http, (await register(http))["email"])
        await _terminate_backend(servers, await _backend_pid(app.state.db))
        lost = await http.get("/api/v1/users/me", headers=bearer(tokens))
        body = assert_envelope(lost, 503, "database_unavailable")
        assert lost.headers["Retry-After"] == "1" and body["request_id"]
        again = await http.get("/api/v1/users/me", headers=bearer(tokens))
        assert again.status_code == 200, again.text


async def test_an_idle_pooled_connection_that_died_is_replaced_unnoticed(
    servers: TestServers,
) -> None:
    database = Database(servers.database_url, pool_size=1, max_overflow=0, idle_ping_seconds=0.05)
    try:
        dead = await _backend_pid(database)
        await _terminate_backend(servers, dead)
        await asyncio.sleep(0.1)  # idle past the threshold: pinged at checkout, and replaced
        assert await _backend_pid(database) != dead
    finally:
        await database.dispose()


@pytest.mark.parametrize(("idle_ping_seconds", "pings"), [(10.0, 0), (0.0, 4)])
async def test_only_connections_idle_past_the_threshold_are_pinged(
    servers: TestServers, monkeypatch: pytest.MonkeyPatch, idle_ping_seconds: float, pings: int
) -> None:
    """Reused connections cost no extra round trips (a ping is three for asyncpg)."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    calls: list[object] = []
    real_ping: Callable[[Any], None] = AsyncAdapt_asyncpg_connection.ping

    def counted_ping(self: Any) -> None:
        calls.append(self)
        real_ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted_ping)
    database = Database(
        servers.database_url, pool_size=1, max_overflow=0, idle_ping_seconds=idle_ping_seconds
    )
    try:
        pids = {await _backend_pid(database) for _ in range(5)}
    finally:
        await database.dispose()
    assert len(pids) == 1  # the same connection each time
    assert len(calls) == pings  # the first checkout of a new connection is never pinged


_FULL_GC_PASSES = 'linguo_gc_pause_seconds_count{generation="2"}'


async def test_a_served_worker_loads_the_models_then_freezes_its_heap(
    servers: TestServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`linguo serve` workers start with the analysers loaded, their heap out of the
    collector's full passes, the collector tuned and its pauses timed for /metrics; apps
    built otherwise (tests, tools) are left as they are."""
    warmed: list[tuple[str, ...]] = []
    real_warm_up = Analyser.warm_up

    def observed_warm_up(self: Analyser, languages: Iterable[str] = ("en", "fr", "es")) -> Any:
        warmed.append(tuple(languages))
        return real_warm_up(self, languages)

    monkeypatch.setattr(Analyser, "warm_up", observed_warm_up)
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()

    def full_passes_timed() -> float:
        gc.collect()
        return metric_value(metrics.render_latest().decode(), _FULL_GC_PASSES)

    try:
        plain = create_app(make_settings(servers))
        async with plain.router.lifespan_context(plain):
            assert gc.get_freeze_count() == frozen and warmed == []
            assert gc.get_threshold() == thresholds
            timed = full_passes_timed()
            assert full_passes_timed() == timed
        lazy = create_served_app(make_settings(servers, preload_analysers=False))
        async with lazy.router.lifespan_context(lazy):
            assert gc.get_freeze_count() > frozen and warmed == []
            assert gc.get_threshold() == SERVING_GC_THRESHOLDS != thresholds
            timed = full_passes_timed()
            assert full_passes_timed() == timed + 1
        assert full_passes_timed() == timed + 1  # stopped with the worker
        served = create_served_app(make_settings(servers))
        async with served.router.lifespan_context(served):
            assert warmed == [("en", "fr", "es")]
            assert default_analyser().analyse("Je mange avec la chien.", "fr", "en").errors
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


# A fresh interpreter: models load once per process, and this one has used them already.
_FIRST_USES_AFTER_PREPARING = """
import asyncio, gc, json
from linguo.app import _prepare_worker
from linguo.config import Settings
from linguo.language.analysis import default_analyser
from linguo.language.answers import check_answer

asyncio.run(_prepare_worker(Settings(preload_analysers=True)))
before = len(gc.get_objects())
default_analyser().analyse("Hier je suis alle au marche avec ma soeur.", "fr", "en")
for language, typed, accepted in (
    ("fr", "je mange une pome", "Je mange une pomme"),
    ("es", "yo como una manzan", "Yo como una manzana"),
    ("en", "I eat an aple", "I eat an apple"),
):
    check_answer(typed, [accepted], language)
gc.collect()
print(json.dumps({"new_objects": len(gc.get_objects()) - before}))
"""


def test_a_prepared_worker_has_nothing_left_to_load_at_its_first_turn_and_answers() -> None:
    """What loads after the freeze is walked by every full pass of the collector, each a
    pause of the event loop: a French turn and an answer in each language, the first of a
    prepared worker, leave almost nothing behind (Grammalecte's rule graphs alone are
    30,000 objects, the real-word lists of answer checking 2,000 large lists)."""
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_USES_AFTER_PREPARING],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    left = json.loads(result.stdout.splitlines()[-1])["new_objects"]
    assert left < 1_000, f"{left} objects loaded after the heap was frozen"


async def test_login_is_limited_harder_than_the_api(
    servers: TestServers, limiter_backend: dict[str, Any]
) -> None:
    # The sliding-window counter only weighs the previous minute's hits, so logins spanning a
    # minute boundary could let a third one through: start well inside a minute.
    if time.time() % 60 > 50:
        await asyncio.sleep(61 - time.time() % 60)
    async with app_and_client(servers, rate_limit_auth="2/minute", **limiter_backend) as (
        app,
        http,
    ):
        # Registered from another address so it does not spend this client's auth budget.
        async with client_from(app, "10.9.8.7") as elsewhere:
            user = await register(elsewhere)
        credentials = {"email": user["email"], "password": PASSWORD}
        tokens = await login(http, user["email"])
        assert (await http.post("/api/v1/auth/login", json=credentials)).status_code == 200
        assert_rate_limited(await http.post("/api/v1/auth/login", json=credentials))
        me = await http.get("/api/v1/users/me", headers=bearer(tokens))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user["id"]


# --- Trusted hosts, CORS, gzip -------------------------------------------------------------


async def test_untrusted_host_is_refused(servers: TestServers) -> None:
    async with app_and_client(servers, trusted_hosts=["api.example.com"]) as (_, http):
        response = await http.get("/healthz", headers={"Host": "evil.com"})
        assert_envelope(response, 400, "invalid_host")
        response = await http.get("/api/v1/users/me", headers={"Host": "api.example.com.evil.com"})
        assert_envelope(response, 400, "invalid_host")
        assert (await http.get("/healthz", headers={"Host": "api.example.com"})).status_code == 200
        ok = await http.get("/healthz", headers={"Host": "API.example.com:8443"})
        assert ok.status_code == 200


async def test_cors_preflight_allows_only_configured_origins(servers: TestServers) -> None:
    allowed = "https://app.example.com"
    async with app_and_client(servers, cors_origins=[allowed]) as (_, http):
        preflight = {"Access-Control-Request-Method": "GET"}
        response = await http.options("/api/v1/users/me", headers={"Origin": allowed, **preflight})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == allowed
        response = await http.options(
            "/api/v1/users/me", headers={"Origin": "https://evil.example.com", **preflight}
        )
        assert "access-control-allow-origin" not in response.headers
        error = assert_envelope(response, 400, "cors_rejected")
        assert error["details"] == {"refused": ["origin"]}
        # Browsers may read the request id and Retry-After of cross-origin responses.
        response = await http.get("/api/v1/users/me", headers={"Origin": allowed})
        assert response.headers["access-control-allow-origin"] == allowed
        exposed = response.headers["access-control-expose-headers"].lower()
        assert "x-request-id" in exposed
        assert "retry-after" in exposed


async def test_large_responses_are_gzipped(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "paths" in response.json()
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


# --- Health and readiness ------------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_readyz_checks_redis_when_configured(servers: TestServers) -> None:
    async with app_and_client(servers, redis_url=servers.redis_url) as (_, http):
        response = await http.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_is_503_when_database_is_down(servers: TestServers) -> None:
    async with app_and_client(servers, database_url=CLOSED_PORT_DATABASE) as (_, http):
        assert (await http.get("/healthz")).status_code == 200
        response = await http.get("/readyz")
        error = assert_envelope(response, 503, "not_ready")
        assert error["details"]["checks"]["database"].startswith("unavailable")


async def test_readyz_is_503_until_the_database_is_migrated(servers: TestServers) -> None:
    unmigrated = await asyncio.to_thread(
        create_database, servers.postgres_admin_url, "linguo_unmigrated"
    )
    async with app_and_client(servers, database_url=unmigrated) as (_, http):
        response = await http.get("/readyz")
        error = assert_envelope(response, 503, "not_ready")
        assert "linguo migrate" in error["details"]["checks"]["database"]
        await asyncio.to_thread(migrations.upgrade, unmigrated)
        assert (await http.get("/readyz")).status_code == 200


async def test_readyz_is_503_when_redis_is_down(servers: TestServers) -> None:
    async with app_and_client(servers, redis_url=CLOSED_PORT_REDIS) as (_, http):
        response = await http.get("/readyz")
        error = assert_envelope(response, 503, "not_ready")
        checks = error["details"]["checks"]
        assert checks["database"] == "ok"
        assert checks["redis"].startswith("unavailable")


# --- Metrics -------------------------------------------------------------------------------


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    sample = 'linguo_http_requests_total{method="GET",route="/api/v1/users/me",status="401"}'
    before = metric_value(await scrape(client), sample)
    assert (await client.get("/api/v1/users/me")).status_code == 401
    text = await scrape(client)
    assert metric_value(text, sample) == before + 1
    assert any(
        line.startswith("linguo_http_request_duration_seconds_bucket{")
        and 'route="/api/v1/users/me"' in line
        for line in text.splitlines()
    )
    assert re.search(r"^linguo_db_pool_size \d", text, re.MULTILINE)


async def test_metrics_label_is_the_route_template(client: httpx.AsyncClient) -> None:
    user_id = uuid.uuid4()
    sample = (
        'linguo_http_requests_total{method="POST",'
        'route="/api/v1/users/{user_id}/disable",status="401"}'
    )
    before = metric_value(await scrape(client), sample)
    assert (await client.post(f"/api/v1/users/{user_id}/disable")).status_code == 401
    unknown = f"/api/v1/nothing-{uuid.uuid4().hex}"
    assert (await client.get(unknown)).status_code == 404
    text = await scrape(client)
    assert metric_value(text, sample) == before + 1
    assert str(user_id) not in text
    assert unknown not in text


# --- OpenAPI -------------------------------------------------------------------------------


def _schema_ref(response: dict[str, Any]) -> str | None:
    ref: str | None = response.get("content", {}).get("application/json", {}).get("schema", {})
    return ref.get("$ref") if isinstance(ref, dict) else None


async def test_openapi_documents_the_error_envelope(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    responses = spec["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert {"201", "409", "422", "429", "500"} <= set(responses)
    for status in ("409", "422", "429", "500"):
        assert _schema_ref(responses[status]) == ENVELOPE_REF, (status, responses[status])

    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]
    assert len(operations) >= 10
    for path, method, operation in operations:
        for status in ("422", "500"):
            documented = operation["responses"].get(status)
            assert documented is not None, (method, path, status)
            assert _schema_ref(documented) == ENVELOPE_REF, (method, path, status)


# --- Access log ----------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger's handlers and level back after a test configured logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def access_lines(output: str) -> list[dict[str, Any]]:
    """The access-log entries among the JSON log lines written to stdout."""
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [entry for entry in entries if entry.get("logger") == "linguo.access"]


async def test_access_log_has_one_line_per_request_without_secrets(
    servers: TestServers, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    async with app_and_client(servers, log_level="INFO") as (_, http):
        user = await register(http)
        login_response = await http.post(
            "/api/v1/auth/login",
            json={"email": user["email"], "password": PASSWORD},
            headers={"X-Request-ID": "log-login-1"},
        )
        assert login_response.status_code == 200
        tokens = login_response.json()
        failed = await http.post(
            "/api/v1/auth/login",
            json={"email": user["email"], "password": "wrong horse battery"},
            headers={"X-Request-ID": "log-login-2"},
        )
        assert failed.status_code == 401
        me = await http.get(
            "/api/v1/users/me", headers={**bearer(tokens), "X-Request-ID": "log-me-1"}
        )
        assert me.status_code == 200
    output = capsys.readouterr().out
    lines = access_lines(output)

    me_lines = [line for line in lines if line.get("request_id") == "log-me-1"]
    assert len(me_lines) == 1, me_lines
    entry = me_lines[0]
    assert entry["event"] == "request"
    assert entry["route"] == "/api/v1/users/me"
    assert entry["method"] == "GET"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], int | float)
    assert entry["duration_ms"] >= 0
    assert entry["user_id"] == user["id"]

    login_lines = [line for line in lines if line.get("request_id") == "log-login-1"]
    assert len(login_lines) == 1, login_lines
    assert login_lines[0]["route"] == "/api/v1/auth/login"
    assert login_lines[0]["status"] == 200
    assert login_lines[0].get("user_id") is None
    assert any(line.get("request_id") == "log-login-2" for line in lines)

    assert PASSWORD not in output
    assert "wrong horse battery" not in output
    assert tokens["access_token"] not in output
    assert tokens["refresh_token"] not in output


# --- Request body size ------------------------------------------------------------------


async def test_oversized_bodies_are_413_in_the_envelope(servers: TestServers) -> None:
    async with app_and_client(servers, max_body_bytes=2000) as (_, http):
        body = b'{"email": "' + b"a" * 5000 + b'@example.com", "password": "long enough"}'
        declared = await http.post(
            "/api/v1/auth/register", content=body, headers={"content-type": "application/json"}
        )
        error = assert_envelope(declared, 413, "payload_too_large")
        assert error["details"] == {"max_bytes": 2000}

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 500

        streamed = await http.post(
            "/api/v1/auth/register", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_envelope(streamed, 413, "payload_too_large")
        small = await http.post(
            "/api/v1/auth/register",
            json={"email": "fits@example.com", "password": "long enough"},
        )
        assert small.status_code == 201


# --- Docs ----------------------------------------------------------------------------------


async def test_docs_page_needs_no_network(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text
    scripts = re.findall(r'src="([^"]+\.js)"', page.text)
    styles = re.findall(r'href="([^"]+\.css)"', page.text)
    assert scripts and styles
    for asset in scripts + styles:
        assert asset.startswith("/"), asset
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 10_000
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200 and "cdn.jsdelivr.net" not in redoc.text
