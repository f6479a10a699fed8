"""Lesson play tables: attempts at a lesson, answers to its questions, and lesson progress."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, UUIDPrimaryKey


class LessonAttempt(UUIDPrimaryKey, Base):
    """One play of a lesson by a learner.

    `exercise_ids` are the exercises served, in order. `hearts_left` is None when hearts are
    unlimited (premium). `score`, `passed`, `xp_earned` and `time_spent_ms` are set once, by
    the first finish.
    """

    __tablename__ = "lesson_attempts"
    __table_args__ = (
        Index(
            "ix_lesson_attempts_user_id_lesson_id_started_at", "user_id", "lesson_id", "started_at"
        ),
        Index("ix_lesson_attempts_lesson_id", "lesson_id"),
        CheckConstraint("hearts_left >= 0", name="hearts_left"),
        CheckConstraint("score >= 0 AND score <= 1", name="score"),
        CheckConstraint("xp_earned >= 0", name="xp_earned"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    lesson_content_version: Mapped[int] = mapped_column(Integer)
    exercise_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    hearts_start: Mapped[int | None] = mapped_column(SmallInteger)
    hearts_left: Mapped[int | None] = mapped_column(SmallInteger)
    hints_used: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    xp_earned: Mapped[int | None] = mapped_column(Integer)
    time_spent_ms: Mapped[int | None] = mapped_column(BigInteger)


class QuestionAttempt(Base):
    """One answer to one exercise within a lesson attempt (`attempt_number` counts from 1)."""

    __tablename__ = "question_attempts"
    __table_args__ = (
        Index("ix_question_attempts_attempt_id_exercise_id", "attempt_id", "exercise_id"),
        Index("ix_question_attempts_exercise_id", "exercise_id"),
        CheckConstraint("attempt_number >= 1", name="attempt_number"),
        CheckConstraint("time_spent_ms >= 0", name="time_spent_ms"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lesson_attempts.id", ondelete="CASCADE")
    )
    exercise_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean)
    typo: Mapped[bool] = mapped_column(Boolean)
    used_hint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    time_spent_ms: Mapped[int | None] = mapped_column(Integer)
    attempt_number: Mapped[int] = mapped_column(SmallInteger)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LessonProgress(Base):
    """A learner's standing in a lesson: best score, when first passed, how often tried."""

    __tablename__ = "lesson_progress"
    __table_args__ = (
        Index("ix_lesson_progress_user_id_course_id", "user_id", "course_id"),
        Index("ix_lesson_progress_lesson_id", "lesson_id"),
        CheckConstraint("best_score >= 0 AND best_score <= 1", name="best_score"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    best_score: Mapped[float] = mapped_column(Float)
    attempts_finished: Mapped[int] = mapped_column(Integer)
    xp_earned: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
