"""Fan-out of conversation events to every WebSocket connected to a session.

Without Redis, one process holds every connection and `LocalHub` delivers in process. With
Redis, each API process keeps its own connections, publishes events on the session's
channel and delivers what it hears there, so a message sent to one replica reaches clients
of all of them; presence (who is connected) is a Redis hash shared by the replicas, whose
entries carry an expiry that heartbeats push back, so a crashed replica's connections fade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis

logger = structlog.get_logger("linguo.conversation.hub")

CHANNEL_PREFIX = "linguo:session:"
PRESENCE_PREFIX = "linguo:presence:"
PRESENCE_TTL_SECONDS = 90
SUBSCRIBE_WAIT_SECONDS = 2.0


@dataclass(eq=False)
class Connection:
    """One WebSocket connection of a user to a session."""

    id: str
    user_id: str
    send: Callable[[dict[str, Any]], Awaitable[None]]
    closed: bool = field(default=False)

    async def deliver(self, message: dict[str, Any]) -> None:
        """Send, ignoring a connection that went away meanwhile."""
        if self.closed:
            return
        try:
            await self.send(message)
        except Exception:
            self.closed = True


class SessionHub(Protocol):
    """Joins connections to sessions and fans events out to them."""

    async def start(self) -> None:
        """Begin delivering (subscribe to the broker if any)."""

    async def stop(self) -> None:
        """Stop delivering and release resources."""

    async def join(self, session_id: str, connection: Connection) -> None:
        """Register a connection to a session."""

    async def leave(self, session_id: str, connection: Connection) -> None:
        """Forget a connection."""

    async def touch(self, session_id: str, connection: Connection) -> None:
        """Keep a connection's presence alive (on heartbeats)."""

    async def broadcast(
        self, session_id: str, message: dict[str, Any], *, exclude: str | None = None
    ) -> None:
        """Deliver `message` to every connection of the session but `exclude`."""

    async def active_user_ids(self, session_id: str) -> list[str]:
        """Users with a live connection to the session, on any replica."""


class LocalHub:
    """Every connection in this process."""

    def __init__(self) -> None:
        self._sessions: dict[str, dict[str, Connection]] = defaultdict(dict)

    async def start(self) -> None:
        """Nothing to start in process."""

    async def stop(self) -> None:
        """Forget every connection."""
        self._sessions.clear()

    async def join(self, session_id: str, connection: Connection) -> None:
        """Register a connection to a session."""
        self._sessions[session_id][connection.id] = connection

    async def leave(self, session_id: str, connection: Connection) -> None:
        """Forget a connection."""
        connections = self._sessions.get(session_id, {})
        connections.pop(connection.id, None)
        if not connections:
            self._sessions.pop(session_id, None)

    async def touch(self, session_id: str, connection: Connection) -> None:
        """Presence needs no refresh in process."""

    async def broadcast(
        self, session_id: str, message: dict[str, Any], *, exclude: str | None = None
    ) -> None:
        """Deliver to the session's connections in this process."""
        await _deliver(self._sessions.get(session_id, {}), message, exclude)

    async def active_user_ids(self, session_id: str) -> list[str]:
        """Users connected here."""
        return sorted({c.user_id for c in self._sessions.get(session_id, {}).values()})


async def _deliver(
    connections: dict[str, Connection], message: dict[str, Any], exclude: str | None
) -> None:
    targets = [c for connection_id, c in connections.items() if connection_id != exclude]
    await asyncio.gather(*(connection.deliver(message) for connection in targets))


class RedisHub:
    """Connections of this process, with events and presence shared through Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._local = LocalHub()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Subscribe to every session channel and deliver what arrives.

        Waits briefly for the subscription, but an unreachable Redis does not stop the API
        from starting (readiness reports it); the listener keeps trying.
        """
        self._listener = asyncio.create_task(self._listen(), name="linguo-session-hub")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=SUBSCRIBE_WAIT_SECONDS)
        except TimeoutError:
            logger.warning("session_hub_not_subscribed", waited_seconds=SUBSCRIBE_WAIT_SECONDS)

    async def stop(self) -> None:
        """Unsubscribe."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._local.stop()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                    self._subscribed.set()
                    async for item in pubsub.listen():
                        if item.get("type") != "pmessage":
                            continue
                        channel = item["channel"]
                        if isinstance(channel, bytes):
                            channel = channel.decode()
                        envelope = json.loads(item["data"])
                        await self._local.broadcast(
                            channel.removeprefix(CHANNEL_PREFIX),
                            envelope["message"],
                            exclude=envelope.get("exclude"),
                        )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("session_hub_resubscribe", exc_info=True)
                await asyncio.sleep(1)

    async def join(self, session_id: str, connection: Connection) -> None:
        """Register locally and announce presence."""
        await self._local.join(session_id, connection)
        await self.touch(session_id, connection)

    async def leave(self, session_id: str, connection: Connection) -> None:
        """Forget locally and withdraw presence."""
        await self._local.leave(session_id, connection)
        await self.redis.hdel(PRESENCE_PREFIX + session_id, connection.id)

    async def touch(self, session_id: str, connection: Connection) -> None:
        """Push the connection's presence expiry back."""
        key = PRESENCE_PREFIX + session_id
        expires = time.time() + PRESENCE_TTL_SECONDS
        await self.redis.hset(key, connection.id, f"{connection.user_id}|{expires}")
        await self.redis.expire(key, PRESENCE_TTL_SECONDS * 2)

    async def broadcast(
        self, session_id: str, message: dict[str, Any], *, exclude: str | None = None
    ) -> None:
        """Publish on the session's channel; every replica (this one too) delivers it."""
        envelope = json.dumps({"message": message, "exclude": exclude}, default=str)
        await self.redis.publish(CHANNEL_PREFIX + session_id, envelope)

    async def active_user_ids(self, session_id: str) -> list[str]:
        """Users with an unexpired presence entry on any replica."""
        entries = await self.redis.hgetall(PRESENCE_PREFIX + session_id)
        now = time.time()
        users = set()
        for value in entries.values():
            user_id, _, expires = (value.decode() if isinstance(value, bytes) else value).partition(
                "|"
            )
            if float(expires or 0) > now:
                users.add(user_id)
        return sorted(users)
