"""The cache kernel: both backends honour the same contract (TTL, prefixes, JSON values)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from redis.asyncio import Redis

from linguo.core.cache import Cache, MemoryCache, RedisCache, cached, create_cache
from tests.conftest import make_settings

if TYPE_CHECKING:
    from tests.conftest import TestServers


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest, servers: TestServers) -> AsyncIterator[Cache]:
    """Each test runs once against the in-process cache and once against real Redis."""
    backend: Cache
    if request.param == "memory":
        backend = MemoryCache()
    else:
        backend = RedisCache(Redis.from_url(servers.redis_url, decode_responses=True))
    yield backend
    await backend.close()


async def test_get_missing_key_is_none(cache: Cache) -> None:
    assert await cache.get("absent") is None


async def test_set_then_get(cache: Cache) -> None:
    await cache.set("greeting", "bonjour", 60)
    assert await cache.get("greeting") == "bonjour"
    await cache.set("greeting", "salut", 60)
    assert await cache.get("greeting") == "salut"


async def test_entry_expires_after_its_ttl(cache: Cache) -> None:
    await cache.set("short", "lived", 1)
    await cache.set("long", "lived", 60)
    assert await cache.get("short") == "lived"
    await asyncio.sleep(1.1)
    assert await cache.get("short") is None
    assert await cache.get("long") == "lived"


async def test_delete_forgets_one_key(cache: Cache) -> None:
    await cache.set("a", 1, 60)
    await cache.set("b", 2, 60)
    await cache.delete("a")
    await cache.delete("never-set")  # deleting a missing key is not an error
    assert await cache.get("a") is None
    assert await cache.get("b") == 2


async def test_delete_prefix_removes_only_matching_keys(cache: Cache) -> None:
    for key in ("course:1", "course:2", "course:1:units", "courses", "lesson:1", "x:course:1"):
        await cache.set(key, key, 60)

    removed = await cache.delete_prefix("course:")

    assert removed == 3
    for gone in ("course:1", "course:2", "course:1:units"):
        assert await cache.get(gone) is None
    for kept in ("courses", "lesson:1", "x:course:1"):
        assert await cache.get(kept) == kept


@pytest.mark.parametrize(
    ("prefix", "doomed", "kept"),
    [
        ("a*b", ["a*b", "a*b:1"], ["ab", "axb", "axxb:1", "a*c"]),
        ("q?", ["q?", "q?:x"], ["qa", "qz:1", "q"]),
        ("r[ab]", ["r[ab]:1"], ["ra", "rb:1", "r[ac]"]),
        ("s\\", ["s\\1"], ["s1", "s"]),
    ],
)
async def test_delete_prefix_treats_glob_characters_literally(
    cache: Cache, prefix: str, doomed: list[str], kept: list[str]
) -> None:
    for key in doomed + kept:
        await cache.set(key, key, 60)

    assert await cache.delete_prefix(prefix) == len(doomed)

    for key in doomed:
        assert await cache.get(key) is None, key
    for key in kept:
        assert await cache.get(key) == key, key


async def test_delete_prefix_of_nothing_returns_zero(cache: Cache) -> None:
    await cache.set("kept", 1, 60)
    assert await cache.delete_prefix("nope:") == 0
    assert await cache.get("kept") == 1


async def test_empty_prefix_clears_everything(cache: Cache) -> None:
    await cache.set("one", 1, 60)
    await cache.set("two", 2, 60)
    assert await cache.delete_prefix("") == 2
    assert await cache.get("one") is None
    assert await cache.get("two") is None


@pytest.mark.parametrize(
    "value",
    [
        {"course": "fr-a1", "units": [1, 2, 3], "meta": {"published": True, "rating": 4.5}},
        [1, "two", None, {"three": 3}],
        0,
        "",
        False,
        [],
        "déjà vu ✓",
    ],
)
async def test_values_round_trip_as_json(cache: Cache, value: Any) -> None:
    await cache.set("value", value, 60)
    assert await cache.get("value") == value
    assert type(await cache.get("value")) is type(value)


async def test_cached_values_are_copies(cache: Cache) -> None:
    original = {"items": [1, 2]}
    await cache.set("copy", original, 60)
    original["items"].append(3)
    first = await cache.get("copy")
    assert first is not None
    first["items"].append(4)
    assert await cache.get("copy") == {"items": [1, 2]}


async def test_non_json_value_is_refused(cache: Cache) -> None:
    with pytest.raises(TypeError):
        await cache.set("bad", {1, 2}, 60)
    assert await cache.get("bad") is None


async def test_cached_calls_the_loader_once_then_serves_from_cache(cache: Cache) -> None:
    calls: list[int] = []

    async def load() -> dict[str, Any]:
        calls.append(1)
        return {"total": 42, "items": ["a"]}

    first = await cached(cache, "stats", 60, load)
    second = await cached(cache, "stats", 60, load)

    assert first == second == {"total": 42, "items": ["a"]}
    assert len(calls) == 1
    assert await cache.get("stats") == {"value": {"total": 42, "items": ["a"]}}


async def test_cached_reloads_after_invalidation(cache: Cache) -> None:
    values = iter([1, 2])

    async def load() -> int:
        return next(values)

    assert await cached(cache, "counter", 60, load) == 1
    assert await cached(cache, "counter", 60, load) == 1
    await cache.delete("counter")
    assert await cached(cache, "counter", 60, load) == 2


@pytest.mark.parametrize("falsy", [0, "", [], None])
async def test_cached_caches_falsy_values(cache: Cache, falsy: Any) -> None:
    calls: list[int] = []

    async def load() -> Any:
        calls.append(1)
        return falsy

    assert await cached(cache, "falsy", 60, load) == falsy
    assert await cached(cache, "falsy", 60, load) == falsy
    assert len(calls) == 1


async def test_ttl_must_be_positive(cache: Cache) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await cache.set("k", 1, 0)


async def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(max_entries=3)
    for index in range(4):
        await cache.set(f"k{index}", index, 60)
    assert len(cache._data) <= 3
    # The newest entry is always kept; the oldest one made room for it.
    assert await cache.get("k3") == 3
    assert await cache.get("k0") is None
    for index in range(4, 20):
        await cache.set(f"k{index}", index, 60)
        assert len(cache._data) <= 3
    assert await cache.get("k19") == 19


async def test_memory_cache_evicts_expired_entries_first() -> None:
    cache = MemoryCache(max_entries=3)
    await cache.set("old", 0, 60)
    await cache.set("brief", 1, 1)
    await cache.set("other", 2, 60)
    await asyncio.sleep(1.1)
    await cache.set("new", 3, 60)
    assert len(cache._data) <= 3
    # The expired entry made room, so the live ones all survive.
    assert await cache.get("old") == 0
    assert await cache.get("other") == 2
    assert await cache.get("new") == 3


async def test_memory_cache_overwriting_a_key_does_not_evict() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", 1, 60)
    await cache.set("b", 2, 60)
    await cache.set("a", 10, 60)
    assert await cache.get("a") == 10
    assert await cache.get("b") == 2


async def test_redis_cache_is_namespaced(servers: TestServers) -> None:
    client = Redis.from_url(servers.redis_url, decode_responses=True)
    cache = RedisCache(Redis.from_url(servers.redis_url, decode_responses=True))
    try:
        await client.set("course:1", "not ours")
        await cache.set("course:1", "ours", 60)
        assert await client.get("linguo:cache:course:1") == '"ours"'
        assert 0 < await client.ttl("linguo:cache:course:1") <= 60
        assert await cache.delete_prefix("") == 1
        assert await client.get("course:1") == "not ours"
    finally:
        await cache.close()
        await client.aclose()


async def test_redis_cache_is_shared_between_instances(servers: TestServers) -> None:
    first = RedisCache(Redis.from_url(servers.redis_url, decode_responses=True))
    second = RedisCache(Redis.from_url(servers.redis_url, decode_responses=True))
    try:
        await first.set("shared", {"v": 1}, 60)
        assert await second.get("shared") == {"v": 1}
        await second.delete_prefix("sha")
        assert await first.get("shared") is None
    finally:
        await first.close()
        await second.close()


async def test_delete_prefix_handles_more_keys_than_one_batch(servers: TestServers) -> None:
    cache = RedisCache(Redis.from_url(servers.redis_url, decode_responses=True))
    try:
        for index in range(1200):
            await cache.set(f"bulk:{index}", index, 60)
        await cache.set("bulkhead", "kept", 60)
        assert await cache.delete_prefix("bulk:") == 1200
        assert await cache.get("bulk:0") is None
        assert await cache.get("bulk:1199") is None
        assert await cache.get("bulkhead") == "kept"
    finally:
        await cache.close()


async def test_create_cache_picks_the_backend(servers: TestServers) -> None:
    assert isinstance(create_cache(make_settings(servers)), MemoryCache)
    redis_cache = create_cache(make_settings(servers, redis_url=servers.redis_url))
    try:
        assert isinstance(redis_cache, RedisCache)
        await redis_cache.set("made", [1], 60)
        assert await redis_cache.get("made") == [1]
    finally:
        await redis_cache.close()
