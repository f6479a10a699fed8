"""Queries of gamification: the profile lock, ledgers, the streak calendar, shop and inventory."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.gamification import (
    GamificationProfile,
    GemSource,
    GemTransaction,
    GemTransactionType,
    InventoryItem,
    Purchase,
    ShopItem,
    StreakDay,
    StreakDayKind,
    XpLedgerEntry,
    XpSource,
)
from linguo.models.identity import User
from linguo.models.lessons import LessonAttempt

_LOCKED_PROFILES = "linguo.gamification.locked_profiles"


def _innermost_transaction(session: AsyncSession) -> object | None:
    # A savepoint rolled back releases the row locks taken inside it: remember a lock per
    # (sub)transaction, so that one taken in a savepoint never counts outside it.
    sync = session.sync_session
    return sync.get_nested_transaction() or sync.get_transaction()


async def lock_profile(session: AsyncSession, user_id: uuid.UUID) -> GamificationProfile:
    """The learner's profile row, created if missing and locked FOR UPDATE until the commit.

    Locking it again in the same transaction (XP, then achievements, of one event) costs no
    statement: the row is locked already and the session holds its current state.
    """
    transaction = _innermost_transaction(session)
    locked: dict[uuid.UUID, tuple[object, GamificationProfile]] = session.info.setdefault(
        _LOCKED_PROFILES, {}
    )
    known = locked.get(user_id)
    if known is not None and transaction is not None and known[0] is transaction:
        return known[1]
    stmt = (
        select(GamificationProfile)
        .where(GamificationProfile.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    profile = (await session.execute(stmt)).scalar_one_or_none()
    if profile is None:
        await session.execute(
            insert(GamificationProfile).values(user_id=user_id).on_conflict_do_nothing()
        )
        profile = (await session.execute(stmt)).scalar_one()
    locked[user_id] = (_innermost_transaction(session), profile)
    return profile


async def get_profile(session: AsyncSession, user_id: uuid.UUID) -> GamificationProfile | None:
    """The learner's profile row without locking it (None before their first award)."""
    return await session.get(GamificationProfile, user_id)


# --------------------------------------------------------------------------- XP


@dataclass(frozen=True, slots=True)
class XpDay:
    """The learner's local day after an award: was it added, the day's XP and awards."""

    added: bool
    day_xp: int
    day_awards_of_source: int


async def insert_xp(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    source: XpSource,
    reference: str,
    base_amount: int,
    multiplier: int,
    local_date: date,
    at: datetime,
) -> XpDay:
    """Append an award unless (user, source, reference) exists; the day's figures after it.

    One statement: the insert runs as a data-modifying CTE, and the day's sums are read from
    the snapshot before it (PostgreSQL's rule for such CTEs), then the insert's row is added.
    """
    amount = base_amount * multiplier
    inserted = (
        insert(XpLedgerEntry)
        .values(
            user_id=user_id,
            source=source,
            reference=reference,
            base_amount=base_amount,
            multiplier=multiplier,
            amount=amount,
            local_date=local_date,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "source", "reference"])
        .returning(XpLedgerEntry.id)
        .cte("inserted")
    )
    stmt = select(
        select(func.count()).select_from(inserted).scalar_subquery(),
        func.coalesce(func.sum(XpLedgerEntry.amount), 0),
        func.count().filter(XpLedgerEntry.source == source),
    ).where(XpLedgerEntry.user_id == user_id, XpLedgerEntry.local_date == local_date)
    added, day_xp, awards = (await session.execute(stmt)).one()
    return XpDay(
        added=bool(added),
        day_xp=int(day_xp) + (amount if added else 0),
        day_awards_of_source=int(awards) + (1 if added else 0),
    )


async def add_total_xp(session: AsyncSession, user_id: uuid.UUID, amount: int) -> int:
    """Add to users.total_xp atomically; returns the new total."""
    stmt = (
        update(User)
        .where(User.id == user_id)
        .values(total_xp=User.total_xp + amount)
        .returning(User.total_xp)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(stmt)).scalar_one())


async def xp_on_day(session: AsyncSession, user_id: uuid.UUID, day: date) -> int:
    """XP earned on one local day."""
    stmt = select(func.coalesce(func.sum(XpLedgerEntry.amount), 0)).where(
        XpLedgerEntry.user_id == user_id, XpLedgerEntry.local_date == day
    )
    return int((await session.execute(stmt)).scalar_one())


async def xp_awarded(
    session: AsyncSession, user_id: uuid.UUID, source: XpSource, reference: str
) -> int | None:
    """The XP one award actually added (boost included), or None if it was never made."""
    stmt = select(XpLedgerEntry.amount).where(
        XpLedgerEntry.user_id == user_id,
        XpLedgerEntry.source == source,
        XpLedgerEntry.reference == reference,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def xp_history(user_id: uuid.UUID) -> Select[XpLedgerEntry]:
    """The learner's XP awards, newest first."""
    return (
        select(XpLedgerEntry)
        .where(XpLedgerEntry.user_id == user_id)
        .order_by(XpLedgerEntry.id.desc())
    )


# --------------------------------------------------------------------------- streaks


async def last_day_before(session: AsyncSession, user_id: uuid.UUID, day: date) -> date | None:
    """The latest calendar day (active or frozen) before `day`."""
    stmt = select(func.max(StreakDay.day)).where(StreakDay.user_id == user_id, StreakDay.day < day)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_day(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    day: date,
    kind: StreakDayKind,
    timezone: str,
    at: datetime,
) -> bool:
    """Put a day on the calendar; an active day overrides a frozen one. True when it changed."""
    stmt = insert(StreakDay).values(
        user_id=user_id, day=day, kind=kind, timezone=timezone, created_at=at
    )
    if kind is StreakDayKind.ACTIVE:
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id", "day"],
            set_={"kind": kind, "timezone": timezone},
            where=StreakDay.kind != StreakDayKind.ACTIVE,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["user_id", "day"])
    result = await session.execute(stmt.returning(StreakDay.day))
    return result.scalar_one_or_none() is not None


async def day_kind(session: AsyncSession, user_id: uuid.UUID, day: date) -> StreakDayKind | None:
    """How a day stands on the calendar, if it is on it."""
    stmt = select(StreakDay.kind).where(StreakDay.user_id == user_id, StreakDay.day == day)
    return (await session.execute(stmt)).scalar_one_or_none()


_STREAKS_SQL = text(
    """
    WITH days AS (
        SELECT day, kind, day - (row_number() OVER (ORDER BY day))::int AS run
        FROM streak_days WHERE user_id = :user_id
    ), runs AS (
        SELECT max(day) AS last_day, count(*) FILTER (WHERE kind = 'active') AS active_days
        FROM days GROUP BY run
    )
    SELECT
        coalesce(max(active_days) FILTER (WHERE last_day >= :yesterday), 0) AS current,
        coalesce(max(active_days), 0) AS longest
    FROM runs
    """
)


async def streak_lengths(
    session: AsyncSession, user_id: uuid.UUID, yesterday: date
) -> tuple[int, int]:
    """(current, longest) from the calendar: runs of consecutive days, counting active ones.

    The current run is the one reaching yesterday or later (today not done yet keeps it).
    """
    row = (await session.execute(_STREAKS_SQL, {"user_id": user_id, "yesterday": yesterday})).one()
    return int(row.current), int(row.longest)


async def store_streaks(session: AsyncSession, user: User, current: int, longest: int) -> None:
    """Keep users.current_streak / longest_streak equal to the calendar's figures."""
    if (user.current_streak, user.longest_streak) != (current, longest):
        user.current_streak = current
        user.longest_streak = longest
        await session.flush()


async def calendar(
    session: AsyncSession, user_id: uuid.UUID, since: date
) -> list[tuple[date, StreakDayKind]]:
    """Calendar days from `since` on, oldest first."""
    stmt = (
        select(StreakDay.day, StreakDay.kind)
        .where(StreakDay.user_id == user_id, StreakDay.day >= since)
        .order_by(StreakDay.day)
    )
    return [(day, kind) for day, kind in (await session.execute(stmt)).all()]


# --------------------------------------------------------------------------- gems


async def insert_gems(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    type_: GemTransactionType,
    amount: int,
    balance_after: int,
    source: GemSource,
    reference: str,
    at: datetime,
) -> bool:
    """Append a gem movement unless (user, source, reference) exists; True when added."""
    stmt = (
        insert(GemTransaction)
        .values(
            user_id=user_id,
            type=type_,
            amount=amount,
            balance_after=balance_after,
            source=source,
            reference=reference,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "source", "reference"])
        .returning(GemTransaction.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


def gem_history(user_id: uuid.UUID) -> Select[GemTransaction]:
    """The learner's gem movements, newest first."""
    return (
        select(GemTransaction)
        .where(GemTransaction.user_id == user_id)
        .order_by(GemTransaction.id.desc())
    )


# --------------------------------------------------------------------------- shop


async def shop_items(session: AsyncSession) -> list[ShopItem]:
    """Every item of the shop, in display order."""
    stmt = select(ShopItem).order_by(ShopItem.position, ShopItem.id)
    return list((await session.execute(stmt)).scalars())


async def get_item(session: AsyncSession, item_id: str) -> ShopItem | None:
    """One shop item by its slug."""
    return await session.get(ShopItem, item_id)


async def upsert_items(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or update shop items by id."""
    stmt = insert(ShopItem).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            name: stmt.excluded[name]
            for name in (
                "kind",
                "name",
                "description",
                "price_gems",
                "max_owned",
                "duration_minutes",
                "position",
            )
        },
    )
    await session.execute(stmt)


async def inventory_entry(
    session: AsyncSession, user_id: uuid.UUID, item_id: str, *, create_at: datetime | None = None
) -> InventoryItem | None:
    """The learner's holding of an item (created empty when `create_at` is given).

    Callers hold the profile lock, which serialises every change of the learner's inventory.
    """
    if create_at is not None:
        await session.execute(
            insert(InventoryItem)
            .values(user_id=user_id, item_id=item_id, quantity=0, updated_at=create_at)
            .on_conflict_do_nothing()
        )
    stmt = (
        select(InventoryItem)
        .where(InventoryItem.user_id == user_id, InventoryItem.item_id == item_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def inventory(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[InventoryItem, ShopItem]]:
    """Every item the learner holds or has held, in shop order."""
    stmt = (
        select(InventoryItem, ShopItem)
        .join(ShopItem, ShopItem.id == InventoryItem.item_id)
        .where(InventoryItem.user_id == user_id)
        .order_by(ShopItem.position, ShopItem.id)
    )
    return [(entry, item) for entry, item in (await session.execute(stmt)).all()]


async def boost_active_at(
    session: AsyncSession, user_id: uuid.UUID, item_id: str, at: datetime
) -> bool:
    """Whether the learner's timed item `item_id` runs at `at`."""
    stmt = select(func.count()).where(
        InventoryItem.user_id == user_id,
        InventoryItem.item_id == item_id,
        InventoryItem.activated_at <= at,
        InventoryItem.expires_at > at,
    )
    return int((await session.execute(stmt)).scalar_one()) > 0


async def purchase_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> Purchase | None:
    """A completed purchase by its idempotency key."""
    stmt = select(Purchase).where(Purchase.user_id == user_id, Purchase.idempotency_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_attempt(
    session: AsyncSession, user_id: uuid.UUID, attempt_id: uuid.UUID
) -> LessonAttempt | None:
    """The learner's lesson attempt, locked FOR UPDATE."""
    stmt = (
        select(LessonAttempt)
        .where(LessonAttempt.id == attempt_id, LessonAttempt.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
