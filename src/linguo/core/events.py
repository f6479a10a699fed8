"""In-process domain events.

A service publishes an event (a frozen dataclass) with the session of its unit of work;
handlers run at once, in subscription order, inside the same transaction, so that effects
which must not be lost (XP, streaks, achievements) commit or roll back together with the
action that caused them. Handlers that start redoable work enqueue jobs, which the unit of
work sends after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

logger = structlog.get_logger("linguo.events")

E = TypeVar("E")
Handler = Callable[[AsyncSession, Any], Awaitable[None]]


class EventDispatcher:
    """Maps event types to their handlers."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(
        self, event_type: type[E]
    ) -> Callable[
        [Callable[[AsyncSession, E], Awaitable[None]]], Callable[[AsyncSession, E], Awaitable[None]]
    ]:
        """Decorator: run the handler whenever an event of `event_type` is published."""

        def decorator(
            handler: Callable[[AsyncSession, E], Awaitable[None]],
        ) -> Callable[[AsyncSession, E], Awaitable[None]]:
            if handler not in self._handlers[event_type]:
                self._handlers[event_type].append(handler)
            return handler

        return decorator

    def handlers_for(self, event_type: type) -> list[Handler]:
        """The handlers subscribed to exactly this event type."""
        return list(self._handlers.get(event_type, ()))

    async def publish(self, session: AsyncSession, event: object) -> None:
        """Run every handler of the event in the caller's transaction; a failure propagates."""
        for handler in self.handlers_for(type(event)):
            # Not `event=`: structlog's first parameter (the message) is named `event`.
            logger.debug(
                "event_handled", event_type=type(event).__name__, handler=handler.__qualname__
            )
            await handler(session, event)


events = EventDispatcher()
