"""Domain events: handlers run in order, inside the publisher's unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.db import Database
from linguo.core.events import EventDispatcher
from linguo.models.identity import Device, DevicePlatform, User


@dataclass(frozen=True)
class LessonCompleted:
    user_id: uuid.UUID
    xp: int


@dataclass(frozen=True)
class LessonStarted:
    user_id: uuid.UUID


@dataclass(frozen=True)
class PerfectLessonCompleted(LessonCompleted):
    pass


class HandlerFailed(Exception):
    pass


async def _make_user(database: Database) -> uuid.UUID:
    async with database.session() as session:
        user = User(email=f"events-{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        return user.id


async def _state(database: Database, user_id: uuid.UUID) -> tuple[str | None, int, int]:
    """(full_name, total_xp, device count) of the user, as committed."""
    async with database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        devices = (
            await session.execute(
                select(func.count()).select_from(Device).where(Device.user_id == user_id)
            )
        ).scalar_one()
        return user.full_name, user.total_xp, devices


def _xp_dispatcher() -> EventDispatcher:
    """Two handlers writing through the publisher's session: XP, then a device row."""
    dispatcher = EventDispatcher()

    @dispatcher.subscribe(LessonCompleted)
    async def award_xp(session: AsyncSession, event: LessonCompleted) -> None:
        await session.execute(
            update(User).where(User.id == event.user_id).values(total_xp=User.total_xp + event.xp)
        )

    @dispatcher.subscribe(LessonCompleted)
    async def note_device(session: AsyncSession, event: LessonCompleted) -> None:
        session.add(
            Device(
                user_id=event.user_id,
                device_id="handler",
                push_token="t",
                platform=DevicePlatform.WEB,
            )
        )

    return dispatcher


async def test_handlers_run_in_subscription_order_with_the_callers_session(
    database: Database,
) -> None:
    dispatcher = EventDispatcher()
    calls: list[tuple[str, AsyncSession, object]] = []

    @dispatcher.subscribe(LessonCompleted)
    async def first(session: AsyncSession, event: LessonCompleted) -> None:
        calls.append(("first", session, event))

    @dispatcher.subscribe(LessonCompleted)
    async def second(session: AsyncSession, event: LessonCompleted) -> None:
        calls.append(("second", session, event))

    @dispatcher.subscribe(LessonCompleted)
    async def third(session: AsyncSession, event: LessonCompleted) -> None:
        calls.append(("third", session, event))

    event = LessonCompleted(user_id=uuid.uuid4(), xp=10)
    async with database.session() as session:
        await dispatcher.publish(session, event)
        # Handlers have all run by the time publish returns.
        assert [name for name, _, _ in calls] == ["first", "second", "third"]

    assert all(seen is session for _, seen, _ in calls)
    assert all(seen is event for _, _, seen in calls)
    assert dispatcher.handlers_for(LessonCompleted) == [first, second, third]


async def test_handler_writes_commit_with_the_publisher(database: Database) -> None:
    user_id = await _make_user(database)
    dispatcher = _xp_dispatcher()

    async with database.session() as session:
        await session.execute(update(User).where(User.id == user_id).values(full_name="Ana"))
        await dispatcher.publish(session, LessonCompleted(user_id=user_id, xp=15))

    assert await _state(database, user_id) == ("Ana", 15, 1)


async def test_handler_writes_roll_back_with_the_publisher(database: Database) -> None:
    user_id = await _make_user(database)
    dispatcher = _xp_dispatcher()

    with pytest.raises(RuntimeError, match="after publishing"):
        async with database.session() as session:
            await session.execute(update(User).where(User.id == user_id).values(full_name="Ana"))
            await dispatcher.publish(session, LessonCompleted(user_id=user_id, xp=15))
            await session.flush()
            raise RuntimeError("the unit of work failed after publishing")

    assert await _state(database, user_id) == (None, 0, 0)


async def test_failing_handler_propagates_and_stops_later_handlers(database: Database) -> None:
    user_id = await _make_user(database)
    dispatcher = _xp_dispatcher()
    later: list[str] = []

    @dispatcher.subscribe(LessonCompleted)
    async def explode(session: AsyncSession, event: LessonCompleted) -> None:
        raise HandlerFailed("handler broke")

    @dispatcher.subscribe(LessonCompleted)
    async def after(session: AsyncSession, event: LessonCompleted) -> None:
        later.append("ran")

    with pytest.raises(HandlerFailed, match="handler broke"):
        async with database.session() as session:
            await session.execute(update(User).where(User.id == user_id).values(full_name="Ana"))
            await dispatcher.publish(session, LessonCompleted(user_id=user_id, xp=15))

    assert later == []
    # The publisher's write and the earlier handlers' writes are rolled back together.
    assert await _state(database, user_id) == (None, 0, 0)


async def test_subscribing_the_same_handler_twice_runs_it_once(database: Database) -> None:
    dispatcher = EventDispatcher()
    calls: list[LessonCompleted] = []

    async def handler(session: AsyncSession, event: LessonCompleted) -> None:
        calls.append(event)

    dispatcher.subscribe(LessonCompleted)(handler)
    returned = dispatcher.subscribe(LessonCompleted)(handler)

    assert returned is handler
    async with database.session() as session:
        await dispatcher.publish(session, LessonCompleted(user_id=uuid.uuid4(), xp=1))
    assert len(calls) == 1
    assert dispatcher.handlers_for(LessonCompleted) == [handler]


async def test_events_of_other_types_do_not_trigger_the_handler(database: Database) -> None:
    dispatcher = EventDispatcher()
    completed: list[object] = []
    started: list[object] = []

    @dispatcher.subscribe(LessonCompleted)
    async def on_completed(session: AsyncSession, event: LessonCompleted) -> None:
        completed.append(event)

    @dispatcher.subscribe(LessonStarted)
    async def on_started(session: AsyncSession, event: LessonStarted) -> None:
        started.append(event)

    user_id = uuid.uuid4()
    async with database.session() as session:
        await dispatcher.publish(session, LessonStarted(user_id=user_id))
        # Handlers are keyed by the exact type: a subclass event is a different event.
        await dispatcher.publish(session, PerfectLessonCompleted(user_id=user_id, xp=5))
        await dispatcher.publish(session, "not an event")

    assert completed == []
    assert started == [LessonStarted(user_id=user_id)]


async def test_publishing_without_handlers_does_nothing(database: Database) -> None:
    dispatcher = EventDispatcher()
    async with database.session() as session:
        await dispatcher.publish(session, LessonStarted(user_id=uuid.uuid4()))
    assert dispatcher.handlers_for(LessonStarted) == []


async def test_dispatchers_are_independent(database: Database) -> None:
    first, second = EventDispatcher(), EventDispatcher()
    calls: list[str] = []

    @first.subscribe(LessonStarted)
    async def handler(session: AsyncSession, event: LessonStarted) -> None:
        calls.append("first")

    async with database.session() as session:
        await second.publish(session, LessonStarted(user_id=uuid.uuid4()))
    assert calls == []
