"""The per-learner analytics cache: one generation per learner, bumped when their data changes.

Every cached analytics answer (and `GET /me/progress/summary`) embeds the learner's
generation in its key, so a bump in the transaction that changes their data invalidates all
of them at once, on every server, whatever the cache backend. Entries also expire after
`ANALYTICS_CACHE_SECONDS`, which bounds the staleness of changes made without a bump.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.cache import Cache, bump_cache_generation, cache_generation, cached

ANALYTICS_CACHE_SECONDS = 15 * 60

T = TypeVar("T")


def learner_generation(user_id: uuid.UUID) -> str:
    """The name of the learner's cache generation."""
    return f"analytics:{user_id}"


async def invalidate_learner(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Forget the learner's cached figures, atomically with the caller's change."""
    await bump_cache_generation(session, learner_generation(user_id))


async def learner_cached(
    session: AsyncSession,
    cache: Cache,
    user_id: uuid.UUID,
    key: str,
    load: Callable[[], Awaitable[T]],
) -> T:
    """The learner's cached answer for `key` (a figure and what it depends on), or `load()`.

    `key` must name everything besides the learner's data that the answer depends on
    (parameters, time zone, local date).
    """
    generation = await cache_generation(session, learner_generation(user_id))
    full_key = f"analytics:{user_id}:{generation}:{key}"
    return await cached(cache, full_key, ANALYTICS_CACHE_SECONDS, load)
