"""Queries of conversation sessions, messages and the learner's error memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from linguo.core.db import column_params
from linguo.models.conversation import (
    ConversationMessage,
    ConversationSession,
    ErrorMemory,
    MessageRole,
)


async def get_session(
    session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> ConversationSession | None:
    """The learner's session (locked for this transaction when `lock`)."""
    stmt = select(ConversationSession).where(
        ConversationSession.id == session_id, ConversationSession.user_id == user_id
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def list_messages(
    session: AsyncSession, session_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[ConversationMessage], int]:
    """A page of the session's messages, oldest first, and how many there are."""
    stmt = (
        select(ConversationMessage)
        .where(ConversationMessage.session_id == session_id)
        .order_by(ConversationMessage.id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(
        select(func.count()).where(ConversationMessage.session_id == session_id)
    )
    return (await session.scalars(stmt)).all(), int(total or 0)


async def recent_messages(
    session: AsyncSession, session_id: uuid.UUID, *, limit: int
) -> list[ConversationMessage]:
    """The last `limit` messages, oldest first (the conversation so far, for the tutor)."""
    stmt = (
        select(ConversationMessage)
        .where(ConversationMessage.session_id == session_id)
        .order_by(ConversationMessage.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(stmt)).all()))


async def last_assistant_message(
    session: AsyncSession, session_id: uuid.UUID
) -> ConversationMessage | None:
    """The tutor's latest message (its targets are what the learner was asked to use)."""
    stmt = (
        select(ConversationMessage)
        .where(
            ConversationMessage.session_id == session_id,
            ConversationMessage.role == MessageRole.ASSISTANT,
        )
        .order_by(ConversationMessage.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def user_messages(
    session: AsyncSession, session_id: uuid.UUID
) -> Sequence[ConversationMessage]:
    """The learner's messages of a session, oldest first."""
    stmt = (
        select(ConversationMessage)
        .where(
            ConversationMessage.session_id == session_id,
            ConversationMessage.role == MessageRole.USER,
        )
        .order_by(ConversationMessage.id)
    )
    return (await session.scalars(stmt)).all()


@dataclass(frozen=True, slots=True)
class ErrorSeen:
    """One error of a learner's message, as the error memory keeps it."""

    code: str
    category: str
    example: str
    suggestion: str | None
    explanation: str


_MEMORY_FIELDS = (
    "user_id",
    "language",
    "code",
    "category",
    "last_seen_at",
    "example",
    "suggestion",
    "explanation",
)


@lru_cache(maxsize=1)
def _remember_error() -> Insert:
    memory = cast(Table, ErrorMemory.__table__)
    stmt = insert(memory).values(occurrences=1, **column_params(memory, _MEMORY_FIELDS, "memory"))
    return stmt.on_conflict_do_update(
        index_elements=[memory.c.user_id, memory.c.language, memory.c.code],
        set_={
            "occurrences": memory.c.occurrences + 1,
            "last_seen_at": stmt.excluded.last_seen_at,
            "example": stmt.excluded.example,
            "suggestion": stmt.excluded.suggestion,
            "explanation": stmt.excluded.explanation,
        },
    )


async def remember_errors(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    language: str,
    errors: Sequence[ErrorSeen],
    now: datetime,
) -> None:
    """Count one more occurrence of each error's kind for the learner (sent together; an
    error kind met twice in the message counts twice)."""
    if not errors:
        return
    rows = [
        {
            "memory_user_id": user_id,
            "memory_language": language,
            "memory_code": error.code,
            "memory_category": error.category,
            "memory_last_seen_at": now,
            "memory_example": error.example,
            "memory_suggestion": error.suggestion,
            "memory_explanation": error.explanation,
        }
        for error in errors
    ]
    await session.execute(_remember_error(), rows)


async def recurring_errors(
    session: AsyncSession, user_id: uuid.UUID, language: str, *, min_occurrences: int, limit: int
) -> Sequence[ErrorMemory]:
    """The learner's most frequent errors in a language, most recent first among equals."""
    stmt = (
        select(ErrorMemory)
        .where(
            ErrorMemory.user_id == user_id,
            ErrorMemory.language == language,
            ErrorMemory.occurrences >= min_occurrences,
        )
        .order_by(ErrorMemory.occurrences.desc(), ErrorMemory.last_seen_at.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()
