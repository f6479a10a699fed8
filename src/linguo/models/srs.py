"""Spaced-repetition tables: learners' FSRS cards, review logs, settings, flashcards."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, Timestamps, UUIDPrimaryKey, pg_enum


class CardState(StrEnum):
    """FSRS card states, plus `new` for a card never reviewed."""

    NEW = "new"
    LEARNING = "learning"
    REVIEW = "review"
    RELEARNING = "relearning"


class CardOrigin(StrEnum):
    """How a card entered the learner's collection."""

    REVIEW = "review"
    LESSON = "lesson"
    CONVERSATION = "conversation"
    PACK = "pack"
    FLASHCARD = "flashcard"
    IMPORT = "import"


class ReviewSource(StrEnum):
    """Where a review came from. Only queue reviews count against the daily caps."""

    QUEUE = "queue"
    LESSON = "lesson"
    CONVERSATION = "conversation"


class FlashcardEventKind(StrEnum):
    """What happened to a personal flashcard."""

    CREATED = "created"
    UPDATED = "updated"
    REVIEWED = "reviewed"
    DELETED = "deleted"


card_state_enum = pg_enum(CardState, "card_state")


class SrsProfile(Base):
    """A learner's spaced-repetition settings and their personal FSRS parameters."""

    __tablename__ = "srs_profiles"
    __table_args__ = (
        CheckConstraint(
            "desired_retention >= 0.70 AND desired_retention <= 0.97", name="desired_retention"
        ),
        CheckConstraint("new_cards_per_day >= 0", name="new_cards_per_day"),
        CheckConstraint("reviews_per_day >= 0", name="reviews_per_day"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    desired_retention: Mapped[float] = mapped_column(Float)
    new_cards_per_day: Mapped[int] = mapped_column(Integer)
    reviews_per_day: Mapped[int] = mapped_column(Integer)
    # None until the optimizer has fitted this learner's own parameters.
    parameters: Mapped[list[float] | None] = mapped_column(ARRAY(Float))
    parameters_fitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parameters_review_count: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Flashcard(UUIDPrimaryKey, Timestamps, Base):
    """A learner's own word or phrase with its translation and a note."""

    __tablename__ = "flashcards"
    __table_args__ = (
        Index("ix_flashcards_user_id_created_at", "user_id", "created_at"),
        Index(
            "uq_flashcards_user_id_language_front",
            "user_id",
            "language",
            func.lower(text("front")),
            unique=True,
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    source_language: Mapped[str] = mapped_column(String(8))
    front: Mapped[str] = mapped_column(String(500))
    back: Mapped[str] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(Text)


class SrsCard(UUIDPrimaryKey, Timestamps, Base):
    """The FSRS memory state of one learner for one vocabulary word or flashcard."""

    __tablename__ = "srs_cards"
    __table_args__ = (
        UniqueConstraint("user_id", "word_id"),
        UniqueConstraint("flashcard_id"),
        CheckConstraint("num_nonnulls(word_id, flashcard_id) = 1", name="one_subject"),
        # The review queue: a learner's due cards.
        Index(
            "ix_srs_cards_user_id_due", "user_id", "due", postgresql_where=text("state <> 'new'")
        ),
        Index("ix_srs_cards_user_id_new", "user_id", postgresql_where=text("state = 'new'")),
        Index("ix_srs_cards_word_id", "word_id"),
        Index("ix_srs_cards_origin_pack_id", "origin_pack_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    word_id: Mapped[int | None] = mapped_column(
        ForeignKey("vocabulary_words.id", ondelete="CASCADE")
    )
    flashcard_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("flashcards.id", ondelete="CASCADE")
    )
    state: Mapped[CardState] = mapped_column(card_state_enum, default=CardState.NEW)
    step: Mapped[int | None] = mapped_column(Integer)
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_review: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reps: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    lapses: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    correct_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    incorrect_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    origin: Mapped[CardOrigin] = mapped_column(pg_enum(CardOrigin, "card_origin"))
    origin_pack_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("word_packs.id", ondelete="SET NULL")
    )


class ReviewLog(Base):
    """One review of a card: the rating and the card's state before and after it."""

    __tablename__ = "srs_review_logs"
    __table_args__ = (
        Index("ix_srs_review_logs_user_id_reviewed_at", "user_id", "reviewed_at"),
        Index("ix_srs_review_logs_card_id_reviewed_at", "card_id", "reviewed_at"),
        CheckConstraint("rating BETWEEN 0 AND 3", name="rating"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("srs_cards.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[ReviewSource] = mapped_column(pg_enum(ReviewSource, "review_source"))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    state_before: Mapped[CardState] = mapped_column(card_state_enum)
    state_after: Mapped[CardState] = mapped_column(card_state_enum)
    stability_before: Mapped[float | None] = mapped_column(Float)
    stability_after: Mapped[float] = mapped_column(Float)
    difficulty_before: Mapped[float | None] = mapped_column(Float)
    difficulty_after: Mapped[float] = mapped_column(Float)
    due_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FlashcardEvent(Base):
    """The history of a flashcard; kept after the card is deleted (no foreign key to it)."""

    __tablename__ = "flashcard_events"
    __table_args__ = (
        Index("ix_flashcard_events_flashcard_id_occurred_at", "flashcard_id", "occurred_at"),
        Index("ix_flashcard_events_user_id_occurred_at", "user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    flashcard_id: Mapped[uuid.UUID]
    kind: Mapped[FlashcardEventKind] = mapped_column(
        pg_enum(FlashcardEventKind, "flashcard_event_kind")
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
