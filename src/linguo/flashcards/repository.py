"""Queries of personal flashcards and of the card export."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.srs import Flashcard, FlashcardEvent, SrsCard
from linguo.models.vocabulary import VocabularyWord
from linguo.vocabulary.repository import escape_like


def list_flashcards_query(user_id: uuid.UUID, *, search: str | None) -> Select[Flashcard]:
    """The learner's flashcards, newest first, optionally those whose sides contain `search`."""
    stmt = (
        select(Flashcard)
        .where(Flashcard.user_id == user_id)
        .order_by(Flashcard.created_at.desc(), Flashcard.id)
    )
    if search:
        pattern = "%" + escape_like(search) + "%"
        stmt = stmt.where(or_(Flashcard.front.ilike(pattern), Flashcard.back.ilike(pattern)))
    return stmt


async def get_flashcard(
    session: AsyncSession, user_id: uuid.UUID, flashcard_id: uuid.UUID
) -> Flashcard | None:
    """The learner's flashcard (None if missing or someone else's)."""
    stmt = select(Flashcard).where(Flashcard.id == flashcard_id, Flashcard.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def front_exists(
    session: AsyncSession,
    user_id: uuid.UUID,
    language: str,
    front: str,
    *,
    except_id: uuid.UUID | None = None,
) -> bool:
    """Whether the learner already has a card with this front (case-insensitive)."""
    stmt = select(Flashcard.id).where(
        Flashcard.user_id == user_id,
        Flashcard.language == language,
        func.lower(Flashcard.front) == front.lower(),
    )
    if except_id is not None:
        stmt = stmt.where(Flashcard.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def cards_for_flashcards(
    session: AsyncSession, flashcard_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SrsCard]:
    """The scheduling card of each flashcard."""
    if not flashcard_ids:
        return {}
    stmt = select(SrsCard).where(SrsCard.flashcard_id.in_(flashcard_ids))
    return {card.flashcard_id: card for card in await session.scalars(stmt) if card.flashcard_id}


def events_query(user_id: uuid.UUID, flashcard_id: uuid.UUID) -> Select[FlashcardEvent]:
    """A flashcard's history, newest first."""
    return (
        select(FlashcardEvent)
        .where(FlashcardEvent.user_id == user_id, FlashcardEvent.flashcard_id == flashcard_id)
        .order_by(FlashcardEvent.occurred_at.desc(), FlashcardEvent.id.desc())
    )


async def export_rows(
    session: AsyncSession, user_id: uuid.UUID, *, words: bool, flashcards: bool
) -> list[tuple[SrsCard, VocabularyWord | None, Flashcard | None]]:
    """Every card of the learner with its word or flashcard, oldest first."""
    stmt = (
        select(SrsCard, VocabularyWord, Flashcard)
        .outerjoin(VocabularyWord, VocabularyWord.id == SrsCard.word_id)
        .outerjoin(Flashcard, Flashcard.id == SrsCard.flashcard_id)
        .where(SrsCard.user_id == user_id)
        .order_by(SrsCard.created_at, SrsCard.id)
    )
    if not words:
        stmt = stmt.where(SrsCard.flashcard_id.is_not(None))
    if not flashcards:
        stmt = stmt.where(SrsCard.word_id.is_not(None))
    return [(card, word, flashcard) for card, word, flashcard in await session.execute(stmt)]
