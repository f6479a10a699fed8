"""vocabulary, spaced repetition, flashcards and packs

Adds the extensions unaccent and pg_trgm (both "trusted": the database owner may
create them) and two IMMUTABLE SQL functions that the vocabulary search index uses.

Revision ID: 6bfd920a5524
Revises: 75c09c33b80a
Create Date: 2026-11-23 09:10:10.187046
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6bfd920a5524"
down_revision: str | Sequence[str] | None = "75c09c33b80a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENUM_TYPES = (
    "review_source",
    "card_origin",
    "card_state",
    "flashcard_event_kind",
    "grammatical_gender",
    "part_of_speech",
)

# unaccent() itself is only STABLE (its dictionary could change); pinning the dictionary
# makes the wrapper safe to declare IMMUTABLE, which an index expression requires.
FOLD_FUNCTION = """
CREATE FUNCTION linguo_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(unaccent('unaccent'::regdictionary, value))
"""

SEARCH_TEXT_FUNCTION = """
CREATE FUNCTION linguo_vocabulary_search_text(word text, lemma text, translations jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ' ' || linguo_fold(regexp_replace(concat_ws(' ', word, lemma, (
    SELECT string_agg(alternative, ' ')
    FROM jsonb_each(coalesce(translations, '{}'::jsonb)) AS entry(language, alternatives),
         jsonb_array_elements_text(entry.alternatives) AS alternative
)), '[^[:alnum:]]+', ' ', 'g'))
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(FOLD_FUNCTION)
    op.execute(SEARCH_TEXT_FUNCTION)
    op.create_table(
        "cache_generations",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_generations")),
    )
    op.create_table(
        "vocabulary_words",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("word", sa.String(length=200), nullable=False),
        sa.Column("lemma", sa.String(length=200), nullable=False),
        sa.Column(
            "part_of_speech",
            sa.Enum(
                "noun",
                "verb",
                "adjective",
                "adverb",
                "pronoun",
                "determiner",
                "preposition",
                "conjunction",
                "interjection",
                "numeral",
                "phrase",
                "other",
                name="part_of_speech",
            ),
            nullable=False,
        ),
        sa.Column(
            "gender",
            sa.Enum("masculine", "feminine", "neuter", name="grammatical_gender"),
            nullable=True,
        ),
        sa.Column(
            "translations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "examples",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("frequency_rank", sa.Integer(), nullable=True),
        sa.Column("cefr_level", sa.String(length=2), nullable=True),
        sa.Column("audio_url", sa.String(length=500), nullable=True),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed("linguo_vocabulary_search_text(word, lemma, translations)", persisted=True),
            nullable=False,
        ),
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
            "cefr_level IN ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')",
            name=op.f("ck_vocabulary_words_cefr_level"),
        ),
        sa.CheckConstraint(
            "frequency_rank > 0", name=op.f("ck_vocabulary_words_frequency_rank_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vocabulary_words")),
        sa.UniqueConstraint(
            "language",
            "lemma",
            "part_of_speech",
            name=op.f("uq_vocabulary_words_language_lemma_part_of_speech"),
        ),
    )
    op.create_index(
        "ix_vocabulary_words_language_frequency_rank",
        "vocabulary_words",
        ["language", "frequency_rank", "id"],
        unique=False,
    )
    op.create_index(
        "ix_vocabulary_words_search_text",
        "vocabulary_words",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_table(
        "word_packs",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("source_language", sa.String(length=8), nullable=False),
        sa.Column("cefr_level", sa.String(length=2), nullable=True),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
            "cefr_level IN ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')",
            name=op.f("ck_word_packs_cefr_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_packs")),
    )
    op.create_index(
        "ix_word_packs_language_is_published",
        "word_packs",
        ["language", "is_published", "title"],
        unique=False,
    )
    op.create_table(
        "flashcard_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("flashcard_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("created", "updated", "reviewed", "deleted", name="flashcard_event_kind"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_flashcard_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flashcard_events")),
    )
    op.create_index(
        "ix_flashcard_events_flashcard_id_occurred_at",
        "flashcard_events",
        ["flashcard_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "ix_flashcard_events_user_id_occurred_at",
        "flashcard_events",
        ["user_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "flashcards",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("source_language", sa.String(length=8), nullable=False),
        sa.Column("front", sa.String(length=500), nullable=False),
        sa.Column("back", sa.String(length=1000), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
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
            ["user_id"], ["users.id"], name=op.f("fk_flashcards_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flashcards")),
    )
    op.create_index(
        "ix_flashcards_user_id_created_at", "flashcards", ["user_id", "created_at"], unique=False
    )
    op.create_index(
        "uq_flashcards_user_id_language_front",
        "flashcards",
        ["user_id", "language", sa.literal_column("lower(front)")],
        unique=True,
    )
    op.create_table(
        "pack_subscriptions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("pack_id", sa.Uuid(), nullable=False),
        sa.Column(
            "subscribed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["word_packs.id"],
            name=op.f("fk_pack_subscriptions_pack_id_word_packs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_pack_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "pack_id", name=op.f("pk_pack_subscriptions")),
    )
    op.create_index(
        "ix_pack_subscriptions_pack_id", "pack_subscriptions", ["pack_id"], unique=False
    )
    op.create_table(
        "srs_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("desired_retention", sa.Float(), nullable=False),
        sa.Column("new_cards_per_day", sa.Integer(), nullable=False),
        sa.Column("reviews_per_day", sa.Integer(), nullable=False),
        sa.Column("parameters", postgresql.ARRAY(sa.Float()), nullable=True),
        sa.Column("parameters_fitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parameters_review_count", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "desired_retention >= 0.70 AND desired_retention <= 0.97",
            name=op.f("ck_srs_profiles_desired_retention"),
        ),
        sa.CheckConstraint(
            "new_cards_per_day >= 0", name=op.f("ck_srs_profiles_new_cards_per_day")
        ),
        sa.CheckConstraint("reviews_per_day >= 0", name=op.f("ck_srs_profiles_reviews_per_day")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_srs_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_srs_profiles")),
    )
    op.create_table(
        "word_pack_entries",
        sa.Column("pack_id", sa.Uuid(), nullable=False),
        sa.Column("word_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["word_packs.id"],
            name=op.f("fk_word_pack_entries_pack_id_word_packs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["word_id"],
            ["vocabulary_words.id"],
            name=op.f("fk_word_pack_entries_word_id_vocabulary_words"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pack_id", "word_id", name=op.f("pk_word_pack_entries")),
    )
    op.create_index("ix_word_pack_entries_word_id", "word_pack_entries", ["word_id"], unique=False)
    op.create_table(
        "srs_cards",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("word_id", sa.Integer(), nullable=True),
        sa.Column("flashcard_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum("new", "learning", "review", "relearning", name="card_state"),
            nullable=False,
        ),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("stability", sa.Float(), nullable=True),
        sa.Column("difficulty", sa.Float(), nullable=True),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_review", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lapses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("correct_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("incorrect_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "review",
                "lesson",
                "conversation",
                "pack",
                "flashcard",
                "import",
                name="card_origin",
            ),
            nullable=False,
        ),
        sa.Column("origin_pack_id", sa.Uuid(), nullable=True),
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
            "num_nonnulls(word_id, flashcard_id) = 1", name=op.f("ck_srs_cards_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["flashcard_id"],
            ["flashcards.id"],
            name=op.f("fk_srs_cards_flashcard_id_flashcards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["origin_pack_id"],
            ["word_packs.id"],
            name=op.f("fk_srs_cards_origin_pack_id_word_packs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_srs_cards_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["word_id"],
            ["vocabulary_words.id"],
            name=op.f("fk_srs_cards_word_id_vocabulary_words"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_srs_cards")),
        sa.UniqueConstraint("flashcard_id", name=op.f("uq_srs_cards_flashcard_id")),
        sa.UniqueConstraint("user_id", "word_id", name=op.f("uq_srs_cards_user_id_word_id")),
    )
    op.create_index("ix_srs_cards_origin_pack_id", "srs_cards", ["origin_pack_id"], unique=False)
    op.create_index(
        "ix_srs_cards_user_id_due",
        "srs_cards",
        ["user_id", "due"],
        unique=False,
        postgresql_where=sa.text("state <> 'new'"),
    )
    op.create_index(
        "ix_srs_cards_user_id_new",
        "srs_cards",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("state = 'new'"),
    )
    op.create_index("ix_srs_cards_word_id", "srs_cards", ["word_id"], unique=False)
    op.create_table(
        "srs_review_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("queue", "lesson", "conversation", name="review_source"),
            nullable=False,
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column(
            "state_before",
            sa.Enum("new", "learning", "review", "relearning", name="card_state"),
            nullable=False,
        ),
        sa.Column(
            "state_after",
            sa.Enum("new", "learning", "review", "relearning", name="card_state"),
            nullable=False,
        ),
        sa.Column("stability_before", sa.Float(), nullable=True),
        sa.Column("stability_after", sa.Float(), nullable=False),
        sa.Column("difficulty_before", sa.Float(), nullable=True),
        sa.Column("difficulty_after", sa.Float(), nullable=False),
        sa.Column("due_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_after", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 0 AND 3", name=op.f("ck_srs_review_logs_rating")),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["srs_cards.id"],
            name=op.f("fk_srs_review_logs_card_id_srs_cards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_srs_review_logs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_srs_review_logs")),
    )
    op.create_index(
        "ix_srs_review_logs_card_id_reviewed_at",
        "srs_review_logs",
        ["card_id", "reviewed_at"],
        unique=False,
    )
    op.create_index(
        "ix_srs_review_logs_user_id_reviewed_at",
        "srs_review_logs",
        ["user_id", "reviewed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_srs_review_logs_user_id_reviewed_at", table_name="srs_review_logs")
    op.drop_index("ix_srs_review_logs_card_id_reviewed_at", table_name="srs_review_logs")
    op.drop_table("srs_review_logs")
    op.drop_index("ix_srs_cards_word_id", table_name="srs_cards")
    op.drop_index(
        "ix_srs_cards_user_id_new",
        table_name="srs_cards",
        postgresql_where=sa.text("state = 'new'"),
    )
    op.drop_index(
        "ix_srs_cards_user_id_due",
        table_name="srs_cards",
        postgresql_where=sa.text("state <> 'new'"),
    )
    op.drop_index("ix_srs_cards_origin_pack_id", table_name="srs_cards")
    op.drop_table("srs_cards")
    op.drop_index("ix_word_pack_entries_word_id", table_name="word_pack_entries")
    op.drop_table("word_pack_entries")
    op.drop_table("srs_profiles")
    op.drop_index("ix_pack_subscriptions_pack_id", table_name="pack_subscriptions")
    op.drop_table("pack_subscriptions")
    op.drop_index("uq_flashcards_user_id_language_front", table_name="flashcards")
    op.drop_index("ix_flashcards_user_id_created_at", table_name="flashcards")
    op.drop_table("flashcards")
    op.drop_index("ix_flashcard_events_user_id_occurred_at", table_name="flashcard_events")
    op.drop_index("ix_flashcard_events_flashcard_id_occurred_at", table_name="flashcard_events")
    op.drop_table("flashcard_events")
    op.drop_index("ix_word_packs_language_is_published", table_name="word_packs")
    op.drop_table("word_packs")
    op.drop_index(
        "ix_vocabulary_words_search_text",
        table_name="vocabulary_words",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_index("ix_vocabulary_words_language_frequency_rank", table_name="vocabulary_words")
    op.drop_table("vocabulary_words")
    op.drop_table("cache_generations")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=False)
    op.execute("DROP FUNCTION linguo_vocabulary_search_text(text, text, jsonb)")
    op.execute("DROP FUNCTION linguo_fold(text)")
    # The extensions stay: other schemas of the database may use them.
