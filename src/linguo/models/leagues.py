"""Weekly leagues: groups of up to 30 learners of one tier, and each learner's week in one."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, UUIDPrimaryKey, pg_enum


class LeagueOutcome(StrEnum):
    """Where a learner's week in a league took them."""

    PROMOTED = "promoted"
    STAYED = "stayed"
    DEMOTED = "demoted"


class LeagueGroup(UUIDPrimaryKey, Base):
    """One league group of a week: learners of one tier, at most 30 (see gamification.leagues).

    Each (week, tier) has at most one open group; it closes when it is full.
    """

    __tablename__ = "league_groups"
    __table_args__ = (
        UniqueConstraint("week_start", "tier", "number"),
        CheckConstraint("tier >= 0 AND tier <= 9", name="tier"),
        CheckConstraint("member_count >= 0", name="member_count"),
        Index(
            "uq_league_groups_open",
            "week_start",
            "tier",
            unique=True,
            postgresql_where=text("is_open"),
        ),
        # The rollover looks for groups of past weeks not settled yet.
        Index(
            "ix_league_groups_unsettled", "week_start", postgresql_where=text("settled_at IS NULL")
        ),
    )

    week_start: Mapped[date] = mapped_column(Date)
    tier: Mapped[int] = mapped_column(SmallInteger)
    number: Mapped[int] = mapped_column(Integer)
    member_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    is_open: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LeagueMembership(Base):
    """A learner's week in a league group: weekly XP, and once settled, rank and outcome."""

    __tablename__ = "league_memberships"
    __table_args__ = (
        CheckConstraint("tier >= 0 AND tier <= 9", name="tier"),
        CheckConstraint("xp >= 0", name="xp"),
        # The standings of a group: most XP first, then who got there first.
        Index("ix_league_memberships_standings", "group_id", text("xp DESC"), "xp_reached_at"),
        # Learners waiting for a group, by week and tier, first come first placed.
        Index(
            "ix_league_memberships_waiting",
            "week_start",
            "tier",
            "joined_at",
            postgresql_where=text("group_id IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    # None while the learner waits for a place (see gamification.leagues.place_waiting).
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("league_groups.id", ondelete="CASCADE")
    )
    tier: Mapped[int] = mapped_column(SmallInteger)
    xp: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    xp_reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    final_rank: Mapped[int | None] = mapped_column(SmallInteger)
    outcome: Mapped[LeagueOutcome | None] = mapped_column(pg_enum(LeagueOutcome, "league_outcome"))
