"""Rate limiting per client IP and per user, in memory or in Redis (the `limits` library)."""

from __future__ import annotations

import math
import time
from typing import Annotated

import structlog
from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from linguo.config import Settings
from linguo.core.errors import InvalidToken, RateLimited
from linguo.core.security import decode_access_token

logger = structlog.get_logger("linguo.ratelimit")


class RateLimiter:
    """Sliding-window counters keyed by scope and identity."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.storage: Storage
        if settings.redis_url:
            self.storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="linguo:ratelimit",
            )
        else:
            self.storage = MemoryStorage()
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.ip_limits = parse_many(settings.rate_limit_ip)
        self.user_limits = parse_many(settings.rate_limit_user)
        self.auth_limits = parse_many(settings.rate_limit_auth)

    async def hit(self, scope: str, identity: str, limits: list[RateLimitItem]) -> None:
        """Count one request; raise RateLimited (429 with Retry-After) when over any limit."""
        if not self.enabled:
            return
        for item in limits:
            try:
                allowed = await self.strategy.hit(item, scope, identity)
                if allowed:
                    continue
                stats = await self.strategy.get_window_stats(item, scope, identity)
            except Exception:
                # A broken limiter store must not take the API down with it.
                logger.warning("rate_limit_store_unavailable", scope=scope, exc_info=True)
                return
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(retry_after, scope=scope)

    async def reset(self) -> None:
        """Forget every counter (tests and operators)."""
        await self.storage.reset()


def client_ip(request: Request) -> str:
    """The client address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def limit_api(request: Request) -> None:
    """Every API route: a budget per user when a valid token is sent, else per client IP.

    Signed-in learners are counted only against their own budget, so a classroom or an
    office behind one address does not share one; requests without a valid token (which
    includes forged and expired ones) are counted against their address.
    """
    limiter = _limiter(request)
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        settings: Settings = request.app.state.settings
        try:
            claims = decode_access_token(
                token, key=request.app.state.signing_key, issuer=settings.jwt_issuer
            )
        except InvalidToken:
            pass
        else:
            request.state.access_claims = claims
            await limiter.hit("user", str(claims.user_id), limiter.user_limits)
            return
    await limiter.hit("ip", client_ip(request), limiter.ip_limits)


async def limit_auth(request: Request) -> None:
    """Credential routes (login, token, register, refresh): a much smaller budget per IP."""
    limiter = _limiter(request)
    await limiter.hit("auth", client_ip(request), limiter.auth_limits)


AuthRateLimit = Annotated[None, Depends(limit_auth)]
