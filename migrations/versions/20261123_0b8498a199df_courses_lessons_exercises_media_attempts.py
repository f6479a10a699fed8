"""courses, lessons, exercises, media and lesson attempts

Revision ID: 0b8498a199df
Revises: 6bfd920a5524
Create Date: 2026-11-23 11:20:13.452873
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0b8498a199df"
down_revision: str | Sequence[str] | None = "6bfd920a5524"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = ("exercise_status", "exercise_type", "lesson_type", "media_kind")


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("source_language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("cefr_min", sa.String(length=2), nullable=True),
        sa.Column("cefr_max", sa.String(length=2), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=50)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "special_characters",
            postgresql.ARRAY(sa.String(length=8)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("content_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "license_name", sa.String(length=200), server_default=sa.text("''"), nullable=False
        ),
        sa.Column(
            "license_url", sa.String(length=500), server_default=sa.text("''"), nullable=False
        ),
        sa.Column("attribution", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "cefr_max IN ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')", name=op.f("ck_courses_cefr_max")
        ),
        sa.CheckConstraint(
            "cefr_min IN ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')", name=op.f("ck_courses_cefr_min")
        ),
        sa.CheckConstraint(
            "content_version >= 1", name=op.f("ck_courses_content_version_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("source_key", name=op.f("uq_courses_source_key")),
    )
    op.create_index(
        "ix_courses_language_is_published_title",
        "courses",
        ["language", "is_published", "title"],
        unique=False,
    )
    op.create_table(
        "media_resources",
        sa.Column("kind", sa.Enum("audio", "image", name="media_kind"), nullable=False),
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("reference_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("reference_count >= 0", name=op.f("ck_media_resources_reference_count")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_media_resources_size_bytes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_resources")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_media_resources_storage_key")),
    )
    op.create_table(
        "units",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=True),
        sa.Column("icon", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_units_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("course_id", "source_key", name=op.f("uq_units_course_id_source_key")),
    )
    op.create_index("ix_units_course_id_position", "units", ["course_id", "position"], unique=False)
    op.create_table(
        "lessons",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("introduction", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "lesson_type",
            sa.Enum(
                "vocabulary",
                "phrases",
                "grammar",
                "listening",
                "speaking",
                "review",
                "mixed",
                name="lesson_type",
            ),
            nullable=False,
        ),
        sa.Column("pass_score", sa.Float(), server_default=sa.text("0.8"), nullable=False),
        sa.Column("prerequisite_lesson_id", sa.Uuid(), nullable=True),
        sa.Column("content_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "content_version >= 1", name=op.f("ck_lessons_content_version_positive")
        ),
        sa.CheckConstraint(
            "pass_score >= 0 AND pass_score <= 1", name=op.f("ck_lessons_pass_score")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lessons_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lessons_prerequisite_lesson_id_lessons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_lessons_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
        sa.UniqueConstraint("unit_id", "source_key", name=op.f("uq_lessons_unit_id_source_key")),
    )
    op.create_index("ix_lessons_course_id", "lessons", ["course_id"], unique=False)
    op.create_index(
        "ix_lessons_prerequisite_lesson_id", "lessons", ["prerequisite_lesson_id"], unique=False
    )
    op.create_index("ix_lessons_unit_id_position", "lessons", ["unit_id", "position"], unique=False)
    op.create_table(
        "exercises",
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=300), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "cards",
                "short_input",
                "options",
                "chips",
                "listening",
                "translate",
                name="exercise_type",
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("published", "pending_review", "archived", name="exercise_status"),
            server_default=sa.text("'published'"),
            nullable=False,
        ),
        sa.Column("prompt", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("prompt_language", sa.String(length=8), nullable=False),
        sa.Column("answer_language", sa.String(length=8), nullable=False),
        sa.Column("answers", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("choices", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("distractors", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "images", postgresql.ARRAY(sa.String(length=200)), server_default="{}", nullable=False
        ),
        sa.Column("audio_text", sa.Text(), nullable=True),
        sa.Column("audio_media_id", sa.Uuid(), nullable=True),
        sa.Column("difficulty", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("attempt_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "attempt_count >= error_count AND error_count >= 0", name=op.f("ck_exercises_counters")
        ),
        sa.CheckConstraint(
            "cardinality(answers) >= 1", name=op.f("ck_exercises_answers_not_empty")
        ),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name=op.f("ck_exercises_difficulty")),
        sa.ForeignKeyConstraint(
            ["audio_media_id"],
            ["media_resources.id"],
            name=op.f("fk_exercises_audio_media_id_media_resources"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_exercises_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
        sa.UniqueConstraint(
            "lesson_id", "source_key", name=op.f("uq_exercises_lesson_id_source_key")
        ),
    )
    op.create_index("ix_exercises_audio_media_id", "exercises", ["audio_media_id"], unique=False)
    op.create_index(
        "ix_exercises_lesson_id_status_position",
        "exercises",
        ["lesson_id", "status", "position"],
        unique=False,
    )
    op.create_table(
        "lesson_attempts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_content_version", sa.Integer(), nullable=False),
        sa.Column("exercise_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("hearts_start", sa.SmallInteger(), nullable=True),
        sa.Column("hearts_left", sa.SmallInteger(), nullable=True),
        sa.Column("hints_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("xp_earned", sa.Integer(), nullable=True),
        sa.Column("time_spent_ms", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("hearts_left >= 0", name=op.f("ck_lesson_attempts_hearts_left")),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_lesson_attempts_score")),
        sa.CheckConstraint("xp_earned >= 0", name=op.f("ck_lesson_attempts_xp_earned")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lesson_attempts_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_attempts_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lesson_attempts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_attempts")),
    )
    op.create_index("ix_lesson_attempts_lesson_id", "lesson_attempts", ["lesson_id"], unique=False)
    op.create_index(
        "ix_lesson_attempts_user_id_lesson_id_started_at",
        "lesson_attempts",
        ["user_id", "lesson_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "lesson_progress",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("best_score", sa.Float(), nullable=False),
        sa.Column("attempts_finished", sa.Integer(), nullable=False),
        sa.Column("xp_earned", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_passed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "best_score >= 0 AND best_score <= 1", name=op.f("ck_lesson_progress_best_score")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lesson_progress_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_progress_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lesson_progress_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "lesson_id", name=op.f("pk_lesson_progress")),
    )
    op.create_index("ix_lesson_progress_lesson_id", "lesson_progress", ["lesson_id"], unique=False)
    op.create_index(
        "ix_lesson_progress_user_id_course_id",
        "lesson_progress",
        ["user_id", "course_id"],
        unique=False,
    )
    op.create_table(
        "lesson_words",
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("word_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_words_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["word_id"],
            ["vocabulary_words.id"],
            name=op.f("fk_lesson_words_word_id_vocabulary_words"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lesson_id", "word_id", name=op.f("pk_lesson_words")),
    )
    op.create_index("ix_lesson_words_word_id", "lesson_words", ["word_id"], unique=False)
    op.create_table(
        "exercise_words",
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("word_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_words_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["word_id"],
            ["vocabulary_words.id"],
            name=op.f("fk_exercise_words_word_id_vocabulary_words"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", "word_id", name=op.f("pk_exercise_words")),
    )
    op.create_index("ix_exercise_words_word_id", "exercise_words", ["word_id"], unique=False)
    op.create_table(
        "question_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("typo", sa.Boolean(), nullable=False),
        sa.Column("used_hint", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("time_spent_ms", sa.Integer(), nullable=True),
        sa.Column("attempt_number", sa.SmallInteger(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempt_number >= 1", name=op.f("ck_question_attempts_attempt_number")),
        sa.CheckConstraint("time_spent_ms >= 0", name=op.f("ck_question_attempts_time_spent_ms")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["lesson_attempts.id"],
            name=op.f("fk_question_attempts_attempt_id_lesson_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_question_attempts_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_attempts")),
    )
    op.create_index(
        "ix_question_attempts_attempt_id_exercise_id",
        "question_attempts",
        ["attempt_id", "exercise_id"],
        unique=False,
    )
    op.create_index(
        "ix_question_attempts_exercise_id", "question_attempts", ["exercise_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_question_attempts_exercise_id", table_name="question_attempts")
    op.drop_index("ix_question_attempts_attempt_id_exercise_id", table_name="question_attempts")
    op.drop_table("question_attempts")
    op.drop_index("ix_exercise_words_word_id", table_name="exercise_words")
    op.drop_table("exercise_words")
    op.drop_index("ix_lesson_words_word_id", table_name="lesson_words")
    op.drop_table("lesson_words")
    op.drop_index("ix_lesson_progress_user_id_course_id", table_name="lesson_progress")
    op.drop_index("ix_lesson_progress_lesson_id", table_name="lesson_progress")
    op.drop_table("lesson_progress")
    op.drop_index("ix_lesson_attempts_user_id_lesson_id_started_at", table_name="lesson_attempts")
    op.drop_index("ix_lesson_attempts_lesson_id", table_name="lesson_attempts")
    op.drop_table("lesson_attempts")
    op.drop_index("ix_exercises_lesson_id_status_position", table_name="exercises")
    op.drop_index("ix_exercises_audio_media_id", table_name="exercises")
    op.drop_table("exercises")
    op.drop_index("ix_lessons_unit_id_position", table_name="lessons")
    op.drop_index("ix_lessons_prerequisite_lesson_id", table_name="lessons")
    op.drop_index("ix_lessons_course_id", table_name="lessons")
    op.drop_table("lessons")
    op.drop_index("ix_units_course_id_position", table_name="units")
    op.drop_table("units")
    op.drop_table("media_resources")
    op.drop_index("ix_courses_language_is_published_title", table_name="courses")
    op.drop_table("courses")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=False)
