"""Vocabulary: searching the word catalogue, importing words, and word-bank packs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.core.cache import Cache, bump_cache_generation, cache_generation, cached
from linguo.core.errors import BadRequest, ErrorCode, NotFound
from linguo.core.pagination import PageParams, paginate
from linguo.models.srs import CardOrigin
from linguo.models.vocabulary import VocabularyWord, WordPack
from linguo.srs import service as srs_service
from linguo.vocabulary import repository
from linguo.vocabulary.entries import WordEntry, merge_entries, merge_into
from linguo.vocabulary.schemas import (
    PackCreate,
    PackDetail,
    PackRead,
    PackUpdate,
    Subscription,
    WordSummary,
)

CATALOGUE = "vocabulary"


class UnknownWords(BadRequest):
    """Some word ids of a pack do not exist or are in another language."""

    code = ErrorCode.UNKNOWN_WORDS
    message = "Some words do not exist in the pack's language."


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    rows: int
    words: int
    created: int
    merged: int


async def search_words(
    session: AsyncSession,
    cache: Cache,
    *,
    language: str | None,
    search: str | None,
    page: PageParams,
    ttl_seconds: int,
) -> dict[str, Any]:
    """One page of words (as the JSON body), cached until the catalogue next changes."""
    generation = await cache_generation(session, CATALOGUE)
    key = f"vocabulary:{generation}:{language or '*'}:{page.limit}:{page.offset}:{search or ''}"

    async def load() -> dict[str, Any]:
        stmt = repository.search_words_query(language=language, search=search)
        rows, total = await paginate(session, stmt, page)
        return {
            "items": [WordSummary.model_validate(row).model_dump(mode="json") for row in rows],
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
        }

    return await cached(cache, key, ttl_seconds, load)


async def get_word(session: AsyncSession, word_id: int) -> VocabularyWord:
    """A word; 404 if unknown."""
    word = await session.get(VocabularyWord, word_id)
    if word is None:
        raise NotFound("No such word.")
    return word


async def import_words(session: AsyncSession, entries: Sequence[WordEntry]) -> ImportReport:
    """Store words, merging duplicates by (language, lemma, part of speech) with the catalogue.

    Imports are serialised by a lock, and the cached vocabulary pages are invalidated in
    the same transaction.
    """
    await repository.lock_imports(session)
    merged = merge_entries(entries)
    existing = await repository.get_words_by_key(session, list(merged))
    to_store: list[WordEntry] = []
    for key, entry in merged.items():
        stored = existing.get(key)
        if stored is None:
            to_store.append(entry)
            continue
        combined = _entry_of(stored)
        merge_into(combined, entry)
        to_store.append(combined)
    await repository.upsert_words(session, to_store)
    await bump_cache_generation(session, CATALOGUE)
    return ImportReport(
        rows=len(entries),
        words=len(merged),
        created=len(merged) - len(existing),
        merged=len(existing),
    )


def _entry_of(word: VocabularyWord) -> WordEntry:
    return WordEntry(
        language=word.language,
        word=word.word,
        lemma=word.lemma,
        part_of_speech=word.part_of_speech,
        gender=word.gender,
        translations=word.translations,
        examples=word.examples,
        cefr_level=word.cefr_level,
        frequency_rank=word.frequency_rank,
        audio_url=word.audio_url,
    )


async def _pack_or_404(
    session: AsyncSession, pack_id: uuid.UUID, *, published_only: bool
) -> WordPack:
    pack = await session.get(WordPack, pack_id)
    if pack is None or (published_only and not pack.is_published):
        raise NotFound("No such pack.")
    return pack


async def _check_words(session: AsyncSession, word_ids: Sequence[int], language: str) -> None:
    words = await repository.get_words(session, word_ids)
    bad = [
        word_id
        for word_id in word_ids
        if word_id not in words or words[word_id].language != language
    ]
    if bad:
        raise UnknownWords(details={"word_ids": bad[:100]})


async def pack_reads(
    session: AsyncSession, packs: Sequence[WordPack], user_id: uuid.UUID
) -> list[PackRead]:
    """Packs with their word counts and whether `user_id` subscribed."""
    ids = [pack.id for pack in packs]
    counts = await repository.pack_word_counts(session, ids)
    subscribed = await repository.subscribed_pack_ids(session, user_id, ids)
    return [
        PackRead(
            id=pack.id,
            title=pack.title,
            description=pack.description,
            language=pack.language,
            source_language=pack.source_language,
            cefr_level=pack.cefr_level,
            is_published=pack.is_published,
            word_count=counts.get(pack.id, 0),
            subscribed=pack.id in subscribed,
            created_at=pack.created_at,
            updated_at=pack.updated_at,
        )
        for pack in packs
    ]


async def list_packs(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    language: str | None,
    published_only: bool,
    page: PageParams,
) -> tuple[list[PackRead], int]:
    """One page of packs."""
    stmt = repository.list_packs_query(language=language, published_only=published_only)
    rows, total = await paginate(session, stmt, page)
    return await pack_reads(session, rows, user_id), total


async def pack_detail(
    session: AsyncSession, pack_id: uuid.UUID, user_id: uuid.UUID, *, published_only: bool
) -> PackDetail:
    """A pack with its words; unpublished packs are 404 unless `published_only` is False."""
    pack = await _pack_or_404(session, pack_id, published_only=published_only)
    (summary,) = await pack_reads(session, [pack], user_id)
    words = await repository.pack_words(session, pack.id)
    return PackDetail(
        **summary.model_dump(), words=[WordSummary.model_validate(word) for word in words]
    )


async def create_pack(session: AsyncSession, data: PackCreate) -> WordPack:
    """A new pack; every word must exist in the pack's language (400 unknown_words)."""
    await _check_words(session, data.word_ids, data.language)
    pack = WordPack(
        title=data.title,
        description=data.description,
        language=data.language,
        source_language=data.source_language,
        cefr_level=data.cefr_level,
        is_published=data.is_published,
    )
    session.add(pack)
    await session.flush()
    await repository.replace_pack_words(session, pack.id, data.word_ids)
    return pack


async def update_pack(session: AsyncSession, pack_id: uuid.UUID, changes: PackUpdate) -> WordPack:
    """Apply changes; a new word list replaces the old one."""
    pack = await _pack_or_404(session, pack_id, published_only=False)
    fields = changes.model_dump(exclude_unset=True, exclude={"word_ids"})
    for name, value in fields.items():
        setattr(pack, name, value)
    if changes.word_ids is not None:
        await _check_words(session, changes.word_ids, pack.language)
        await repository.replace_pack_words(session, pack.id, changes.word_ids)
    elif "language" in fields:
        words = await repository.pack_words(session, pack.id)
        await _check_words(session, [word.id for word in words], pack.language)
    await session.flush()
    return pack


async def delete_pack(session: AsyncSession, pack_id: uuid.UUID) -> None:
    """Delete a pack; learners keep the cards it gave them."""
    pack = await _pack_or_404(session, pack_id, published_only=False)
    await session.delete(pack)
    await session.flush()


async def subscribe(
    session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID, *, now: datetime
) -> Subscription:
    """Subscribe to a published pack: its words the learner lacks become new cards."""
    pack = await _pack_or_404(session, pack_id, published_only=True)
    created = await repository.add_subscription(session, user_id, pack.id)
    words = await repository.pack_words(session, pack.id)
    added = await srs_service.add_words_to_queue(
        session,
        user_id,
        [word.id for word in words],
        origin=CardOrigin.PACK,
        now=now,
        pack_id=pack.id,
    )
    return Subscription(
        pack_id=pack.id, words_total=len(words), words_added=added, already_subscribed=not created
    )


async def unsubscribe(session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID) -> None:
    """Unsubscribe: the pack's words never reviewed leave the queue; 404 if not subscribed.

    Words that another pack the learner still subscribes to also has stay in the queue.
    """
    if not await repository.remove_subscription(session, user_id, pack_id):
        raise NotFound("You are not subscribed to this pack.")
    await repository.hand_cards_to_other_packs(session, user_id, pack_id)
    await srs_service.remove_unreviewed_pack_words(session, user_id, pack_id)
