"""Request and response bodies of lesson play and progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from linguo.core.schemas import NO_NUL
from linguo.language.answers import DiffKind
from linguo.models.content import ExerciseType


class ExerciseToPlay(BaseModel):
    """An exercise as the learner sees it: never its answers."""

    id: uuid.UUID
    type: ExerciseType
    prompt: str = Field(description="What to translate or recognise (empty for listening)")
    prompt_language: str
    answer_language: str = Field(description="The language the answer is written in")
    choices: list[str] = Field(
        description="Options to pick from (cards, options) or the word bank (chips); "
        "empty when the answer is typed"
    )
    images: list[str] = Field(description="Picture ids illustrating the word (cards)")
    audio_url: str | None = Field(description="What to listen to (listening)")
    difficulty: int = Field(description="1 = recognise ... 3 = produce")


class AttemptStarted(BaseModel):
    """A new attempt at a lesson."""

    attempt_id: uuid.UUID
    lesson_id: uuid.UUID
    lesson_content_version: int
    exercises: list[ExerciseToPlay]
    hearts: int | None = Field(description="Wrong answers allowed; null means unlimited")
    started_at: datetime


class AnswerRequest(BaseModel):
    """One answer to one exercise of the attempt."""

    exercise_id: uuid.UUID
    answer: str = Field(
        max_length=2000, pattern=NO_NUL, description="The typed text, or the chosen option"
    )
    used_hint: Annotated[bool, Field(strict=True)] = Field(
        default=False, description="The learner looked at a hint before answering"
    )
    time_spent_ms: Annotated[int, Field(strict=True, ge=0, le=3_600_000)] | None = None


class WordDifference(BaseModel):
    """A word that differs between the answer and the closest accepted answer."""

    kind: DiffKind
    expected: str | None = Field(description="The word of the accepted answer (null: extra)")
    given: str | None = Field(description="The learner's word (null: missing)")
    position: int = Field(description="Index of the word in the accepted answer")


class AnswerFeedback(BaseModel):
    """What to show the learner about their answer."""

    message: str
    differences: list[WordDifference]


class AnswerResult(BaseModel):
    """The verdict on one answer."""

    correct: bool = Field(description="True also for an answer with only typos or accents off")
    typo: bool = Field(description="Correct, with slips worth pointing out")
    expected: str = Field(description="The closest accepted answer")
    feedback: AnswerFeedback | None = Field(description="Null when the answer was exactly right")
    hearts_left: int | None = Field(description="Null means unlimited")
    attempt_number: int = Field(description="How many times this exercise was answered so far")


class FinishResult(BaseModel):
    """The scored attempt. Finishing again returns the same result."""

    attempt_id: uuid.UUID
    lesson_id: uuid.UUID
    score: float = Field(description="Fraction of exercises right at the first answer (0..1)")
    passed: bool
    xp_earned: int
    new_achievements: list[str]
    correct_count: int
    exercise_count: int
    hearts_left: int | None
    time_spent_ms: int
    unlocked_lesson_ids: list[uuid.UUID] = Field(
        description="Lessons this attempt unlocked (first pass only)"
    )


class CourseProgress(BaseModel):
    """The learner's standing in one course they have played."""

    course_id: uuid.UUID
    title: str
    language: str
    source_language: str
    lessons_passed: int
    lessons_total: int
    xp: int = Field(description="XP earned in this course's lessons")
    words_learned: int = Field(description="Course words the learner has practised")
    words_mastered: int = Field(
        description="Course words in FSRS review state with stability of 21 days or more"
    )
    last_activity_at: datetime


class ProgressSummary(BaseModel):
    """Per-course progress, most recently played first."""

    courses: list[CourseProgress]
