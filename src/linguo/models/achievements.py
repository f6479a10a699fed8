"""Achievements: seeded definitions and the ones each learner has unlocked."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, pg_enum


class AchievementCategory(StrEnum):
    """The family an achievement belongs to (how it is shown)."""

    SESSION = "session"
    STREAK = "streak"
    VOCABULARY = "vocabulary"
    XP = "xp"
    ACCURACY = "accuracy"
    REVIEWS = "reviews"


class AchievementMetric(StrEnum):
    """The figure a learner's progress toward an achievement is measured by."""

    LESSONS_PASSED = "lessons_passed"
    CONVERSATIONS = "conversations"
    LONGEST_STREAK = "longest_streak"
    WORDS_MASTERED = "words_mastered"
    TOTAL_XP = "total_xp"
    ACCURATE_LESSONS = "accurate_lessons"
    QUEUE_REVIEWS = "queue_reviews"


class Achievement(Base):
    """An achievement definition; `code` is its stable slug (the ledgers' reference)."""

    __tablename__ = "achievements"
    __table_args__ = (
        CheckConstraint("target >= 1", name="target"),
        CheckConstraint("xp_reward >= 0 AND gems_reward >= 0", name="rewards"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    category: Mapped[AchievementCategory] = mapped_column(
        pg_enum(AchievementCategory, "achievement_category")
    )
    metric: Mapped[AchievementMetric] = mapped_column(
        pg_enum(AchievementMetric, "achievement_metric")
    )
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    target: Mapped[int] = mapped_column(Integer)
    xp_reward: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    gems_reward: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    icon: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


class UserAchievement(Base):
    """An achievement a learner unlocked: at most one row per (learner, achievement).

    `trigger` names what unlocked it (e.g. `lesson_attempt:<id>`, `check`), so the result of
    a finished lesson can list the achievements that attempt unlocked.
    """

    __tablename__ = "user_achievements"
    __table_args__ = (
        UniqueConstraint("user_id", "achievement_id"),
        Index("ix_user_achievements_user_id_trigger", "user_id", "trigger"),
        Index("ix_user_achievements_achievement_id", "achievement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(200))
    unlocked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
