"""Conversation tables: tutor sessions, their messages, and each learner's error memory."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, Timestamps, UUIDPrimaryKey, pg_enum


class SessionStatus(StrEnum):
    """Where a conversation session is; completed and abandoned are final."""

    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class MessageRole(StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"


class ConversationSession(UUIDPrimaryKey, Timestamps, Base):
    """A conversation with the tutor in `language`, explained in `native_language`.

    The counters are kept by each turn, so summaries and lists need no scan of messages.
    """

    __tablename__ = "conversation_sessions"
    __table_args__ = (
        Index("ix_conversation_sessions_user_id_started_at", "user_id", "started_at"),
        CheckConstraint(
            "planned_duration_minutes BETWEEN 5 AND 180", name="planned_duration_minutes"
        ),
        CheckConstraint("turn_count >= 0 AND error_free_turns <= turn_count", name="turns"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[SessionStatus] = mapped_column(
        pg_enum(SessionStatus, "conversation_session_status")
    )
    conversation_style: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    native_language: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(2))
    planned_duration_minutes: Mapped[int] = mapped_column(SmallInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    turn_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    error_free_turns: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    xp_earned: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class ConversationMessage(Base):
    """One message of a session. `details` holds what the turn found (errors, targets...)."""

    __tablename__ = "conversation_messages"
    __table_args__ = (Index("ix_conversation_messages_session_id_id", "session_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversation_sessions.id", ondelete="CASCADE")
    )
    role: Mapped[MessageRole] = mapped_column(pg_enum(MessageRole, "conversation_message_role"))
    content: Mapped[str] = mapped_column(Text)
    turn_number: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str | None] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErrorMemory(Base):
    """A kind of error a learner makes in a language: how often and when last seen.

    Recurring errors become focus points of later turns.
    """

    __tablename__ = "learner_error_memory"
    __table_args__ = (
        Index("ix_learner_error_memory_user_id_last_seen_at", "user_id", "last_seen_at"),
        CheckConstraint("occurrences >= 1", name="occurrences"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    category: Mapped[str] = mapped_column(String(30))
    occurrences: Mapped[int] = mapped_column(Integer)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    example: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
