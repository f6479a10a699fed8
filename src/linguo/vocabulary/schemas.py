"""Request and response bodies of the vocabulary and pack routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from linguo.core.schemas import CEFRLevel, LanguageCode, refuse_nulls
from linguo.models.vocabulary import Gender, PartOfSpeech

# Strict: a JSON true or 2.0 is not a word id.
WordId = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]


class WordSummary(BaseModel):
    """A word as lists show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    word: str
    language: str
    translations: dict[str, list[str]] = Field(
        description="Accepted translations per source language, best first"
    )
    part_of_speech: PartOfSpeech
    frequency_rank: int | None = Field(description="1 = the language's most frequent word")
    cefr_level: str | None


class Example(BaseModel):
    """An example sentence and its translations per source language."""

    text: str
    translations: dict[str, str]


class WordRead(WordSummary):
    """A word with everything known about it."""

    lemma: str
    gender: Gender | None
    examples: list[Example]
    audio_url: str | None


def _unique_ids(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError("word_ids must not repeat a word")
    return value


WordIds = Annotated[list[WordId], Field(min_length=1, max_length=1000)]


class PackCreate(BaseModel):
    """A new word-bank pack: the words, in order, must exist and be in `language`."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    language: LanguageCode
    source_language: LanguageCode
    cefr_level: CEFRLevel | None = None
    is_published: bool = True
    word_ids: WordIds

    _check_ids = field_validator("word_ids")(_unique_ids)


class PackUpdate(BaseModel):
    """Changes to a pack; `word_ids` replaces the whole list. Absent means unchanged."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: Annotated[str, Field(max_length=2000)] | SkipJsonSchema[None] = None
    language: LanguageCode | SkipJsonSchema[None] = None
    source_language: LanguageCode | SkipJsonSchema[None] = None
    cefr_level: CEFRLevel | None = None
    is_published: bool | SkipJsonSchema[None] = None
    word_ids: WordIds | SkipJsonSchema[None] = None

    @field_validator("word_ids")
    @classmethod
    def _check_ids(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else _unique_ids(value)

    @model_validator(mode="after")
    def _only_level_may_be_cleared(self) -> PackUpdate:
        refuse_nulls(self, nullable=frozenset({"cefr_level"}))
        return self


class PackRead(BaseModel):
    """A pack without its words."""

    id: uuid.UUID
    title: str
    description: str
    language: str
    source_language: str
    cefr_level: str | None
    is_published: bool
    word_count: int
    subscribed: bool = Field(description="Whether the caller subscribed to it")
    created_at: datetime
    updated_at: datetime


class PackDetail(PackRead):
    """A pack with its words in order."""

    words: list[WordSummary]


class Subscription(BaseModel):
    """The result of subscribing to a pack."""

    pack_id: uuid.UUID
    words_total: int
    words_added: int = Field(description="Words put in the review queue by this call")
    already_subscribed: bool
