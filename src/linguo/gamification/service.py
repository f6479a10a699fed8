"""XP, daily goals, streaks and gems: the rules (documented in the README).

- XP is a ledger: one row per award, unique per (learner, source, reference), so an award
  replayed (a lesson finished twice, an event published twice) is written once.
  `users.total_xp` moves in the same transaction as the ledger and always equals its sum.
  The level follows `levels.level_for_xp`. Every award also counts toward the learner's
  league week (see `leagues`). While a double-XP boost runs, lesson, review and
  conversation awards are doubled (the ledger records the multiplier).
- Every change of a learner's XP, streak, gems or inventory first locks their
  `gamification_profiles` row (SELECT ... FOR UPDATE): concurrent requests of one learner
  are serialised, balances cannot go negative, and the gem ledger always sums to the balance.
- Daily goal: `DEFAULT_DAILY_XP_GOAL` XP per local day unless the learner sets another
  (1..500). Reaching it awards `GEMS_DAILY_GOAL` gems, once per local day.
- Streaks are kept on a calendar of local dates (the learner's time zone at the moment of
  the activity). A day counts once the learner passes a lesson, makes
  `REVIEWS_FOR_STREAK` queue reviews that day, or completes a conversation turn.
- Freezes are applied lazily, as a job run at each local midnight would: before a day is
  added, when the streak is read and before a purchase, each missed day since the last
  settled day consumes one equipped freeze (oldest first) and is shown as `frozen`; the
  first missed day without a freeze breaks the streak, and freezes bought later never cover
  earlier days. Settling is idempotent.
- The current streak counts the active days of the run of consecutive calendar days
  (active or frozen) that reaches yesterday or today; frozen days bridge a gap but do not
  add to the count. The longest streak is the best such run. Both are stored on `users` and
  recomputed from the calendar whenever it changes or is read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from linguo.core.errors import Conflict, ErrorCode
from linguo.gamification import leagues, repository
from linguo.gamification.levels import level_for_xp, xp_for_level
from linguo.models.gamification import (
    GamificationProfile,
    GemSource,
    GemTransactionType,
    ShopItemKind,
    StreakDayKind,
    XpSource,
)
from linguo.models.identity import User
from linguo.models.social import ActivityKind
from linguo.social import service as social_service

DEFAULT_DAILY_XP_GOAL = 20
XP_PER_REVIEW = 1
REVIEWS_FOR_STREAK = 5
GEMS_LESSON_PASSED = 5
GEMS_PERFECT_BONUS = 5
GEMS_DAILY_GOAL = 10
BOOST_MULTIPLIER = 2
MAX_FREEZES = 2
FREEZE_ITEM_ID = ShopItemKind.STREAK_FREEZE.value
BOOST_ITEM_ID = ShopItemKind.XP_BOOST.value
BOOSTED_SOURCES = frozenset({XpSource.LESSON, XpSource.REVIEW, XpSource.CONVERSATION})


class InsufficientGems(Conflict):
    """The wallet holds fewer gems than the price."""

    code = ErrorCode.INSUFFICIENT_GEMS
    message = "Not enough gems."


def learner_zone(user: User) -> ZoneInfo:
    """The learner's time zone (UTC if the stored name is unknown)."""
    try:
        return ZoneInfo(user.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(user: User, at: datetime) -> date:
    """The learner's calendar date at instant `at`."""
    return at.astimezone(learner_zone(user)).date()


async def _user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    return user


# --------------------------------------------------------------------------- gems


async def earn_gems(
    session: AsyncSession,
    profile: GamificationProfile,
    *,
    amount: int,
    source: GemSource,
    reference: str,
    at: datetime,
) -> int:
    """Credit gems once per (source, reference) to a locked profile; returns gems credited."""
    if amount <= 0:
        return 0
    added = await repository.insert_gems(
        session,
        user_id=profile.user_id,
        type_=GemTransactionType.EARN,
        amount=amount,
        balance_after=profile.gems + amount,
        source=source,
        reference=reference,
        at=at,
    )
    if not added:
        return 0
    profile.gems += amount
    profile.gems_earned += amount
    profile.updated_at = at
    await session.flush()
    return amount


async def spend_gems(
    session: AsyncSession,
    profile: GamificationProfile,
    *,
    amount: int,
    reference: str,
    at: datetime,
) -> None:
    """Debit gems from a locked profile; InsufficientGems (nothing changed) when short."""
    if profile.gems < amount:
        raise InsufficientGems(
            f"This costs {amount} gems and you have {profile.gems}.",
            details={"price": amount, "gems": profile.gems},
        )
    await repository.insert_gems(
        session,
        user_id=profile.user_id,
        type_=GemTransactionType.SPEND,
        amount=amount,
        balance_after=profile.gems - amount,
        source=GemSource.PURCHASE,
        reference=reference,
        at=at,
    )
    profile.gems -= amount
    profile.gems_spent += amount
    profile.updated_at = at
    await session.flush()


async def grant_gems(
    session: AsyncSession, user_id: uuid.UUID, amount: int, *, reference: str, at: datetime
) -> int:
    """A one-off bonus of gems (support, promotions, tests); once per reference."""
    profile = await repository.lock_profile(session, user_id)
    return await earn_gems(
        session, profile, amount=amount, source=GemSource.BONUS, reference=reference, at=at
    )


# --------------------------------------------------------------------------- XP


@dataclass(frozen=True, slots=True)
class XpAward:
    """What an award did: the XP added (0 when it was made before), and how many awards of
    its source the learner's local day has now."""

    amount: int
    day_awards_of_source: int


async def award_xp(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    source: XpSource,
    reference: str,
    amount: int,
    at: datetime,
) -> XpAward:
    """Award XP once per (source, reference), doubled while a boost runs.

    Reaching the daily goal with it credits the daily-goal gems (once per local day).
    """
    if amount <= 0:
        return XpAward(amount=0, day_awards_of_source=0)
    profile = await repository.lock_profile(session, user_id)
    user = await _user(session, user_id)
    day = local_day(user, at)
    goal_reference = day.isoformat()  # the daily goal's gems are credited once per local day
    today = await repository.record_xp(
        session,
        user_id=user_id,
        source=source,
        reference=reference,
        base_amount=amount,
        boost=(BOOST_ITEM_ID, BOOST_MULTIPLIER) if source in BOOSTED_SOURCES else None,
        local_date=day,
        week_start=leagues.week_start(at),
        daily_goal_reference=goal_reference,
        at=at,
    )
    if today.amount == 0:
        return XpAward(amount=0, day_awards_of_source=today.day_awards_of_source)
    set_committed_value(user, "total_xp", today.total_xp)
    if not today.league_counted:
        await leagues.join_with_xp(session, user_id, today.amount, at)
    if today.day_xp >= profile.daily_xp_goal and not today.daily_goal_rewarded:
        await earn_gems(
            session,
            profile,
            amount=GEMS_DAILY_GOAL,
            source=GemSource.DAILY_GOAL,
            reference=goal_reference,
            at=at,
        )
    return XpAward(amount=today.amount, day_awards_of_source=today.day_awards_of_source)


@dataclass(frozen=True, slots=True)
class GoalStatus:
    """The learner's XP, level and daily goal today."""

    daily_xp: int
    today_xp: int
    met_today: bool
    total_xp: int
    level: int
    level_xp: int
    next_level_xp: int


async def goal_status(session: AsyncSession, user: User, now: datetime) -> GoalStatus:
    """XP today against the goal, total XP and level."""
    profile = await repository.get_profile(session, user.id)
    goal = profile.daily_xp_goal if profile is not None else DEFAULT_DAILY_XP_GOAL
    today = await repository.xp_on_day(session, user.id, local_day(user, now))
    level = level_for_xp(user.total_xp)
    return GoalStatus(
        daily_xp=goal,
        today_xp=today,
        met_today=today >= goal,
        total_xp=user.total_xp,
        level=level,
        level_xp=xp_for_level(level),
        next_level_xp=xp_for_level(level + 1),
    )


async def set_daily_goal(session: AsyncSession, user: User, daily_xp: int, now: datetime) -> None:
    """Change the learner's daily XP goal (1..500, checked by the schema)."""
    profile = await repository.lock_profile(session, user.id)
    profile.daily_xp_goal = daily_xp
    profile.updated_at = now
    await session.flush()


# --------------------------------------------------------------------------- streaks


async def _settle(
    session: AsyncSession, user: User, profile: GamificationProfile, today: date, at: datetime
) -> None:
    """Apply equipped freezes to the missed days before `today` not settled yet (idempotent)."""
    yesterday = today - timedelta(days=1)
    settled = profile.streak_settled_through
    if settled is not None and settled >= yesterday:
        return
    last = await repository.last_day_before(session, user.id, today)
    # Only the run ending on `last` can be kept alive, from the day after it; if that day
    # was judged already (settled) without a freeze, the run broke then.
    if last is not None and (settled is None or last + timedelta(days=1) > settled):
        freeze = await repository.inventory_entry(session, user.id, FREEZE_ITEM_ID)
        day = last + timedelta(days=1)
        while day <= yesterday and freeze is not None and freeze.quantity > 0:
            await repository.add_day(
                session,
                user_id=user.id,
                day=day,
                kind=StreakDayKind.FROZEN,
                timezone=user.timezone,
                at=at,
            )
            freeze.quantity -= 1
            freeze.activated_at = at
            freeze.updated_at = at
            day += timedelta(days=1)
    profile.streak_settled_through = yesterday
    await session.flush()


async def settle_streak(session: AsyncSession, user: User, now: datetime) -> GamificationProfile:
    """Lock the profile, apply freezes to missed days and store the calendar's streaks."""
    profile = await repository.lock_profile(session, user.id)
    today = local_day(user, now)
    await _settle(session, user, profile, today, now)
    current, longest = await repository.streak_lengths(session, user.id, today - timedelta(days=1))
    await repository.store_streaks(session, user, current, longest)
    return profile


async def record_activity(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    """Count the learner's local day of `at` for the streak (idempotent)."""
    user = await _user(session, user_id)
    profile = await repository.lock_profile(session, user_id)
    day = local_day(user, at)
    settled_through = profile.streak_settled_through
    await _settle(session, user, profile, day, at)
    counted = await repository.add_day(
        session,
        user_id=user_id,
        day=day,
        kind=StreakDayKind.ACTIVE,
        timezone=user.timezone,
        at=at,
    )
    if not counted and profile.streak_settled_through == settled_through:
        return  # the day was counted already, and the streaks stored then
    current, longest = await repository.streak_lengths(session, user_id, day - timedelta(days=1))
    await repository.store_streaks(session, user, current, longest)
    if current in social_service.STREAK_MILESTONES:  # the feed tells followers (once per run)
        await social_service.record_activity(
            session,
            user_id,
            ActivityKind.STREAK_MILESTONE,
            reference=f"{current}:{day.isoformat()}",
            data={"days": current},
            now=at,
        )


@dataclass(frozen=True, slots=True)
class StreakStatus:
    """The learner's streak as of now."""

    current: int
    longest: int
    freezes_equipped: int
    today: date
    today_done: bool
    calendar: list[tuple[date, StreakDayKind]]


async def streak_status(
    session: AsyncSession, user: User, now: datetime, *, days: int
) -> StreakStatus:
    """Settle missed days, then the streaks and the last `days` days of the calendar."""
    await settle_streak(session, user, now)
    today = local_day(user, now)
    freeze = await repository.inventory_entry(session, user.id, FREEZE_ITEM_ID)
    return StreakStatus(
        current=user.current_streak,
        longest=user.longest_streak,
        freezes_equipped=freeze.quantity if freeze is not None else 0,
        today=today,
        today_done=await repository.day_kind(session, user.id, today) is StreakDayKind.ACTIVE,
        calendar=await repository.calendar(session, user.id, today - timedelta(days=days - 1)),
    )
