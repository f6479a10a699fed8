"""Queries of conversation sessions, messages and the learner's error memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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


async def remember_error(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    language: str,
    code: str,
    category: str,
    example: str,
    suggestion: str | None,
    explanation: str,
    now: datetime,
) -> None:
    """Count one more occurrence of an error kind for the learner."""
    stmt = insert(ErrorMemory).values(
        user_id=user_id,
        language=language,
        code=code,
        category=category,
        occurrences=1,
        last_seen_at=now,
        example=example,
        suggestion=suggestion,
        explanation=explanation,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[ErrorMemory.user_id, ErrorMemory.language, ErrorMemory.code],
        set_={
            "occurrences": ErrorMemory.occurrences + 1,
            "last_seen_at": now,
            "example": stmt.excluded.example,
            "suggestion": stmt.excluded.suggestion,
            "explanation": stmt.excluded.explanation,
        },
    )
    await session.execute(stmt)


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
