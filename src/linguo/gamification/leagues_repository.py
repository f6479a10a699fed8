"""Queries of weekly leagues: groups, memberships, standings and the week's settlement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.identity import User
from linguo.models.leagues import LeagueGroup, LeagueMembership, LeagueOutcome


async def membership(
    session: AsyncSession, user_id: uuid.UUID, week_start: date
) -> LeagueMembership | None:
    """The learner's membership of the week, if they joined."""
    return await session.get(LeagueMembership, (user_id, week_start))


async def last_membership_before(
    session: AsyncSession, user_id: uuid.UUID, week_start: date
) -> LeagueMembership | None:
    """The learner's most recent membership of an earlier week."""
    stmt = (
        select(LeagueMembership)
        .where(LeagueMembership.user_id == user_id, LeagueMembership.week_start < week_start)
        .order_by(LeagueMembership.week_start.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _open_group(week_start: date, tier: int) -> Select[LeagueGroup]:
    return select(LeagueGroup).where(
        LeagueGroup.week_start == week_start,
        LeagueGroup.tier == tier,
        LeagueGroup.is_open.is_(True),
    )


async def lock_open_group(
    session: AsyncSession, week_start: date, tier: int, *, skip_locked: bool = False
) -> LeagueGroup | None:
    """The open group of (week, tier), locked until the commit; None if there is none.

    Under READ COMMITTED a row closed by a concurrent transaction no longer matches after the
    lock wait and is skipped, so the caller never joins a group that just filled up. With
    `skip_locked`, None also when another transaction holds the group.
    """
    stmt = (
        _open_group(week_start, tier)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def has_open_group(session: AsyncSession, week_start: date, tier: int) -> bool:
    """Whether (week, tier) has an open group, locked by someone or not."""
    stmt = select(_open_group(week_start, tier).exists())
    return bool(await session.scalar(stmt))


async def lock_waiting_members(
    session: AsyncSession, week_start: date, tier: int
) -> list[LeagueMembership]:
    """The (week, tier)'s learners waiting for a group, first joined first, locked.

    Rows another transaction holds (the learner earning XP right now) are skipped: the next
    placement takes them.
    """
    stmt = (
        select(LeagueMembership)
        .where(
            LeagueMembership.week_start == week_start,
            LeagueMembership.tier == tier,
            LeagueMembership.group_id.is_(None),
        )
        .order_by(LeagueMembership.joined_at, LeagueMembership.user_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def weeks_with_waiting_members(
    session: AsyncSession, up_to_week: date
) -> list[tuple[date, int]]:
    """(week, tier) pairs up to `up_to_week` with learners waiting for a group, oldest first."""
    stmt = (
        select(LeagueMembership.week_start, LeagueMembership.tier)
        .where(LeagueMembership.group_id.is_(None), LeagueMembership.week_start <= up_to_week)
        .distinct()
        .order_by(LeagueMembership.week_start, LeagueMembership.tier)
    )
    return [(week, int(tier)) for week, tier in (await session.execute(stmt)).all()]


async def open_new_group(session: AsyncSession, week_start: date, tier: int, at: datetime) -> None:
    """Open the next group of (week, tier) unless one is open already (concurrency-safe)."""
    next_number = (
        select(func.coalesce(func.max(LeagueGroup.number), 0) + 1)
        .where(LeagueGroup.week_start == week_start, LeagueGroup.tier == tier)
        .scalar_subquery()
    )
    stmt = insert(LeagueGroup).values(
        id=uuid.uuid4(), week_start=week_start, tier=tier, number=next_number, created_at=at
    )
    # Either unique index may refuse a concurrent twin (one open group; one group per number).
    await session.execute(stmt.on_conflict_do_nothing())


async def lock_unsettled_group(session: AsyncSession, group_id: uuid.UUID) -> LeagueGroup | None:
    """The group locked for settlement, or None when it is settled already."""
    stmt = (
        select(LeagueGroup)
        .where(LeagueGroup.id == group_id, LeagueGroup.settled_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def unsettled_groups_before(session: AsyncSession, week_start: date) -> list[uuid.UUID]:
    """Groups of weeks before `week_start` not settled yet, oldest week first."""
    stmt = (
        select(LeagueGroup.id)
        .where(LeagueGroup.settled_at.is_(None), LeagueGroup.week_start < week_start)
        .order_by(LeagueGroup.week_start, LeagueGroup.tier, LeagueGroup.number)
    )
    return list((await session.execute(stmt)).scalars())


def _rank_column() -> object:
    return (
        func.row_number()
        .over(
            partition_by=LeagueMembership.group_id,
            order_by=(
                LeagueMembership.xp.desc(),
                LeagueMembership.xp_reached_at,
                LeagueMembership.joined_at,
                LeagueMembership.user_id,
            ),
        )
        .label("rank")
    )


@dataclass(frozen=True, slots=True)
class Settled:
    """One member's result of a settled week."""

    user_id: uuid.UUID
    rank: int
    xp: int
    outcome: LeagueOutcome


async def settle_members(
    session: AsyncSession, group_id: uuid.UUID, *, promoted: int, demoted_from: int | None
) -> list[Settled]:
    """Store every member's final rank and outcome in one statement; returns them by rank."""
    ranked = (
        select(LeagueMembership.user_id, LeagueMembership.week_start, _rank_column())  # type: ignore[call-overload]
        .where(LeagueMembership.group_id == group_id)
        .subquery()
    )
    demote = literal(False) if demoted_from is None else ranked.c.rank >= demoted_from
    outcome = case(
        (ranked.c.rank <= promoted, literal(LeagueOutcome.PROMOTED.value)),
        (demote, literal(LeagueOutcome.DEMOTED.value)),
        else_=literal(LeagueOutcome.STAYED.value),
    )
    stmt = (
        update(LeagueMembership)
        .where(
            and_(
                LeagueMembership.user_id == ranked.c.user_id,
                LeagueMembership.week_start == ranked.c.week_start,
            )
        )
        .values(final_rank=ranked.c.rank, outcome=outcome.cast(LeagueMembership.outcome.type))
        .returning(
            LeagueMembership.user_id,
            LeagueMembership.final_rank,
            LeagueMembership.xp,
            LeagueMembership.outcome,
        )
    )
    rows = (await session.execute(stmt.execution_options(synchronize_session=False))).all()
    settled = [
        Settled(user_id=user_id, rank=rank or 0, xp=xp, outcome=LeagueOutcome(str(outcome)))
        for user_id, rank, xp, outcome in rows
    ]
    return sorted(settled, key=lambda member: member.rank)


@dataclass(frozen=True, slots=True)
class Standing:
    """One row of a group's leaderboard."""

    rank: int
    user: User
    xp: int


async def standings(session: AsyncSession, group_id: uuid.UUID) -> list[Standing]:
    """The group's members by rank (most XP first; ties: who reached their XP first)."""
    stmt = (
        select(_rank_column(), User, LeagueMembership.xp)  # type: ignore[call-overload]
        .join(User, User.id == LeagueMembership.user_id)
        .where(LeagueMembership.group_id == group_id)
        .order_by("rank")
    )
    return [
        Standing(rank=int(rank), user=user, xp=int(xp))
        for rank, user, xp in (await session.execute(stmt)).all()
    ]


def history(user_id: uuid.UUID) -> Select[LeagueMembership]:
    """The learner's weeks in leagues, newest first."""
    return (
        select(LeagueMembership)
        .where(LeagueMembership.user_id == user_id)
        .order_by(LeagueMembership.week_start.desc())
    )


async def group_sizes(
    session: AsyncSession, group_ids: list[uuid.UUID | None]
) -> dict[uuid.UUID | None, int]:
    """How many learners each group has (none for a learner still waiting for one)."""
    placed = [group_id for group_id in group_ids if group_id is not None]
    if not placed:
        return {}
    stmt = select(LeagueGroup.id, LeagueGroup.member_count).where(LeagueGroup.id.in_(placed))
    return {group_id: int(count) for group_id, count in (await session.execute(stmt)).all()}
