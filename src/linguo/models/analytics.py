"""Daily analytics snapshots: one row per learner and UTC day, kept for 365 days."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, SmallInteger, text
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base


class AnalyticsSnapshot(Base):
    """A learner's figures for one UTC day, written by the daily snapshot job (idempotent)."""

    __tablename__ = "analytics_snapshots"
    __table_args__ = (Index("ix_analytics_snapshots_day", "day"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total_xp: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(SmallInteger)
    xp: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    current_streak: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    longest_streak: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lessons_completed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reviews: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    conversation_turns: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    answers: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    correct_answers: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    minutes: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    words_new: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    words_learning: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    words_review: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    words_relearning: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    words_mastered: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
