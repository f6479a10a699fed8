"""Queries of gamification: the profile lock, ledgers, the streak calendar, shop and inventory."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    SmallInteger,
    String,
    Uuid,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.db import remember, remembered
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
from linguo.models.leagues import LeagueMembership
from linguo.models.lessons import LessonAttempt

_LOCKED_PROFILES = "linguo.gamification.locked_profiles"
_RECORDED_AWARDS = "linguo.gamification.recorded_awards"


_LOCK_PROFILE = (
    select(GamificationProfile)
    .where(GamificationProfile.user_id == bindparam("profile_user_id", type_=Uuid()))
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def lock_profile(session: AsyncSession, user_id: uuid.UUID) -> GamificationProfile:
    """The learner's profile row, created if missing and locked FOR UPDATE until the commit.

    Locking it again in the same transaction (XP, then achievements, of one event) costs no
    statement: the row is locked already and the session holds its current state.
    """
    locked: GamificationProfile | None = remembered(session, _LOCKED_PROFILES, user_id)
    if locked is not None:
        return locked
    params = {"profile_user_id": user_id}
    profile = (await session.execute(_LOCK_PROFILE, params)).scalar_one_or_none()
    if profile is None:
        await session.execute(
            insert(GamificationProfile).values(user_id=user_id).on_conflict_do_nothing()
        )
        profile = (await session.execute(_LOCK_PROFILE, params)).scalar_one()
    remember(session, _LOCKED_PROFILES, user_id, profile)
    return profile


async def get_profile(session: AsyncSession, user_id: uuid.UUID) -> GamificationProfile | None:
    """The learner's profile row without locking it (None before their first award)."""
    return await session.get(GamificationProfile, user_id)


# --------------------------------------------------------------------------- XP


@dataclass(frozen=True, slots=True)
class XpRecorded:
    """An award as stored: the XP it added (0 if it existed already), the learner's new
    total, whether their league week counted it, and their local day's figures after it."""

    amount: int
    total_xp: int | None
    league_counted: bool
    day_xp: int
    day_awards_of_source: int
    daily_goal_rewarded: bool


# Bound parameters of the award statement, which is built once (see _award_statement).
_XP_COLUMNS = XpLedgerEntry.__table__.c
_AWARD_USER = bindparam("award_user", type_=_XP_COLUMNS.user_id.type)
_AWARD_SOURCE = bindparam("award_source", type_=_XP_COLUMNS.source.type)
_AWARD_AT = bindparam("award_at", type_=_XP_COLUMNS.created_at.type)
_AWARD_DAY = bindparam("award_day", type_=_XP_COLUMNS.local_date.type)
_AWARD_BASE = bindparam("award_base", type_=Integer())


@lru_cache(maxsize=2)
def _award_statement(boostable: bool) -> Select[tuple[Any, ...]]:
    if boostable:
        boost_runs = (
            select(InventoryItem.item_id)
            .where(
                InventoryItem.user_id == _AWARD_USER,
                InventoryItem.item_id == bindparam("award_boost_item", type_=String()),
                InventoryItem.activated_at <= _AWARD_AT,
                InventoryItem.expires_at > _AWARD_AT,
            )
            .exists()
        )
        multiplier: Any = case(
            (boost_runs, bindparam("award_boost_multiplier", type_=SmallInteger())), else_=1
        )
    else:
        multiplier = literal(1, SmallInteger())
    boost = select(multiplier.label("multiplier")).cte("boost")
    inserted = (
        insert(XpLedgerEntry)
        .from_select(
            [
                "user_id",
                "source",
                "reference",
                "base_amount",
                "multiplier",
                "amount",
                "local_date",
                "created_at",
            ],
            select(
                _AWARD_USER,
                _AWARD_SOURCE,
                bindparam("award_reference", type_=String()),
                _AWARD_BASE,
                boost.c.multiplier,
                _AWARD_BASE * boost.c.multiplier,
                _AWARD_DAY,
                _AWARD_AT,
            ),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "source", "reference"])
        .returning(XpLedgerEntry.amount)
        .cte("inserted")
    )
    added = select(inserted.c.amount).scalar_subquery()
    was_added = select(inserted.c.amount).exists()
    total = (
        update(User)
        .where(User.id == _AWARD_USER, was_added)
        .values(total_xp=User.total_xp + added, updated_at=_AWARD_AT)
        .returning(User.total_xp)
        .cte("total")
    )
    league = (
        update(LeagueMembership)
        .where(
            LeagueMembership.user_id == _AWARD_USER,
            LeagueMembership.week_start == bindparam("award_week", type_=Date()),
            LeagueMembership.outcome.is_(None),
            was_added,
        )
        .values(xp=LeagueMembership.xp + added, xp_reached_at=_AWARD_AT)
        .returning(LeagueMembership.user_id)
        .cte("league")
    )
    goal_rewarded = (
        select(GemTransaction.id)
        .where(
            GemTransaction.user_id == _AWARD_USER,
            GemTransaction.source == GemSource.DAILY_GOAL,
            GemTransaction.reference == bindparam("award_goal_reference", type_=String()),
        )
        .exists()
    )
    return select(
        func.coalesce(added, 0),
        select(total.c.total_xp).scalar_subquery(),
        select(league.c.user_id).exists(),
        goal_rewarded,
        func.coalesce(func.sum(XpLedgerEntry.amount), 0),
        func.count().filter(XpLedgerEntry.source == _AWARD_SOURCE),
    ).where(XpLedgerEntry.user_id == _AWARD_USER, XpLedgerEntry.local_date == _AWARD_DAY)


async def record_xp(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    source: XpSource,
    reference: str,
    base_amount: int,
    boost: tuple[str, int] | None,
    local_date: date,
    week_start: date,
    daily_goal_reference: str,
    at: datetime,
) -> XpRecorded:
    """Append an award unless (user, source, reference) exists, and count it everywhere.

    One statement of data-modifying CTEs: the ledger row (multiplied while the learner's
    `boost` item, given as (item id, multiplier), runs), users.total_xp and the league
    week's XP. The day's sums are read from the snapshot before the insert (PostgreSQL's
    rule for such CTEs), so the new row is added to them here. A learner without an
    unsettled membership of the week is not counted in a league (`league_counted` False):
    joining one is leagues' business. `daily_goal_rewarded` tells whether the day's
    daily-goal gems (reference `daily_goal_reference`) were credited already.
    """
    # The parameters are named apart from the columns: an UPDATE would take a parameter
    # named like one of its table's columns as a value to set.
    params: dict[str, Any] = {
        "award_user": user_id,
        "award_source": source,
        "award_reference": reference,
        "award_base": base_amount,
        "award_day": local_date,
        "award_week": week_start,
        "award_goal_reference": daily_goal_reference,
        "award_at": at,
    }
    if boost is not None:
        params["award_boost_item"], params["award_boost_multiplier"] = boost
    row = (await session.execute(_award_statement(boost is not None), params)).one()
    amount, total_xp, league_counted, goal_rewarded, day_xp, awards = row
    added = amount > 0
    if added:  # xp_awarded answers from this until the (sub)transaction ends
        remember(session, _RECORDED_AWARDS, (user_id, source, reference), int(amount))
    return XpRecorded(
        amount=int(amount),
        total_xp=total_xp,
        league_counted=bool(league_counted),
        day_xp=int(day_xp) + int(amount),
        day_awards_of_source=int(awards) + (1 if added else 0),
        daily_goal_rewarded=bool(goal_rewarded),
    )


async def xp_on_day(session: AsyncSession, user_id: uuid.UUID, day: date) -> int:
    """XP earned on one local day."""
    stmt = select(func.coalesce(func.sum(XpLedgerEntry.amount), 0)).where(
        XpLedgerEntry.user_id == user_id, XpLedgerEntry.local_date == day
    )
    return int((await session.execute(stmt)).scalar_one())


async def xp_awarded(
    session: AsyncSession, user_id: uuid.UUID, source: XpSource, reference: str
) -> int | None:
    """The XP one award actually added (boost included), or None if it was never made.

    An award recorded in the current (sub)transaction is known without a query.
    """
    known: int | None = remembered(session, _RECORDED_AWARDS, (user_id, source, reference))
    if known is not None:
        return known
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
