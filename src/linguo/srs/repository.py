"""Queries of the spaced-repetition domain: cards, the queue, review logs, profiles."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    Select,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert, ReturningInsert
from sqlalchemy.sql.elements import ColumnElement

from linguo.core.db import column_params, remember, remembered
from linguo.models.srs import (
    CardOrigin,
    CardState,
    Flashcard,
    ReviewLog,
    ReviewSource,
    SrsCard,
    SrsProfile,
)
from linguo.models.vocabulary import VocabularyWord

SECONDS_PER_DAY = 86_400


# The learner's settings row (or None: never stored), when read along with their cards.
_PROFILES = "linguo.srs.profiles"
_UNKNOWN = object()


async def get_profile(session: AsyncSession, user_id: uuid.UUID) -> SrsProfile | None:
    """The learner's stored settings, if they ever changed or were fitted.

    Known without a query when this transaction locked some of the learner's cards.
    """
    known = remembered(session, _PROFILES, user_id, _UNKNOWN)
    if known is not _UNKNOWN:
        return cast(SrsProfile | None, known)
    return await session.get(SrsProfile, user_id)


async def lock_profile(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    desired_retention: float,
    new_cards_per_day: int,
    reviews_per_day: int,
) -> SrsProfile:
    """The learner's settings row, created with these values if missing, locked.

    Like `create_word_cards`: a concurrent first change waits for the other's insert to
    commit instead of failing on the primary key, then updates the stored row.
    """
    await session.execute(
        insert(SrsProfile)
        .values(
            user_id=user_id,
            desired_retention=desired_retention,
            new_cards_per_day=new_cards_per_day,
            reviews_per_day=reviews_per_day,
        )
        .on_conflict_do_nothing(index_elements=[SrsProfile.user_id])
    )
    stmt = (
        select(SrsProfile)
        .where(SrsProfile.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    profile = (await session.execute(stmt)).scalar_one()
    remember(session, _PROFILES, user_id, profile)
    return profile


_LOCK_WORD_CARDS = (
    # The learner's settings come along (scheduling needs them), the cards alone are locked.
    select(SrsCard, SrsProfile)
    .outerjoin(SrsProfile, SrsProfile.user_id == SrsCard.user_id)
    .where(
        SrsCard.user_id == bindparam("card_user_id", type_=Uuid()),
        SrsCard.word_id.in_(bindparam("card_word_ids", expanding=True)),
    )
    .order_by(SrsCard.word_id)
    .with_for_update(of=SrsCard)
    .execution_options(populate_existing=True)
)


async def lock_word_cards(
    session: AsyncSession, user_id: uuid.UUID, word_ids: Sequence[int]
) -> dict[int, SrsCard]:
    """The learner's cards for these words (those they have), locked, by word id.

    The row locks serialise concurrent reviews of a card: the second waits and then
    schedules from the state the first stored, so no review is lost. Cards are locked in
    word order, so two transactions locking overlapping sets never deadlock.
    """
    if not word_ids:
        return {}
    params = {"card_user_id": user_id, "card_word_ids": sorted(set(word_ids))}
    rows = (await session.execute(_LOCK_WORD_CARDS, params)).all()
    if rows:
        remember(session, _PROFILES, user_id, rows[0][1])
    return {card.word_id: card for card, _ in rows if card.word_id}


@lru_cache(maxsize=1)
def _create_word_cards() -> ReturningInsert[SrsCard]:
    now = bindparam("card_now", type_=DateTime(timezone=True))
    words = (
        select(
            func.gen_random_uuid(),
            bindparam("card_user_id", type_=Uuid()),
            VocabularyWord.id,
            bindparam("card_origin", type_=SrsCard.__table__.c.origin.type),
            now,
            now,
            now,
        )
        .where(VocabularyWord.id.in_(bindparam("card_word_ids", expanding=True)))
        .order_by(VocabularyWord.id)
    )
    return (
        insert(SrsCard)
        .from_select(
            [
                SrsCard.id,
                SrsCard.user_id,
                SrsCard.word_id,
                SrsCard.origin,
                SrsCard.due,
                SrsCard.created_at,
                SrsCard.updated_at,
            ],
            words,
        )
        .on_conflict_do_nothing(constraint="uq_srs_cards_user_id_word_id")
        .returning(SrsCard)
        # The parameters are this statement's bound values, not rows of a bulk insert.
        .execution_options(dml_strategy="orm")
    )


async def create_word_cards(
    session: AsyncSession,
    user_id: uuid.UUID,
    word_ids: Sequence[int],
    *,
    origin: CardOrigin,
    now: datetime,
) -> dict[int, SrsCard]:
    """New cards for those of these words that exist, in one statement, by word id.

    The new rows are this transaction's until it ends, as if locked. A card that a
    concurrent review created first is left out: lock it with `lock_word_cards`.
    """
    if not word_ids:
        return {}
    params = {
        "card_user_id": user_id,
        "card_word_ids": sorted(set(word_ids)),
        "card_origin": origin,
        "card_now": now,
    }
    cards = await session.scalars(_create_word_cards(), params)
    return {card.word_id: card for card in cards if card.word_id}


# What a review changes on its card, and the values its log keeps from before it.
_CARD_FIELDS = (
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "correct_count",
    "incorrect_count",
    "updated_at",
)
_LOG_FIELDS = (
    "card_id",
    "user_id",
    "rating",
    "source",
    "reviewed_at",
    "duration_ms",
    "state_before",
    "state_after",
    "stability_before",
    "stability_after",
    "difficulty_before",
    "difficulty_after",
    "due_before",
    "due_after",
)


@lru_cache(maxsize=1)
def _record_review() -> Insert:
    # Table statements (not ORM ones): several reviews are sent as one executemany.
    cards, logs = cast(Table, SrsCard.__table__), cast(Table, ReviewLog.__table__)
    log_values = column_params(logs, _LOG_FIELDS, "log")
    card = (
        update(cards)
        .where(cards.c.id == log_values["card_id"])
        .values(column_params(cards, _CARD_FIELDS, "card"))
        .cte("reviewed_card")
    )
    return insert(logs).values(log_values).add_cte(card)


async def record_reviews(
    session: AsyncSession,
    reviews: Sequence[tuple[SrsCard, Mapping[str, Any], Mapping[str, Any]]],
) -> None:
    """Store reviews: each locked card, its new values (`_CARD_FIELDS`) and its log's row.

    One statement per card updates the card and appends its log, built once and sent
    together: no unit of work, and half the statements of an ORM flush. The cards show the
    new values afterwards.
    """
    if not reviews:
        return
    rows = [
        {
            **{f"card_{name}": value for name, value in values.items()},
            **{f"log_{name}": value for name, value in log.items()},
        }
        for _, values, log in reviews
    ]
    await session.execute(_record_review(), rows)
    for card, values, _ in reviews:
        for name, value in values.items():
            # Stored already: set without marking the card changed, so no flush repeats it.
            set_committed_value(card, name, value)


async def lock_flashcard_card(session: AsyncSession, flashcard_id: uuid.UUID) -> SrsCard | None:
    """The scheduling card of a flashcard, locked for this transaction."""
    stmt = (
        select(SrsCard)
        .where(SrsCard.flashcard_id == flashcard_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_word_cards(
    session: AsyncSession,
    user_id: uuid.UUID,
    word_ids: Sequence[int],
    *,
    origin: CardOrigin,
    now: datetime,
    pack_id: uuid.UUID | None = None,
) -> int:
    """Give the learner a new card for each word they have no card for; returns how many."""
    if not word_ids:
        return 0
    stmt = (
        insert(SrsCard)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "word_id": word_id,
                    "origin": origin,
                    "origin_pack_id": pack_id,
                    "due": now,
                }
                for word_id in dict.fromkeys(word_ids)
            ]
        )
        .on_conflict_do_nothing(constraint="uq_srs_cards_user_id_word_id")
        .returning(SrsCard.id)
    )
    return len((await session.execute(stmt)).all())


async def delete_unreviewed_pack_cards(
    session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID
) -> int:
    """Remove the pack's cards the learner never reviewed; reviewed ones keep their history."""
    stmt = delete(SrsCard).where(
        SrsCard.user_id == user_id,
        SrsCard.origin_pack_id == pack_id,
        SrsCard.state == CardState.NEW,
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def get_word_card(session: AsyncSession, user_id: uuid.UUID, word_id: int) -> SrsCard | None:
    """The learner's card for a word."""
    stmt = select(SrsCard).where(SrsCard.user_id == user_id, SrsCard.word_id == word_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def retrievability_expression(
    now: datetime | ColumnElement[datetime],
    *,
    decay: float | ColumnElement[float],
    factor: float | ColumnElement[float],
) -> ColumnElement[float]:
    """SQL for py-fsrs's retrievability at `now` (whole elapsed days, as py-fsrs counts)."""
    elapsed_days = func.greatest(
        func.floor(func.extract("epoch", now - SrsCard.last_review) / SECONDS_PER_DAY), 0
    )
    return func.power(1 + factor * elapsed_days / SrsCard.stability, decay)


def _subject_filter(include_flashcards: bool) -> ColumnElement[bool]:
    return SrsCard.word_id.is_not(None) if not include_flashcards else SrsCard.id.is_not(None)


@lru_cache(maxsize=2)
def _due_cards(include_flashcards: bool) -> Select[SrsCard, float, VocabularyWord]:
    risk = retrievability_expression(
        bindparam("queue_now", type_=DateTime(timezone=True)),
        decay=bindparam("queue_decay", type_=Float()),
        factor=bindparam("queue_factor", type_=Float()),
    ).label("retrievability")
    return (
        select(SrsCard, risk, VocabularyWord)
        .outerjoin(VocabularyWord, VocabularyWord.id == SrsCard.word_id)
        .where(
            SrsCard.user_id == bindparam("queue_user_id", type_=Uuid()),
            SrsCard.state != CardState.NEW,
            SrsCard.due <= bindparam("queue_now"),
            _subject_filter(include_flashcards),
        )
        .order_by(risk.asc(), SrsCard.due.asc(), SrsCard.id)
        .limit(bindparam("queue_limit", type_=Integer()))
    )


async def due_cards(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    *,
    decay: float,
    factor: float,
    limit: int,
    include_flashcards: bool,
) -> list[tuple[SrsCard, float, VocabularyWord | None]]:
    """Reviewed cards due by `now`, least likely to be recalled first, with that likelihood
    and the card's word (None for a flashcard)."""
    if limit <= 0:
        return []
    params = {
        "queue_user_id": user_id,
        "queue_now": now,
        "queue_decay": decay,
        "queue_factor": factor,
        "queue_limit": limit,
    }
    rows = await session.execute(_due_cards(include_flashcards), params)
    return [(card, float(value), word) for card, value, word in rows]


async def count_due(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, *, include_flashcards: bool
) -> int:
    """How many reviewed cards are due by `now` (the whole backlog, before caps)."""
    stmt = select(func.count()).where(
        SrsCard.user_id == user_id,
        SrsCard.state != CardState.NEW,
        SrsCard.due <= now,
        _subject_filter(include_flashcards),
    )
    return int((await session.execute(stmt)).scalar_one())


@lru_cache(maxsize=2)
def _new_cards(include_flashcards: bool) -> Select[SrsCard, VocabularyWord]:
    return (
        select(SrsCard, VocabularyWord)
        .outerjoin(VocabularyWord, VocabularyWord.id == SrsCard.word_id)
        .where(
            SrsCard.user_id == bindparam("queue_user_id", type_=Uuid()),
            SrsCard.state == CardState.NEW,
            _subject_filter(include_flashcards),
        )
        .order_by(
            case((SrsCard.word_id.is_(None), 1), else_=0),
            VocabularyWord.frequency_rank.asc().nulls_last(),
            SrsCard.created_at,
            SrsCard.id,
        )
        .limit(bindparam("queue_limit", type_=Integer()))
    )


async def new_cards(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, include_flashcards: bool
) -> list[tuple[SrsCard, VocabularyWord | None]]:
    """Cards added but never reviewed, with their word (None for a flashcard): words in
    frequency order, then flashcards by age."""
    if limit <= 0:
        return []
    params = {"queue_user_id": user_id, "queue_limit": limit}
    rows = await session.execute(_new_cards(include_flashcards), params)
    return [(card, word) for card, word in rows]


async def unseen_words(
    session: AsyncSession, user_id: uuid.UUID, language: str, *, limit: int, exclude: Sequence[int]
) -> list[VocabularyWord]:
    """Words of `language` the learner has no card for, most frequent first."""
    if limit <= 0:
        return []
    has_card = exists().where(SrsCard.user_id == user_id, SrsCard.word_id == VocabularyWord.id)
    stmt = (
        select(VocabularyWord)
        .where(VocabularyWord.language == language, ~has_card)
        .order_by(VocabularyWord.frequency_rank.asc().nulls_last(), VocabularyWord.id)
        .limit(limit)
    )
    if exclude:
        stmt = stmt.where(VocabularyWord.id.not_in(exclude))
    return list(await session.scalars(stmt))


async def queue_reviews_since(
    session: AsyncSession, user_id: uuid.UUID, since: datetime
) -> tuple[int, int]:
    """(new cards introduced, reviews of known cards) from the queue since `since`."""
    is_new = ReviewLog.state_before == CardState.NEW
    stmt = select(
        func.count().filter(is_new),
        func.count().filter(~is_new),
    ).where(
        ReviewLog.user_id == user_id,
        ReviewLog.reviewed_at >= since,
        ReviewLog.source == ReviewSource.QUEUE,
    )
    new_count, review_count = (await session.execute(stmt)).one()
    return int(new_count), int(review_count)


async def flashcards_by_id(
    session: AsyncSession, flashcard_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Flashcard]:
    """Flashcards by id."""
    if not flashcard_ids:
        return {}
    stmt = select(Flashcard).where(Flashcard.id.in_(set(flashcard_ids)))
    return {card.id: card for card in await session.scalars(stmt)}


def review_history_query(card_id: uuid.UUID) -> Select[ReviewLog]:
    """A card's reviews, newest first."""
    return (
        select(ReviewLog)
        .where(ReviewLog.card_id == card_id)
        .order_by(ReviewLog.reviewed_at.desc(), ReviewLog.id.desc())
    )


async def review_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many reviews the learner has logged."""
    stmt = select(func.count()).select_from(ReviewLog).where(ReviewLog.user_id == user_id)
    return int((await session.execute(stmt)).scalar_one())


async def review_events(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[uuid.UUID, datetime, int]]:
    """(card id, time, API rating) of every review of the learner, oldest first."""
    stmt = (
        select(ReviewLog.card_id, ReviewLog.reviewed_at, ReviewLog.rating)
        .where(ReviewLog.user_id == user_id)
        .order_by(ReviewLog.reviewed_at, ReviewLog.id)
    )
    return [(card_id, at, int(rating)) for card_id, at, rating in await session.execute(stmt)]


def learners_due_for_fit_query(*, min_reviews: int, refit_reviews: int) -> Select[uuid.UUID, int]:
    """Learners with enough reviews whose parameters were never fitted or are stale."""
    counts = (
        select(ReviewLog.user_id, func.count().label("reviews"))
        .group_by(ReviewLog.user_id)
        .having(func.count() >= min_reviews)
        .subquery()
    )
    stale = and_(
        SrsProfile.parameters_review_count.is_not(None),
        counts.c.reviews - SrsProfile.parameters_review_count >= refit_reviews,
    )
    return (
        select(counts.c.user_id, counts.c.reviews)
        .outerjoin(SrsProfile, SrsProfile.user_id == counts.c.user_id)
        .where((SrsProfile.parameters_review_count.is_(None)) | stale)
        .order_by(counts.c.user_id)
    )
