"""A small cache API with TTLs and invalidation by key prefix: in-process or Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import String, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.system import CacheGeneration

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from linguo.config import Settings

T = TypeVar("T")


class Cache(Protocol):
    """Values must be JSON-serialisable so that both backends behave the same."""

    async def get(self, key: str) -> Any | None:
        """The cached value, or None when absent or expired."""

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        """Store `value` under `key` for `ttl_seconds`."""

    async def delete(self, key: str) -> None:
        """Forget one key."""

    async def delete_prefix(self, prefix: str) -> int:
        """Forget every key starting with `prefix`; returns how many were removed."""

    async def close(self) -> None:
        """Release connections."""


class MemoryCache:
    """Process-local cache; bounded, expired entries dropped lazily and on overflow."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, str]] = {}

    async def get(self, key: str) -> Any | None:
        """See Cache.get."""
        entry = self._data.get(key)
        if entry is None:
            return None
        expires_at, payload = entry
        if expires_at <= time.monotonic():
            self._data.pop(key, None)
            return None
        return json.loads(payload)

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        """See Cache.set."""
        _check_ttl(ttl_seconds)
        if len(self._data) >= self.max_entries and key not in self._data:
            self._evict()
        # Stored serialised so callers can't mutate cached objects and both backends agree.
        self._data[key] = (time.monotonic() + ttl_seconds, json.dumps(value))

    async def delete(self, key: str) -> None:
        """See Cache.delete."""
        self._data.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        """See Cache.delete_prefix."""
        doomed = [key for key in self._data if key.startswith(prefix)]
        for key in doomed:
            del self._data[key]
        return len(doomed)

    async def close(self) -> None:
        """See Cache.close."""
        self._data.clear()

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [key for key, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]
        while len(self._data) >= self.max_entries:
            self._data.pop(next(iter(self._data)))


class RedisCache:
    """Cache shared by every process, under the `linguo:cache:` namespace."""

    namespace = "linguo:cache:"

    def __init__(self, client: Redis) -> None:
        self.client = client

    async def get(self, key: str) -> Any | None:
        """See Cache.get."""
        payload = await self.client.get(self.namespace + key)
        return None if payload is None else json.loads(payload)

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        """See Cache.set."""
        _check_ttl(ttl_seconds)
        await self.client.set(self.namespace + key, json.dumps(value), ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        """See Cache.delete."""
        await self.client.delete(self.namespace + key)

    async def delete_prefix(self, prefix: str) -> int:
        """See Cache.delete_prefix (SCAN, never KEYS, so Redis is not blocked)."""
        removed = 0
        batch: list[str] = []
        async for key in self.client.scan_iter(match=_escape_glob(self.namespace + prefix) + "*"):
            batch.append(key)
            if len(batch) >= 500:
                removed += await self.client.unlink(*batch)
                batch.clear()
        if batch:
            removed += await self.client.unlink(*batch)
        return removed

    async def close(self) -> None:
        """See Cache.close."""
        await self.client.aclose()


def _check_ttl(ttl_seconds: int) -> None:
    if ttl_seconds < 1:
        raise ValueError("ttl_seconds must be at least 1")


def _escape_glob(value: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in value)


async def cached(cache: Cache, key: str, ttl_seconds: int, load: Callable[[], Awaitable[T]]) -> T:
    """Return the cached value for `key`, computing and storing it with `load` on a miss.

    The value is stored wrapped, so that a loaded None is cached like any other value.
    """
    entry = await cache.get(key)
    if entry is not None:
        return entry["value"]  # type: ignore[no-any-return]
    fresh = await load()
    await cache.set(key, {"value": fresh}, ttl_seconds)
    return fresh


def create_cache(settings: Settings) -> Cache:
    """Redis cache when LINGUO_REDIS_URL is set, in-process otherwise."""
    if settings.redis_url is None:
        return MemoryCache()
    from redis.asyncio import Redis

    return RedisCache(Redis.from_url(settings.redis_url, decode_responses=True))


# Read and bumped on most requests: built once, with the name as a bound parameter.
_GENERATION_NAME = bindparam("generation_name", type_=String())
_READ_GENERATION = select(CacheGeneration.generation).where(
    CacheGeneration.name == _GENERATION_NAME
)
_BUMP_GENERATION = (
    insert(CacheGeneration)
    .values(name=_GENERATION_NAME, generation=2)
    .on_conflict_do_update(
        index_elements=[CacheGeneration.name],
        set_={"generation": CacheGeneration.generation + 1},
    )
)


async def cache_generation(session: AsyncSession, name: str) -> int:
    """The current generation of a cached catalogue (1 until it first changes)."""
    params = {"generation_name": name}
    generation = (await session.execute(_READ_GENERATION, params)).scalar_one_or_none()
    return 1 if generation is None else int(generation)


async def bump_cache_generation(session: AsyncSession, name: str) -> None:
    """Invalidate every cached answer about `name`, atomically with the caller's change."""
    await session.execute(_BUMP_GENERATION, {"generation_name": name})
