"""Course content tables: courses -> units -> lessons -> exercises, and their media files."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, Timestamps, UUIDPrimaryKey, pg_enum
from linguo.models.vocabulary import CEFR_CHECK


class LessonType(StrEnum):
    """What a lesson mainly practises."""

    VOCABULARY = "vocabulary"
    PHRASES = "phrases"
    GRAMMAR = "grammar"
    LISTENING = "listening"
    SPEAKING = "speaking"
    REVIEW = "review"
    MIXED = "mixed"


class ExerciseType(StrEnum):
    """The kinds of exercise (LibreLingo's challenge types), easiest first."""

    CARDS = "cards"  # pick the target word for a translation (with pictures)
    SHORT_INPUT = "short_input"  # type the target word for a translation
    OPTIONS = "options"  # pick the translation of a target-language phrase
    CHIPS = "chips"  # build the translation from a word bank
    LISTENING = "listening"  # type what you hear
    TRANSLATE = "translate"  # type the translation of a sentence


class ExerciseStatus(StrEnum):
    """Only published exercises reach learners."""

    PUBLISHED = "published"
    PENDING_REVIEW = "pending_review"
    ARCHIVED = "archived"


class MediaKind(StrEnum):
    """What a media resource holds."""

    AUDIO = "audio"
    IMAGE = "image"


class Course(UUIDPrimaryKey, Timestamps, Base):
    """A course teaching `language` to speakers of `source_language`.

    `source_key` identifies an imported course across re-imports (None for courses made in
    the admin API); `content_hash` is the hash of the imported files' content, and
    `content_version` counts the changes learners' cached copies must pick up.
    """

    __tablename__ = "courses"
    __table_args__ = (
        Index("ix_courses_language_is_published_title", "language", "is_published", "title"),
        UniqueConstraint("source_key"),
        CheckConstraint(f"cefr_min {CEFR_CHECK}", name="cefr_min"),
        CheckConstraint(f"cefr_max {CEFR_CHECK}", name="cefr_max"),
        CheckConstraint("content_version >= 1", name="content_version_positive"),
    )

    source_key: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    source_language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    cefr_min: Mapped[str | None] = mapped_column(String(2))
    cefr_max: Mapped[str | None] = mapped_column(String(2))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), default=list, server_default=text("'{}'")
    )
    special_characters: Mapped[list[str]] = mapped_column(
        ARRAY(String(8)), default=list, server_default=text("'{}'")
    )
    is_published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    content_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    license_name: Mapped[str] = mapped_column(String(200), default="", server_default=text("''"))
    license_url: Mapped[str] = mapped_column(String(500), default="", server_default=text("''"))
    attribution: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class Unit(UUIDPrimaryKey, Timestamps, Base):
    """An ordered group of lessons within a course (a LibreLingo module)."""

    __tablename__ = "units"
    __table_args__ = (
        Index("ix_units_course_id_position", "course_id", "position"),
        UniqueConstraint("course_id", "source_key"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    source_key: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    colour: Mapped[str | None] = mapped_column(String(7))  # "#RRGGBB"
    icon: Mapped[str | None] = mapped_column(String(100))


class Lesson(UUIDPrimaryKey, Timestamps, Base):
    """An ordered lesson of a unit; `pass_score` is the fraction (0..1) needed to pass.

    A lesson is available to a learner when it has no prerequisite or the learner has
    passed its prerequisite.
    """

    __tablename__ = "lessons"
    __table_args__ = (
        Index("ix_lessons_unit_id_position", "unit_id", "position"),
        Index("ix_lessons_course_id", "course_id"),
        Index("ix_lessons_prerequisite_lesson_id", "prerequisite_lesson_id"),
        UniqueConstraint("unit_id", "source_key"),
        CheckConstraint("pass_score >= 0 AND pass_score <= 1", name="pass_score"),
        CheckConstraint("content_version >= 1", name="content_version_positive"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    # The unit's course, kept here so course-wide lesson queries need no join.
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    source_key: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    lesson_type: Mapped[LessonType] = mapped_column(pg_enum(LessonType, "lesson_type"))
    pass_score: Mapped[float] = mapped_column(Float, default=0.8, server_default=text("0.8"))
    prerequisite_lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL")
    )
    content_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    content_hash: Mapped[str | None] = mapped_column(String(64))


class LessonWord(Base):
    """A word a lesson introduces; passing the lesson puts it in the learner's queue."""

    __tablename__ = "lesson_words"
    __table_args__ = (Index("ix_lesson_words_word_id", "word_id"),)

    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    word_id: Mapped[int] = mapped_column(
        ForeignKey("vocabulary_words.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class MediaResource(UUIDPrimaryKey, Timestamps, Base):
    """A file in the storage provider under `storage_key`.

    `reference_count` is the number of exercises using the file; unreferenced files can be
    deleted from storage.
    """

    __tablename__ = "media_resources"
    __table_args__ = (
        UniqueConstraint("storage_key"),
        CheckConstraint("reference_count >= 0", name="reference_count"),
        CheckConstraint("size_bytes >= 0", name="size_bytes"),
    )

    kind: Mapped[MediaKind] = mapped_column(pg_enum(MediaKind, "media_kind"))
    storage_key: Mapped[str] = mapped_column(String(500))
    mime_type: Mapped[str] = mapped_column(String(100))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    reference_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # For synthesised speech: what was said, in which language, so it is made only once.
    language: Mapped[str | None] = mapped_column(String(8))
    transcript: Mapped[str | None] = mapped_column(Text)


class Exercise(UUIDPrimaryKey, Timestamps, Base):
    """One exercise of a lesson.

    `answers` are every accepted answer, the main one first; `choices` are what the learner
    picks from (answers mixed with distractors) for choice exercises, empty for typed ones;
    `distractors` are the wrong choices. `difficulty` is 1 (recognise) .. 3 (produce).
    How learners did on it is counted from their first answers (`question_attempts`) when
    an editor asks, never kept here: a counter row every learner updates would serialise
    everyone answering the same exercise.
    """

    __tablename__ = "exercises"
    __table_args__ = (
        Index("ix_exercises_lesson_id_status_position", "lesson_id", "status", "position"),
        Index("ix_exercises_audio_media_id", "audio_media_id"),
        UniqueConstraint("lesson_id", "source_key"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty"),
        CheckConstraint("cardinality(answers) >= 1", name="answers_not_empty"),
    )

    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    source_key: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[ExerciseType] = mapped_column(pg_enum(ExerciseType, "exercise_type"))
    status: Mapped[ExerciseStatus] = mapped_column(
        pg_enum(ExerciseStatus, "exercise_status"),
        default=ExerciseStatus.PUBLISHED,
        server_default=text("'published'"),
    )
    prompt: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    prompt_language: Mapped[str] = mapped_column(String(8))
    answer_language: Mapped[str] = mapped_column(String(8))
    answers: Mapped[list[str]] = mapped_column(ARRAY(Text))
    choices: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    distractors: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    images: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list, server_default="{}")
    audio_text: Mapped[str | None] = mapped_column(Text)
    audio_media_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("media_resources.id", ondelete="SET NULL")
    )
    difficulty: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))


class ExerciseWord(Base):
    """A vocabulary word an exercise practises."""

    __tablename__ = "exercise_words"
    __table_args__ = (Index("ix_exercise_words_word_id", "word_id"),)

    exercise_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    word_id: Mapped[int] = mapped_column(
        ForeignKey("vocabulary_words.id", ondelete="CASCADE"), primary_key=True
    )
