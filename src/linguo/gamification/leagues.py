"""Weekly leagues: the rules (documented in the README).

- Weeks run Monday 00:00 UTC to the next Monday 00:00 UTC, the same for every learner.
- Ten tiers, TIERS[0] (Bronze) to TIERS[9] (Diamond). A learner plays the tier their last
  settled week took them to (Bronze at first); skipping weeks keeps the tier.
- A learner joins the league of their tier with their first XP of the week and is placed in
  a group. Each (week, tier) has one open group; it takes learners until GROUP_SIZE, then
  closes and the next placement opens a new one. Placing happens under the group's row lock,
  so groups never exceed GROUP_SIZE. That lock lasts until the placing transaction commits,
  so a joiner never waits for it: when another transaction holds it (a burst of joiners,
  say at the start of a week), the learner waits unplaced and is placed, in order of
  joining, by the next placement: the next joiner who gets the lock, their own leaderboard
  read, or the rollover job (every 10 minutes).
- All XP counts toward the week (lessons, reviews, conversation, goals, achievements, as
  awarded, boosts included). Standings: most XP first; ties go to who reached their XP first.
- Settlement, when the week is over: the top PROMOTED_PER_TIER[tier] ranks go up a tier,
  ranks DEMOTION_FROM_RANK and below go down (none in Bronze), the rest stay. Each group is
  settled once, under its row lock, in one statement. The rollover job settles every
  finished week's groups (so a late or repeated run is correct); a learner whose previous
  week is not settled yet when they earn XP gets that group settled first, so their new
  tier is right even before the job has run.
- Promotions go to the feed as `league_promotion` activities.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.gamification import leagues_repository as repository
from linguo.models.leagues import LeagueGroup, LeagueMembership, LeagueOutcome
from linguo.models.social import ActivityKind
from linguo.social import service as social_service

if TYPE_CHECKING:
    from linguo.core.db import Database

TIERS = (
    "Bronze",
    "Silver",
    "Gold",
    "Sapphire",
    "Ruby",
    "Emerald",
    "Amethyst",
    "Pearl",
    "Obsidian",
    "Diamond",
)
GROUP_SIZE = 30
PROMOTED_PER_TIER = (20, 15, 10, 7, 7, 7, 7, 7, 5, 0)
DEMOTION_FROM_RANK = 24
TOP_TIER = len(TIERS) - 1

Zone = Literal["promotion", "safe", "demotion"]


def week_start(at: datetime) -> date:
    """The Monday (UTC) of the league week containing `at`."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def week_ends_at(start: date) -> datetime:
    """The instant the week starting on `start` ends: the next Monday 00:00 UTC."""
    return datetime.combine(start + timedelta(days=7), time(0), tzinfo=UTC)


def promotion_rank(tier: int) -> int | None:
    """The last rank promoted from `tier` (None in the top tier)."""
    return PROMOTED_PER_TIER[tier] or None


def demotion_rank(tier: int) -> int | None:
    """The first rank demoted from `tier` (None in Bronze)."""
    return DEMOTION_FROM_RANK if tier > 0 else None


def _next_tier(tier: int, outcome: LeagueOutcome | None) -> int:
    if outcome is LeagueOutcome.PROMOTED:
        return min(tier + 1, TOP_TIER)
    if outcome is LeagueOutcome.DEMOTED:
        return max(tier - 1, 0)
    return tier


async def settle_group(session: AsyncSession, group_id: uuid.UUID, at: datetime) -> bool:
    """Rank a finished week's group and store each member's outcome; once per group.

    Returns False when the group was settled already (by another run or a joining learner).
    """
    group = await repository.lock_unsettled_group(session, group_id)
    if group is None:
        return False
    settled = await repository.settle_members(
        session,
        group.id,
        promoted=PROMOTED_PER_TIER[group.tier],
        demoted_from=demotion_rank(group.tier),
    )
    for member in settled:
        if member.outcome is not LeagueOutcome.PROMOTED:
            continue
        await social_service.record_activity(
            session,
            member.user_id,
            ActivityKind.LEAGUE_PROMOTION,
            reference=f"{group.week_start.isoformat()}:{group.tier}",
            data={
                "week_start": group.week_start.isoformat(),
                "from_league": TIERS[group.tier],
                "to_league": TIERS[_next_tier(group.tier, member.outcome)],
                "rank": member.rank,
                "xp": member.xp,
            },
            now=at,
        )
    group.settled_at = at
    group.is_open = False
    await session.flush()
    return True


async def current_tier(session: AsyncSession, user_id: uuid.UUID, week: date, at: datetime) -> int:
    """The tier the learner plays in `week`: where their last earlier week took them.

    A finished week not settled yet (the rollover has not run) is settled first.
    """
    last = await repository.last_membership_before(session, user_id, week)
    if last is None:
        return 0
    if last.outcome is None:
        if last.group_id is None:
            await place_waiting(session, last.week_start, last.tier, at)
            await session.refresh(last)
        if last.group_id is not None:  # else another transaction holds the row: not settled yet
            await settle_group(session, last.group_id, at)
            await session.refresh(last)
    return _next_tier(last.tier, last.outcome)


async def place_waiting(
    session: AsyncSession,
    week: date,
    tier: int,
    at: datetime,
    group: LeagueGroup | None = None,
) -> int:
    """Place the (week, tier)'s waiting learners in groups, first joined first; how many.

    `group` is the open group when the caller holds its lock already.
    """
    if group is None:
        group = await repository.lock_open_group(session, week, tier)
    placed = 0
    for member in await repository.lock_waiting_members(session, week, tier):
        while group is None or not group.is_open:
            await session.flush()  # the full group is closed before the next one opens
            await repository.open_new_group(session, week, tier, at)
            group = await repository.lock_open_group(session, week, tier)
        member.group_id = group.id
        group.member_count += 1
        if group.member_count >= GROUP_SIZE:
            group.is_open = False
        placed += 1
    await session.flush()
    return placed


async def _join(
    session: AsyncSession, user_id: uuid.UUID, week: date, at: datetime
) -> LeagueMembership:
    tier = await current_tier(session, user_id, week, at)
    member = LeagueMembership(
        user_id=user_id,
        week_start=week,
        group_id=None,
        tier=tier,
        xp=0,
        xp_reached_at=at,
        joined_at=at,
    )
    session.add(member)
    await session.flush()
    group = await repository.lock_open_group(session, week, tier, skip_locked=True)
    if group is None and await repository.has_open_group(session, week, tier):
        return member  # another joiner holds the group: the next placement takes this one
    await place_waiting(session, week, tier, at, group)
    return member


async def join_with_xp(
    session: AsyncSession, user_id: uuid.UUID, amount: int, at: datetime
) -> None:
    """Count XP that found no unsettled membership of its week: the week's first XP joins
    a group with it; XP dated in a week whose group is settled already changes nothing.

    gamification.service.award_xp counts XP toward an existing membership itself, in its
    award statement, and calls this with the learner's gamification profile locked.
    """
    if amount <= 0:
        return
    week = week_start(at)
    if await repository.membership(session, user_id, week) is not None:
        return  # that week is settled already
    member = await _join(session, user_id, week, at)
    member.xp += amount
    member.xp_reached_at = at
    await session.flush()


async def rollover(db: Database, now: datetime) -> int:
    """Place waiting learners, then settle the groups of weeks ended by `now`; how many settled.

    Each group is settled in its own transaction, so a large rollover holds no long locks
    and a failure leaves the groups done so far settled. Running it twice settles nothing more.
    """
    async with db.session() as session:
        waiting = await repository.weeks_with_waiting_members(session, week_start(now))
    for week, tier in waiting:
        async with db.session() as session:
            await place_waiting(session, week, tier, now)
    async with db.session() as session:
        pending = await repository.unsettled_groups_before(session, week_start(now))
    settled = 0
    for group_id in pending:
        async with db.session() as session:
            settled += await settle_group(session, group_id, now)
    return settled


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    """One learner's place in the group."""

    rank: int
    user_id: uuid.UUID
    display_name: str
    xp: int
    zone: Zone


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """The caller's league this week."""

    tier: int
    week_start: date
    week_end: date
    ends_at: datetime
    joined: bool
    my_rank: int | None
    my_xp: int
    entries: list[LeaderboardEntry]

    @property
    def league(self) -> str:
        """The tier's name."""
        return TIERS[self.tier]


def _zone(tier: int, rank: int) -> Zone:
    promote, demote = promotion_rank(tier), demotion_rank(tier)
    if promote is not None and rank <= promote:
        return "promotion"
    if demote is not None and rank >= demote:
        return "demotion"
    return "safe"


async def leaderboard(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> Leaderboard:
    """The caller's group this week by rank; before their first XP, their tier and no entries."""
    week = week_start(now)
    member = await repository.membership(session, user_id, week)
    tier = member.tier if member is not None else await current_tier(session, user_id, week, now)
    if member is not None and member.group_id is None:
        await place_waiting(session, week, tier, now)
        await session.refresh(member)
    entries: list[LeaderboardEntry] = []
    if member is not None and member.group_id is not None:
        entries = [
            LeaderboardEntry(
                rank=row.rank,
                user_id=row.user.id,
                display_name=social_service.display_name(row.user),
                xp=row.xp,
                zone=_zone(tier, row.rank),
            )
            for row in await repository.standings(session, member.group_id)
        ]
    my_rank = next((entry.rank for entry in entries if entry.user_id == user_id), None)
    return Leaderboard(
        tier=tier,
        week_start=week,
        week_end=week + timedelta(days=6),
        ends_at=week_ends_at(week),
        joined=member is not None,
        my_rank=my_rank,
        my_xp=member.xp if member is not None else 0,
        entries=entries,
    )
