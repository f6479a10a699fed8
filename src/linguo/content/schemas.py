"""Response bodies of the learner-facing course routes."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from linguo.models.content import LessonType

LessonStatus = Literal["locked", "available", "passed"]


class CourseSummary(BaseModel):
    """A published course as the catalogue lists it."""

    id: uuid.UUID
    title: str
    description: str
    language: str = Field(description="The language taught")
    source_language: str = Field(description="The language the course is taught in")
    cefr_min: str | None
    cefr_max: str | None
    tags: list[str]
    special_characters: list[str] = Field(
        description="Letters of the language a keyboard may lack, for an on-screen bar"
    )
    content_version: int = Field(description="Goes up whenever the course's content changes")
    unit_count: int
    lesson_count: int
    license_name: str
    license_url: str
    attribution: str


class LessonOutline(BaseModel):
    """A lesson in a course outline, with the caller's standing in it."""

    id: uuid.UUID
    title: str
    order: int
    lesson_type: LessonType
    pass_score: float = Field(description="Fraction of exercises (0..1) to get right to pass")
    prerequisite_lesson_id: uuid.UUID | None
    content_version: int
    exercise_count: int
    word_count: int
    status: LessonStatus = Field(
        description="locked until the prerequisite is passed; passed once any attempt passed"
    )
    best_score: float | None = Field(description="The caller's best finished score, if any")


class UnitOutline(BaseModel):
    """A unit and its lessons, in order."""

    id: uuid.UUID
    title: str
    order: int
    colour: str | None
    icon: str | None
    lessons: list[LessonOutline]


class CourseDetail(CourseSummary):
    """A course with its units and lessons and the caller's progress through them."""

    units: list[UnitOutline]
