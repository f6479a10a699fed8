"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi_offline import FastAPIOffline

from linguo import __version__
from linguo.analytics.router import router as analytics_router
from linguo.config import Settings, get_settings
from linguo.content.admin_router import router as content_admin_router
from linguo.content.media import default_tts, storage_from_settings
from linguo.content.media_router import router as media_router
from linguo.content.router import router as courses_router
from linguo.conversation.hub import LocalHub, RedisHub, SessionHub
from linguo.conversation.router import router as conversation_router
from linguo.conversation.ws import router as session_socket_router
from linguo.core import jobs, metrics, migrations
from linguo.core.cache import create_cache
from linguo.core.db import Database, utcnow
from linguo.core.errors import error_responses, install_error_handlers
from linguo.core.jobs import JobContext
from linguo.core.logging import configure_logging
from linguo.core.middleware import (
    DeclaredBodySizeMiddleware,
    EnvelopeCORSMiddleware,
    RequestContextMiddleware,
    TrustedHostMiddleware,
)
from linguo.core.ratelimit import RateLimiter, limit_api
from linguo.flashcards.router import router as flashcards_router
from linguo.gamification.achievements_router import router as achievements_router
from linguo.gamification.leagues_router import router as leagues_router
from linguo.gamification.router import me_router as gamification_me_router
from linguo.gamification.router import shop_router
from linguo.identity.router import auth_router, users_router
from linguo.language import answers
from linguo.language.analysis import default_analyser
from linguo.lessons.router import router as lessons_router
from linguo.ops.router import router as ops_router
from linguo.providers.llm import build_chain
from linguo.social.router import router as social_router
from linguo.srs.router import router as srs_router
from linguo.vocabulary.router import admin_packs_router, packs_router, vocabulary_router

API_PREFIX = "/api/v1"

logger = structlog.get_logger("linguo.app")


# The cyclic collector's thresholds in a serving worker (Python's are 700, 10, 10). At 700
# allocations a request is collected mid-flight several times, its live objects are
# promoted to older generations, and they soon trigger a full pass: a pause of 100-200 ms
# for every request on that worker, about ten times a minute at 300 learners. At 10,000
# most of a request's objects are freed by reference counting before any pass sees them;
# at that load no full pass came in a whole 95-second run (bench/RESULTS.md, sixth round).
SERVING_GC_THRESHOLDS = (10_000, 20, 20)


async def _prepare_worker(settings: Settings) -> None:
    """Ready a serving worker: load the language models, freeze the heap, tune the collector.

    Loaded at start, the models cost the first tutor turn and the first answer checked
    nothing. Frozen (`gc.freeze`), everything loaded so far (modules, the app, the models'
    few hundred thousand objects) is left out of the cyclic collector's full passes, which
    otherwise walk all of it and stop the worker's event loop for 100-200 ms under load,
    with its requests in flight. Whatever loads after the freeze is walked by every full
    pass: the models must be complete by then. Then the collector runs less often
    (`SERVING_GC_THRESHOLDS`), and its passes are timed for `/metrics`.
    """
    if settings.preload_analysers:
        missing = await asyncio.to_thread(default_analyser().warm_up)
        if missing:
            logger.warning("analysers_unavailable", missing=missing)
        await asyncio.to_thread(answers.warm_up)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)
    metrics.watch_garbage_collector()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    database = Database.from_settings(settings)
    cache = create_cache(settings)
    app.state.db = database
    app.state.cache = cache
    app.state.rate_limiter = RateLimiter(settings)
    app.state.redis = None
    metrics.watch_database_pool(database.engine)
    worker_stats: asyncio.Task[None] | None = None
    if metrics.MULTIPROCESS_DIR:
        worker_stats = asyncio.create_task(metrics.publish_worker_stats(database.engine))
    jobs.load_task_modules()
    if settings.redis_url:
        from redis.asyncio import Redis

        app.state.redis = Redis.from_url(settings.redis_url)
    app.state.llm_chain = build_chain(settings)
    hub: SessionHub = RedisHub(app.state.redis) if app.state.redis is not None else LocalHub()
    ctx = JobContext(settings=settings, db=database, cache=cache)
    try:
        async with jobs.job_backend(ctx, scheduler=settings.scheduler_enabled) as runner:
            app.state.job_runner = runner
            await hub.start()
            app.state.session_hub = hub
            if getattr(app.state, "served", False):
                await _prepare_worker(settings)
            try:
                yield
            finally:
                await hub.stop()
    finally:
        await app.state.llm_chain.aclose()
        if app.state.redis is not None:
            await app.state.redis.aclose()
        await cache.close()
        if worker_stats is not None:
            worker_stats.cancel()
        metrics.unwatch_database_pool(database.engine)
        metrics.unwatch_garbage_collector()
        await database.dispose()


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """The app as each `linguo serve` worker runs it: prepared by `_prepare_worker` at start."""
    app = create_app(settings)
    app.state.served = True
    return app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API: middleware, error envelope, routers and lifespan."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    # Docs pages with their assets served locally: /docs works offline.
    app = FastAPIOffline(
        title="Linguo API",
        version=__version__,
        description="Backend for language-learning apps. Every error answers with the envelope "
        '`{"error": {"code", "message", "details", "request_id"}}`.',
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.schema_heads = migrations.head_revisions()
    app.state.signing_key = settings.signing_key()
    app.state.storage = storage_from_settings(settings)  # media files (lesson audio)
    app.state.tts = default_tts()  # records audio of listening exercises made by admins
    # The time requests see; tests replace it to travel across days and time zones.
    app.state.clock = utcnow
    install_error_handlers(app)

    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(limit_api)],
        responses=error_responses(413, 422, 429, 500),
        max_body_size=settings.max_body_bytes,
    )
    api.include_router(auth_router)
    api.include_router(users_router)
    for router in (
        vocabulary_router,
        srs_router,
        flashcards_router,
        packs_router,
        admin_packs_router,
        courses_router,
        lessons_router,
        media_router,
        content_admin_router,
        conversation_router,
        gamification_me_router,
        shop_router,
        social_router,
        achievements_router,
        analytics_router,
        leagues_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(session_socket_router, prefix=API_PREFIX)
    app.include_router(ops_router)

    # Added innermost first: the request context wraps everything but error rendering.
    app.add_middleware(DeclaredBodySizeMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    if settings.cors_origins:
        app.add_middleware(
            EnvelopeCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(RequestContextMiddleware)
    return app
