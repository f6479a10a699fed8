"""Request and response bodies of the admin content routes (/admin/courses, units, ...).

Create bodies validate each field; rules that involve several fields or the stored content
(CEFR order, choices against answers, languages against the course) are checked by the
service on the entity as it would be after the change, so a PATCH is held to the same rules
as a create. PATCH bodies: an absent field is unchanged; null clears the fields that may be
empty and is refused (422) for the others.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from linguo.core.schemas import CEFRLevel, LanguageCode, integral, refuse_nulls
from linguo.models.content import ExerciseStatus, ExerciseType, LessonType

# Text without NUL (PostgreSQL cannot store it); "non-blank" needs one character that is not
# an ASCII space or control character. Written with explicit ranges so that every regex
# engine (Pydantic's, JSON Schema's, the fuzzers') agrees on what matches.
_NO_NUL = r"^[^\x00]*$"
_NON_BLANK = r"^[^\x00]*[^\x00-\x20][^\x00]*$"


def _text(max_length: int, *, blank: bool = False) -> Any:
    if blank:
        return Field(max_length=max_length, pattern=_NO_NUL)
    return Field(min_length=1, max_length=max_length, pattern=_NON_BLANK)


Title = Annotated[str, _text(200)]
LongText = Annotated[str, _text(10_000, blank=True)]
Tag = Annotated[str, _text(50)]
SpecialCharacter = Annotated[str, _text(8)]
Icon = Annotated[str, _text(100)]
AnswerText = Annotated[str, _text(500)]
PromptText = Annotated[str, _text(2000, blank=True)]
SpokenText = Annotated[str, _text(2000)]
ImageId = Annotated[str, _text(200)]
Colour = Annotated[
    str,
    Field(pattern=r"^#[0-9A-Fa-f]{6}$", description='"#RRGGBB"', examples=["#3A7BD5"]),
    AfterValidator(str.upper),
]
Tags = Annotated[list[Tag], Field(max_length=20)]
SpecialCharacters = Annotated[list[SpecialCharacter], Field(max_length=100)]
Answers = Annotated[
    list[AnswerText],
    Field(min_length=1, max_length=50, description="Every accepted answer, the main one first"),
]
Choices = Annotated[
    list[AnswerText],
    Field(
        max_length=50,
        description="What the learner picks from: for cards and options at least one accepted "
        "answer among the distractors, for chips the word bank (every word of the main answer "
        "plus the distractors); empty for typed exercises",
    ),
]
Distractors = Annotated[
    list[AnswerText],
    Field(max_length=50, description="The wrong choices; never an accepted answer"),
]
Images = Annotated[list[ImageId], Field(max_length=10, description="Picture ids")]


# Strict (no booleans, no strings) but taking integral floats, as JSON Schema's "integer" does;
# the validator comes last so that it runs first and the bounds stay in the JSON Schema.
UnitPosition = Annotated[
    int,
    Field(
        strict=True,
        ge=1,
        le=100_000,
        description="1 = first; siblings move to make room; past the end appends",
    ),
    BeforeValidator(integral),
]
ExercisePosition = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=100_000,
        description="0 = first; siblings move to make room; past the end appends",
    ),
    BeforeValidator(integral),
]
PassScore = Annotated[
    float,
    Field(
        strict=True,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Fraction of exercises (0..1) to get right to pass",
    ),
]
Difficulty = Annotated[
    int,
    Field(strict=True, ge=1, le=5, description="1 = recognise ... 5 = hardest"),
    BeforeValidator(integral),
]


# --------------------------------------------------------------------------- courses


class CourseCreate(BaseModel):
    """A new course, unpublished and empty; publish it once it has something to play."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: LongText = ""
    language: LanguageCode = Field(description="The language taught")
    source_language: LanguageCode = Field(description="The language the course is taught in")
    cefr_min: CEFRLevel | None = None
    cefr_max: CEFRLevel | None = Field(default=None, description="Not below cefr_min")
    tags: Tags = Field(default_factory=list)
    special_characters: SpecialCharacters = Field(default_factory=list)
    license_name: Annotated[str, _text(200, blank=True)] = ""
    license_url: Annotated[str, _text(500, blank=True)] = ""
    attribution: LongText = ""


class CourseUpdate(BaseModel):
    """Changes to a course; `cefr_min` and `cefr_max` may be cleared with null."""

    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = None
    description: LongText | SkipJsonSchema[None] = None
    language: LanguageCode | SkipJsonSchema[None] = None
    source_language: LanguageCode | SkipJsonSchema[None] = None
    cefr_min: CEFRLevel | None = None
    cefr_max: CEFRLevel | None = None
    tags: Tags | SkipJsonSchema[None] = None
    special_characters: SpecialCharacters | SkipJsonSchema[None] = None
    license_name: Annotated[str, _text(200, blank=True)] | SkipJsonSchema[None] = None
    license_url: Annotated[str, _text(500, blank=True)] | SkipJsonSchema[None] = None
    attribution: LongText | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _only_levels_may_be_cleared(self) -> CourseUpdate:
        refuse_nulls(self, nullable=frozenset({"cefr_min", "cefr_max"}))
        return self


class CourseAdminRead(BaseModel):
    """A course as admins see it, published or not."""

    id: uuid.UUID
    source_key: str | None = Field(description="Set for imported courses, null for admin-made")
    title: str
    description: str
    language: str
    source_language: str
    cefr_min: str | None
    cefr_max: str | None
    tags: list[str]
    special_characters: list[str]
    license_name: str
    license_url: str
    attribution: str
    is_published: bool
    content_version: int = Field(description="Goes up whenever the course's content changes")
    unit_count: int
    lesson_count: int
    exercise_count: int = Field(description="Exercises of every status")
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- units


class UnitCreate(BaseModel):
    """A new unit of a course."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    colour: Colour | None = None
    icon: Icon | None = None
    position: UnitPosition | None = Field(default=None, description="Absent: at the end")


class UnitUpdate(BaseModel):
    """Changes to a unit; `colour` and `icon` may be cleared with null."""

    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = None
    colour: Colour | None = None
    icon: Icon | None = None
    position: UnitPosition | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _only_looks_may_be_cleared(self) -> UnitUpdate:
        refuse_nulls(self, nullable=frozenset({"colour", "icon"}))
        return self


class UnitAdminRead(BaseModel):
    """A unit."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID
    source_key: str | None
    position: int = Field(description="1 = first")
    title: str
    colour: str | None
    icon: str | None
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- lessons


class LessonCreate(BaseModel):
    """A new lesson of a unit."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    introduction: LongText = ""
    lesson_type: LessonType = LessonType.MIXED
    pass_score: PassScore = 0.8
    prerequisite_lesson_id: uuid.UUID | None = Field(
        default=None, description="Another lesson of the same course to pass first"
    )
    position: UnitPosition | None = Field(default=None, description="Absent: at the end")


class LessonUpdate(BaseModel):
    """Changes to a lesson; `unit_id` moves it to another unit of the same course.

    `prerequisite_lesson_id` may be cleared with null.
    """

    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = None
    introduction: LongText | SkipJsonSchema[None] = None
    lesson_type: LessonType | SkipJsonSchema[None] = None
    pass_score: PassScore | SkipJsonSchema[None] = None
    prerequisite_lesson_id: uuid.UUID | None = None
    unit_id: uuid.UUID | SkipJsonSchema[None] = Field(
        default=None,
        description="Move to this unit of the same course (at the end unless `position` is given)",
    )
    position: UnitPosition | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _only_prerequisite_may_be_cleared(self) -> LessonUpdate:
        refuse_nulls(self, nullable=frozenset({"prerequisite_lesson_id"}))
        return self


class LessonAdminRead(BaseModel):
    """A lesson."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    unit_id: uuid.UUID
    course_id: uuid.UUID
    source_key: str | None
    position: int = Field(description="1 = first in its unit")
    title: str
    introduction: str
    lesson_type: LessonType
    pass_score: float
    prerequisite_lesson_id: uuid.UUID | None
    content_version: int = Field(description="Goes up whenever the lesson or its exercises change")
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- exercises


class ExerciseCreate(BaseModel):
    """A new exercise of a lesson (see the field descriptions for the rules per type)."""

    model_config = ConfigDict(extra="forbid")

    type: ExerciseType
    status: ExerciseStatus = ExerciseStatus.PUBLISHED
    prompt: PromptText = ""
    prompt_language: LanguageCode = Field(description="The course's language or source language")
    answer_language: LanguageCode = Field(description="The course's language or source language")
    answers: Answers
    choices: Choices = Field(default_factory=list)
    distractors: Distractors = Field(default_factory=list)
    images: Images = Field(default_factory=list)
    audio_text: SpokenText | None = Field(
        default=None, description="What the learner hears; required for listening"
    )
    difficulty: Difficulty = 1
    position: ExercisePosition | None = Field(default=None, description="Absent: at the end")


class ExerciseUpdate(BaseModel):
    """Changes to an exercise; `audio_text` may be cleared with null (not for listening).

    Changing `audio_text` detaches the exercise's synthesised audio, which no longer matches.
    """

    model_config = ConfigDict(extra="forbid")

    type: ExerciseType | SkipJsonSchema[None] = None
    status: ExerciseStatus | SkipJsonSchema[None] = None
    prompt: PromptText | SkipJsonSchema[None] = None
    prompt_language: LanguageCode | SkipJsonSchema[None] = None
    answer_language: LanguageCode | SkipJsonSchema[None] = None
    answers: Answers | SkipJsonSchema[None] = None
    choices: Choices | SkipJsonSchema[None] = None
    distractors: Distractors | SkipJsonSchema[None] = None
    images: Images | SkipJsonSchema[None] = None
    audio_text: SpokenText | None = None
    difficulty: Difficulty | SkipJsonSchema[None] = None
    position: ExercisePosition | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _only_audio_may_be_cleared(self) -> ExerciseUpdate:
        refuse_nulls(self, nullable=frozenset({"audio_text"}))
        return self


class ExerciseAdminRead(BaseModel):
    """An exercise with everything, answers included."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lesson_id: uuid.UUID
    source_key: str | None
    position: int = Field(description="0 = first in its lesson")
    type: ExerciseType
    status: ExerciseStatus
    prompt: str
    prompt_language: str
    answer_language: str
    answers: list[str]
    choices: list[str]
    distractors: list[str]
    images: list[str]
    audio_text: str | None
    audio_media_id: uuid.UUID | None
    difficulty: int
    attempt_count: int = Field(default=0, description="Learners' first answers to it")
    error_count: int = Field(default=0, description="Wrong first answers")
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- the whole tree


class LessonTree(LessonAdminRead):
    """A lesson with all its exercises, in order."""

    exercises: list[ExerciseAdminRead]


class UnitTree(UnitAdminRead):
    """A unit with its lessons, in order."""

    lessons: list[LessonTree]


class CourseTree(CourseAdminRead):
    """A course with everything in it, whatever its status."""

    units: list[UnitTree]
