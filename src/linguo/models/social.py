"""Social tables: who follows whom, the activity feed and each learner's sharing setting."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, pg_enum


class ActivityKind(StrEnum):
    """What a feed entry tells followers about."""

    LESSON_PASSED = "lesson_passed"
    ACHIEVEMENT_UNLOCKED = "achievement_unlocked"
    STREAK_MILESTONE = "streak_milestone"
    LEAGUE_PROMOTION = "league_promotion"


class Follow(Base):
    """`follower_id` follows `followee_id`; a learner never follows themselves."""

    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        # The primary key serves "whom do I follow" (and the feed's join); this one the
        # followers list.
        Index("ix_follows_followee_id_created_at", "followee_id", "created_at"),
    )

    follower_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SocialProfile(Base):
    """A learner's sharing choice; no row means the default (activity is shared)."""

    __tablename__ = "social_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    share_activity: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Activity(Base):
    """One feed entry. (user, kind, reference) is unique: a replayed event adds nothing."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "reference"),
        # The feed: the followed learners' public entries, newest first.
        Index(
            "ix_activities_feed",
            "user_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("is_public"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ActivityKind] = mapped_column(pg_enum(ActivityKind, "activity_kind"))
    reference: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    is_public: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
