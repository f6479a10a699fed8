"""Request and response bodies of the spaced-repetition routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from linguo.core.schemas import integral, refuse_nulls
from linguo.models.srs import CardState, ReviewSource
from linguo.vocabulary.schemas import WordId

Rating = Annotated[
    int,
    Field(strict=True, ge=0, le=3, description="0 = again, 1 = hard, 2 = good, 3 = easy"),
    BeforeValidator(integral),
]
ResponseTime = Annotated[
    int,
    Field(strict=True, ge=0, le=3_600_000, description="Milliseconds"),
    BeforeValidator(integral),
]


class ReviewRequest(BaseModel):
    """A learner's rating of how well they recalled a word."""

    model_config = ConfigDict(extra="forbid")

    word_id: WordId
    rating: Rating
    response_time_ms: ResponseTime | None = None


class CardReview(BaseModel):
    """A rating of a flashcard."""

    model_config = ConfigDict(extra="forbid")

    rating: Rating
    response_time_ms: ResponseTime | None = None


class ReviewResult(BaseModel):
    """The card's new FSRS state after a review."""

    word_id: int | None
    flashcard_id: uuid.UUID | None = None
    state: CardState
    stability: float = Field(description="Days until recall probability falls to 90%")
    difficulty: float = Field(description="FSRS difficulty, 1 (easy) to 10 (hard)")
    scheduled_days: int = Field(description="Whole days until the next review (0 = today)")
    next_review: datetime
    reps: int
    lapses: int


class QueueItem(BaseModel):
    """A word (or flashcard) to study now."""

    kind: Literal["word", "flashcard"]
    word_id: int | None
    flashcard_id: uuid.UUID | None
    word: str
    language: str
    translations: dict[str, list[str]]
    state: CardState
    next_review: datetime | None = Field(description="When it was due; null for new words")
    is_new: bool
    retrievability: float | None = Field(
        description="Predicted probability of recall now; null for new words"
    )


class StudyDay(BaseModel):
    """The learner's study day: backlog and what is left of the daily caps."""

    day_started_at: datetime = Field(description="The learner's local midnight, in UTC")
    due_total: int = Field(description="Cards due now, before the daily cap")
    new_done_today: int
    reviews_done_today: int
    new_left_today: int
    reviews_left_today: int


class CardProgress(BaseModel):
    """A learner's stored FSRS state for one word (state `new` if never reviewed)."""

    word_id: int
    word: str
    state: CardState
    stability: float | None
    difficulty: float | None
    next_review: datetime | None
    last_review: datetime | None
    reps: int
    lapses: int
    correct_count: int
    incorrect_count: int
    retrievability: float | None


class ReviewLogRead(BaseModel):
    """One past review."""

    model_config = ConfigDict(from_attributes=True)

    rating: int
    source: ReviewSource
    reviewed_at: datetime
    duration_ms: int | None
    state_before: CardState
    state_after: CardState
    stability_before: float | None
    stability_after: float
    difficulty_before: float | None
    difficulty_after: float
    due_before: datetime
    due_after: datetime


class LearnerSettingsRead(BaseModel):
    """The learner's spaced-repetition settings."""

    model_config = ConfigDict(from_attributes=True)

    desired_retention: float
    new_cards_per_day: int
    reviews_per_day: int


class LearnerSettingsUpdate(BaseModel):
    """Changes to the learner's settings; absent means unchanged."""

    model_config = ConfigDict(extra="forbid")

    desired_retention: (
        Annotated[float, Field(strict=True, ge=0.70, le=0.97)] | SkipJsonSchema[None]
    ) = None
    new_cards_per_day: Annotated[int, Field(strict=True, ge=0, le=1000)] | SkipJsonSchema[None] = (
        None
    )
    reviews_per_day: Annotated[int, Field(strict=True, ge=0, le=10000)] | SkipJsonSchema[None] = (
        None
    )

    @model_validator(mode="after")
    def _no_nulls(self) -> LearnerSettingsUpdate:
        refuse_nulls(self)
        return self


class ParametersRead(BaseModel):
    """The FSRS parameters scheduling this learner's cards."""

    parameters: list[float] = Field(description="The 21 FSRS-6 weights in use")
    personal: bool = Field(description="True once fitted from the learner's own reviews")
    fitted_at: datetime | None
    fitted_on_reviews: int | None = Field(description="Reviews the fit was computed from")
    reviews_logged: int
    reviews_needed: int = Field(description="Reviews needed before a personal fit")
    desired_retention: float
