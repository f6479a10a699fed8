"""Vocabulary tables: the word catalogue and the curated word-bank packs."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, Timestamps, UUIDPrimaryKey, pg_enum

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
CEFR_CHECK = "IN ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')"


class PartOfSpeech(StrEnum):
    """Word classes; `phrase` is a multi-word expression learnt as one unit."""

    NOUN = "noun"
    VERB = "verb"
    ADJECTIVE = "adjective"
    ADVERB = "adverb"
    PRONOUN = "pronoun"
    DETERMINER = "determiner"
    PREPOSITION = "preposition"
    CONJUNCTION = "conjunction"
    INTERJECTION = "interjection"
    NUMERAL = "numeral"
    PHRASE = "phrase"
    OTHER = "other"


class Gender(StrEnum):
    """Grammatical gender, for languages that have it."""

    MASCULINE = "masculine"
    FEMININE = "feminine"
    NEUTER = "neuter"


class VocabularyWord(Timestamps, Base):
    """One dictionary entry of a language, unique by (language, lemma, part of speech).

    `translations` maps a source language to its accepted translations, best first;
    `examples` is a list of `{"text": ..., "translations": {lang: text}}`.
    """

    __tablename__ = "vocabulary_words"
    __table_args__ = (
        UniqueConstraint("language", "lemma", "part_of_speech"),
        # New words are offered in frequency order within a language.
        Index("ix_vocabulary_words_language_frequency_rank", "language", "frequency_rank", "id"),
        # Accent- and case-insensitive word-prefix search over word, lemma and translations.
        Index(
            "ix_vocabulary_words_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        CheckConstraint(f"cefr_level {CEFR_CHECK}", name="cefr_level"),
        CheckConstraint("frequency_rank > 0", name="frequency_rank_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    word: Mapped[str] = mapped_column(String(200))
    lemma: Mapped[str] = mapped_column(String(200))
    part_of_speech: Mapped[PartOfSpeech] = mapped_column(pg_enum(PartOfSpeech, "part_of_speech"))
    gender: Mapped[Gender | None] = mapped_column(pg_enum(Gender, "grammatical_gender"))
    translations: Mapped[dict[str, list[str]]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    examples: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    frequency_rank: Mapped[int | None] = mapped_column(Integer)
    cefr_level: Mapped[str | None] = mapped_column(String(2))
    audio_url: Mapped[str | None] = mapped_column(String(500))
    # Kept by PostgreSQL: ' ' + every word of word, lemma and translations, unaccented and
    # lower-cased, so that "% <prefix>%" finds a word-prefix match through the trigram index.
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed("linguo_vocabulary_search_text(word, lemma, translations)", persisted=True),
    )


class WordPack(UUIDPrimaryKey, Timestamps, Base):
    """A curated list of words a learner can add to their review queue in one go."""

    __tablename__ = "word_packs"
    __table_args__ = (
        Index("ix_word_packs_language_is_published", "language", "is_published", "title"),
        CheckConstraint(f"cefr_level {CEFR_CHECK}", name="cefr_level"),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    language: Mapped[str] = mapped_column(String(8))
    source_language: Mapped[str] = mapped_column(String(8))
    cefr_level: Mapped[str | None] = mapped_column(String(2))
    is_published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class WordPackEntry(Base):
    """A word of a pack, at its position in the pack."""

    __tablename__ = "word_pack_entries"
    __table_args__ = (Index("ix_word_pack_entries_word_id", "word_id"),)

    pack_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("word_packs.id", ondelete="CASCADE"), primary_key=True
    )
    word_id: Mapped[int] = mapped_column(
        ForeignKey("vocabulary_words.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class PackSubscription(Base):
    """A learner's subscription to a pack."""

    __tablename__ = "pack_subscriptions"
    __table_args__ = (Index("ix_pack_subscriptions_pack_id", "pack_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    pack_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("word_packs.id", ondelete="CASCADE"), primary_key=True
    )
    subscribed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
