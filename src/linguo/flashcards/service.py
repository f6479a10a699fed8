"""Personal flashcards: a learner's own words, scheduled by the same FSRS code as words."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.core.errors import Conflict, ErrorCode, NotFound
from linguo.core.pagination import PageParams, paginate
from linguo.flashcards import export, repository
from linguo.flashcards.schemas import (
    FlashcardCreate,
    FlashcardEventRead,
    FlashcardRead,
    FlashcardUpdate,
    ImportSummary,
)
from linguo.models.identity import User
from linguo.models.srs import (
    CardOrigin,
    CardState,
    Flashcard,
    FlashcardEvent,
    FlashcardEventKind,
    ReviewSource,
    SrsCard,
)
from linguo.srs import repository as srs_repository
from linguo.srs import service as srs_service
from linguo.vocabulary import repository as vocabulary_repository


class FlashcardExists(Conflict):
    """The learner already has a card with this front."""

    code = ErrorCode.FLASHCARD_EXISTS
    message = "You already have a flashcard with this front."


def flashcard_read(flashcard: Flashcard, card: SrsCard) -> FlashcardRead:
    """A flashcard and its scheduling state as the API shows them."""
    return FlashcardRead(
        id=flashcard.id,
        front=flashcard.front,
        back=flashcard.back,
        note=flashcard.note,
        language=flashcard.language,
        source_language=flashcard.source_language,
        state=card.state,
        next_review=None if card.state is CardState.NEW else card.due,
        last_review=card.last_review,
        stability=card.stability,
        difficulty=card.difficulty,
        reps=card.reps,
        lapses=card.lapses,
        created_at=flashcard.created_at,
        updated_at=flashcard.updated_at,
    )


def _record(
    session: AsyncSession,
    user_id: uuid.UUID,
    flashcard_id: uuid.UUID,
    kind: FlashcardEventKind,
    now: datetime,
    details: dict[str, Any],
) -> None:
    session.add(
        FlashcardEvent(
            user_id=user_id, flashcard_id=flashcard_id, kind=kind, occurred_at=now, details=details
        )
    )


async def _owned(session: AsyncSession, user: User, flashcard_id: uuid.UUID) -> Flashcard:
    flashcard = await repository.get_flashcard(session, user.id, flashcard_id)
    if flashcard is None:
        raise NotFound("No such flashcard.")
    return flashcard


async def _card_of(session: AsyncSession, flashcard: Flashcard) -> SrsCard:
    cards = await repository.cards_for_flashcards(session, [flashcard.id])
    return cards[flashcard.id]


async def _flush_front(session: AsyncSession) -> None:
    """Store a new or changed front; a concurrent request that took it first means 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # uq_flashcards_user_id_language_front
        raise FlashcardExists() from exc


async def create_flashcard(
    session: AsyncSession, user: User, data: FlashcardCreate, *, now: datetime
) -> FlashcardRead:
    """A new flashcard, new in the learner's queue; 409 if its front already exists."""
    language = data.language or user.target_language
    if await repository.front_exists(session, user.id, language, data.front):
        raise FlashcardExists()
    flashcard = Flashcard(
        user_id=user.id,
        language=language,
        source_language=data.source_language or user.native_language,
        front=data.front,
        back=data.back,
        note=data.note,
    )
    session.add(flashcard)
    await _flush_front(session)
    card = SrsCard(user_id=user.id, flashcard_id=flashcard.id, origin=CardOrigin.FLASHCARD, due=now)
    session.add(card)
    _record(
        session, user.id, flashcard.id, FlashcardEventKind.CREATED, now, {"front": flashcard.front}
    )
    await session.flush()
    return flashcard_read(flashcard, card)


async def list_flashcards(
    session: AsyncSession, user: User, *, search: str | None, page: PageParams
) -> tuple[list[FlashcardRead], int]:
    """One page of the learner's flashcards with their scheduling state."""
    rows, total = await paginate(
        session, repository.list_flashcards_query(user.id, search=search), page
    )
    cards = await repository.cards_for_flashcards(session, [row.id for row in rows])
    return [flashcard_read(row, cards[row.id]) for row in rows], total


async def get_flashcard(
    session: AsyncSession, user: User, flashcard_id: uuid.UUID
) -> FlashcardRead:
    """One of the learner's flashcards; 404 if missing or someone else's."""
    flashcard = await _owned(session, user, flashcard_id)
    return flashcard_read(flashcard, await _card_of(session, flashcard))


async def update_flashcard(
    session: AsyncSession,
    user: User,
    flashcard_id: uuid.UUID,
    changes: FlashcardUpdate,
    *,
    now: datetime,
) -> FlashcardRead:
    """Edit a flashcard; its schedule is kept."""
    flashcard = await _owned(session, user, flashcard_id)
    fields = changes.model_dump(exclude_unset=True)
    if "front" in fields and await repository.front_exists(
        session, user.id, flashcard.language, fields["front"], except_id=flashcard.id
    ):
        raise FlashcardExists()
    changed = {name: value for name, value in fields.items() if getattr(flashcard, name) != value}
    for name, value in changed.items():
        setattr(flashcard, name, value)
    if "front" in changed:
        await _flush_front(session)
    if changed:
        _record(
            session,
            user.id,
            flashcard.id,
            FlashcardEventKind.UPDATED,
            now,
            {"fields": sorted(changed)},
        )
    await session.flush()
    return flashcard_read(flashcard, await _card_of(session, flashcard))


async def delete_flashcard(
    session: AsyncSession, user: User, flashcard_id: uuid.UUID, *, now: datetime
) -> None:
    """Delete a flashcard and its schedule; its history stays."""
    flashcard = await _owned(session, user, flashcard_id)
    _record(
        session,
        user.id,
        flashcard.id,
        FlashcardEventKind.DELETED,
        now,
        {"front": flashcard.front, "back": flashcard.back},
    )
    await session.delete(flashcard)
    await session.flush()


async def review_flashcard(
    session: AsyncSession,
    user: User,
    flashcard_id: uuid.UUID,
    rating: int,
    settings: Settings,
    *,
    duration_ms: int | None,
    now: datetime,
) -> srs_service.ReviewOutcome:
    """Review a flashcard through the same FSRS path as words."""
    flashcard = await _owned(session, user, flashcard_id)
    card = await srs_repository.lock_flashcard_card(session, flashcard.id)
    if card is None:  # deleted by a concurrent request since it was read
        raise NotFound("No such flashcard.")
    outcome = await srs_service.review_card(
        session,
        user,
        card,
        rating,
        settings,
        source=ReviewSource.QUEUE,
        duration_ms=duration_ms,
        now=now,
    )
    _record(
        session,
        user.id,
        flashcard.id,
        FlashcardEventKind.REVIEWED,
        now,
        {"rating": rating, "state": card.state.value, "next_review": card.due.isoformat()},
    )
    await session.flush()
    return outcome


async def flashcard_events(
    session: AsyncSession, user: User, flashcard_id: uuid.UUID, page: PageParams
) -> tuple[list[FlashcardEventRead], int]:
    """One page of a flashcard's history, newest first; 404 if not the learner's."""
    await _owned(session, user, flashcard_id)
    rows, total = await paginate(session, repository.events_query(user.id, flashcard_id), page)
    return [FlashcardEventRead.model_validate(row) for row in rows], total


async def export_cards(
    session: AsyncSession,
    user: User,
    *,
    file_format: export.ExportFormat,
    words: bool,
    flashcards: bool,
) -> str:
    """The learner's cards with their scheduling data, as CSV or Anki TSV text."""
    rows = await repository.export_rows(session, user.id, words=words, flashcards=flashcards)
    if file_format == "anki":
        return export.to_anki(rows, user.native_language)
    return export.to_csv(rows, user.native_language)


async def import_backup(
    session: AsyncSession, user: User, rows: Sequence[export.BackupRow], *, now: datetime
) -> ImportSummary:
    """Restore cards from a backup CSV with their FSRS state.

    Flashcards whose front the learner already has, and words they already study, are
    skipped; unknown words are an error (the whole file is refused).
    """
    word_ids = [row.word_id for row in rows if row.word_id is not None]
    words = await vocabulary_repository.get_words(session, word_ids)
    unknown = [row.line for row in rows if row.word_id is not None and row.word_id not in words]
    if unknown:
        raise export.BackupFileError([f"line {line}: unknown word_id" for line in unknown[:50]])
    created = skipped = 0
    for row in rows:
        if row.word_id is not None:
            if await srs_repository.get_word_card(session, user.id, row.word_id) is not None:
                skipped += 1
                continue
            card = SrsCard(user_id=user.id, word_id=row.word_id, origin=CardOrigin.IMPORT, due=now)
        else:
            if await repository.front_exists(session, user.id, row.language, row.front):
                skipped += 1
                continue
            flashcard = Flashcard(
                user_id=user.id,
                language=row.language,
                source_language=row.source_language,
                front=row.front,
                back=row.back,
                note=row.note,
            )
            session.add(flashcard)
            await session.flush()
            card = SrsCard(
                user_id=user.id, flashcard_id=flashcard.id, origin=CardOrigin.IMPORT, due=now
            )
            _record(
                session,
                user.id,
                flashcard.id,
                FlashcardEventKind.CREATED,
                now,
                {"front": row.front, "imported": True},
            )
        card.state = row.state
        card.step = row.step
        card.due = row.due or now
        card.last_review = row.last_review
        card.stability = row.stability
        card.difficulty = row.difficulty
        card.reps = row.reps
        card.lapses = row.lapses
        session.add(card)
        await session.flush()
        created += 1
    return ImportSummary(created=created, skipped=skipped)
