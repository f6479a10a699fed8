"""Queries of the vocabulary domain: words, search and word-bank packs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from linguo.models.srs import CardState, SrsCard
from linguo.models.vocabulary import (
    PackSubscription,
    VocabularyWord,
    WordPack,
    WordPackEntry,
)
from linguo.vocabulary.entries import WordEntry, WordKey

IMPORT_LOCK_KEY = 0x6C696E67756F01  # serialises imports so merges never race


def escape_like(value: str) -> str:
    """`value` with LIKE's wildcards escaped (the escape character is backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_form(value: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """`value` as `linguo_vocabulary_search_text` writes words: punctuation as spaces, folded."""
    spaced = func.regexp_replace(value, literal("[^[:alnum:]]+"), literal(" "), literal("g"))
    return func.btrim(func.linguo_fold(spaced))


def search_words_query(*, language: str | None, search: str | None) -> Select[VocabularyWord]:
    """Words of a language, best match first when searching, else by frequency.

    The search is a prefix match on any word of the word, its lemma or its translations,
    ignoring case, accents and punctuation ("eco" finds "école", "s'il v" finds "s'il vous
    plaît"); the trigram index serves it. A search of punctuation only finds nothing.
    """
    stmt = select(VocabularyWord)
    if language:
        stmt = stmt.where(VocabularyWord.language == language)
    if search:
        # Normalised like the indexed text: no LIKE wildcard (%, _, backslash) remains.
        term = _search_form(literal(search, Text))
        word = _search_form(VocabularyWord.word)
        stmt = stmt.where(
            term != "",
            VocabularyWord.search_text.like(literal("% ", Text) + term + literal("%", Text)),
        )
        relevance = case((word == term, 0), (word.like(term + literal("%", Text)), 1), else_=2)
        stmt = stmt.order_by(relevance)
    return stmt.order_by(VocabularyWord.frequency_rank.asc().nulls_last(), VocabularyWord.id)


async def get_words(session: AsyncSession, word_ids: Iterable[int]) -> dict[int, VocabularyWord]:
    """The words with these ids that exist, by id."""
    ids = list(set(word_ids))
    if not ids:
        return {}
    rows = await session.scalars(select(VocabularyWord).where(VocabularyWord.id.in_(ids)))
    return {word.id: word for word in rows}


async def lock_imports(session: AsyncSession) -> None:
    """Take the import lock until the end of the transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


async def get_words_by_key(
    session: AsyncSession, keys: Sequence[WordKey]
) -> dict[WordKey, VocabularyWord]:
    """Stored words with these (language, lemma, part of speech) keys."""
    found: dict[WordKey, VocabularyWord] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        stmt = select(VocabularyWord).where(
            tuple_(
                VocabularyWord.language, VocabularyWord.lemma, VocabularyWord.part_of_speech
            ).in_(chunk)
        )
        for word in await session.scalars(stmt):
            found[(word.language, word.lemma, word.part_of_speech)] = word
    return found


async def upsert_words(session: AsyncSession, entries: Sequence[WordEntry]) -> dict[WordKey, int]:
    """Insert or overwrite words by key with already-merged entries; returns their ids."""
    ids: dict[WordKey, int] = {}
    for start in range(0, len(entries), 500):
        chunk = entries[start : start + 500]
        insert_rows = insert(VocabularyWord).values(
            [
                {
                    "language": entry.language,
                    "word": entry.word,
                    "lemma": entry.lemma,
                    "part_of_speech": entry.part_of_speech,
                    "gender": entry.gender,
                    "translations": entry.translations,
                    "examples": entry.examples,
                    "cefr_level": entry.cefr_level,
                    "frequency_rank": entry.frequency_rank,
                    "audio_url": entry.audio_url,
                }
                for entry in chunk
            ]
        )
        excluded = insert_rows.excluded
        stmt = insert_rows.on_conflict_do_update(
            constraint="uq_vocabulary_words_language_lemma_part_of_speech",
            set_={
                "word": excluded.word,
                "gender": excluded.gender,
                "translations": excluded.translations,
                "examples": excluded.examples,
                "cefr_level": excluded.cefr_level,
                "frequency_rank": excluded.frequency_rank,
                "audio_url": excluded.audio_url,
                "updated_at": func.now(),
            },
        ).returning(
            VocabularyWord.id,
            VocabularyWord.language,
            VocabularyWord.lemma,
            VocabularyWord.part_of_speech,
        )
        for word_id, language, lemma, pos in await session.execute(stmt):
            ids[(language, lemma, pos)] = word_id
    return ids


def list_packs_query(*, language: str | None, published_only: bool) -> Select[WordPack]:
    """Packs, by title; learners see published packs only."""
    stmt = select(WordPack).order_by(WordPack.title, WordPack.id)
    if language:
        stmt = stmt.where(WordPack.language == language)
    if published_only:
        stmt = stmt.where(WordPack.is_published.is_(True))
    return stmt


async def pack_word_counts(
    session: AsyncSession, pack_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many words each pack has."""
    if not pack_ids:
        return {}
    stmt = (
        select(WordPackEntry.pack_id, func.count())
        .where(WordPackEntry.pack_id.in_(pack_ids))
        .group_by(WordPackEntry.pack_id)
    )
    return {pack_id: int(count) for pack_id, count in await session.execute(stmt)}


async def subscribed_pack_ids(
    session: AsyncSession, user_id: uuid.UUID, pack_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these packs the user subscribed to."""
    if not pack_ids:
        return set()
    stmt = select(PackSubscription.pack_id).where(
        PackSubscription.user_id == user_id, PackSubscription.pack_id.in_(pack_ids)
    )
    return set(await session.scalars(stmt))


async def pack_words(session: AsyncSession, pack_id: uuid.UUID) -> list[VocabularyWord]:
    """The words of a pack, in pack order."""
    stmt = (
        select(VocabularyWord)
        .join(WordPackEntry, WordPackEntry.word_id == VocabularyWord.id)
        .where(WordPackEntry.pack_id == pack_id)
        .order_by(WordPackEntry.position)
    )
    return list(await session.scalars(stmt))


async def replace_pack_words(
    session: AsyncSession, pack_id: uuid.UUID, word_ids: Sequence[int]
) -> None:
    """Make the pack's entries exactly `word_ids`, in that order."""
    await session.execute(delete(WordPackEntry).where(WordPackEntry.pack_id == pack_id))
    if word_ids:
        await session.execute(
            insert(WordPackEntry).values(
                [
                    {"pack_id": pack_id, "word_id": word_id, "position": position}
                    for position, word_id in enumerate(word_ids)
                ]
            )
        )


async def add_subscription(session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID) -> bool:
    """Subscribe; False when the user was already subscribed."""
    stmt = (
        insert(PackSubscription)
        .values(user_id=user_id, pack_id=pack_id)
        .on_conflict_do_nothing()
        .returning(PackSubscription.pack_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def remove_subscription(
    session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID
) -> bool:
    """Unsubscribe; False when there was no subscription."""
    stmt = (
        delete(PackSubscription)
        .where(PackSubscription.user_id == user_id, PackSubscription.pack_id == pack_id)
        .returning(PackSubscription.pack_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def hand_cards_to_other_packs(
    session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID
) -> int:
    """Give the user's never-reviewed cards from `pack_id` to another pack they subscribe to.

    Called on unsubscribing, so that a word another subscribed pack also has stays in the
    queue. Returns how many cards changed pack.
    """
    other_pack = (
        select(WordPackEntry.pack_id)
        .join(
            PackSubscription,
            (PackSubscription.pack_id == WordPackEntry.pack_id)
            & (PackSubscription.user_id == user_id),
        )
        .where(WordPackEntry.word_id == SrsCard.word_id, WordPackEntry.pack_id != pack_id)
        .order_by(PackSubscription.subscribed_at, WordPackEntry.pack_id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        update(SrsCard)
        .where(
            SrsCard.user_id == user_id,
            SrsCard.origin_pack_id == pack_id,
            SrsCard.state == CardState.NEW,
            exists(other_pack),
        )
        .values(origin_pack_id=other_pack)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]
