"""Request and response bodies of the flashcard routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from linguo.core.schemas import LanguageCode, refuse_nulls
from linguo.models.srs import CardState, FlashcardEventKind

# Surrounding whitespace is dropped before the length check: "  " is no front, and " chat "
# is the same front as "chat" (on create and on edit alike).
Front = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    Field(description="Word or phrase to learn"),
]
Back = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    Field(description="Its translation"),
]
Note = Annotated[str, Field(max_length=5000)]


class FlashcardCreate(BaseModel):
    """A learner's own card; languages default to the learner's target and native ones."""

    model_config = ConfigDict(extra="forbid")

    front: Front
    back: Back
    note: Note | None = None
    language: LanguageCode | None = None
    source_language: LanguageCode | None = None


class FlashcardUpdate(BaseModel):
    """Changes to a flashcard; absent means unchanged, `note` may be cleared with null."""

    model_config = ConfigDict(extra="forbid")

    front: Front | SkipJsonSchema[None] = None
    back: Back | SkipJsonSchema[None] = None
    note: Note | None = None

    @model_validator(mode="after")
    def _only_note_may_be_cleared(self) -> FlashcardUpdate:
        refuse_nulls(self, nullable=frozenset({"note"}))
        return self


class FlashcardRead(BaseModel):
    """A flashcard with its scheduling state."""

    id: uuid.UUID
    front: str
    back: str
    note: str | None
    language: str
    source_language: str
    state: CardState
    next_review: datetime | None
    last_review: datetime | None
    stability: float | None
    difficulty: float | None
    reps: int
    lapses: int
    created_at: datetime
    updated_at: datetime


class FlashcardEventRead(BaseModel):
    """One event in a flashcard's history."""

    model_config = ConfigDict(from_attributes=True)

    kind: FlashcardEventKind
    occurred_at: datetime
    details: dict[str, Any]


class ImportSummary(BaseModel):
    """The result of importing an exported file."""

    created: int
    skipped: int = Field(description="Rows whose front already exists for that language")
