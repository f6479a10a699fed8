"""conversation sessions, messages and error memory

Revision ID: 55c35dde7900
Revises: 0b8498a199df
Create Date: 2026-11-23 12:09:45.525552
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "55c35dde7900"
down_revision: str | Sequence[str] | None = "0b8498a199df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = ("conversation_message_role", "conversation_session_status")


def upgrade() -> None:
    op.create_table(
        "conversation_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "in_progress",
                "paused",
                "completed",
                "abandoned",
                name="conversation_session_status",
            ),
            nullable=False,
        ),
        sa.Column("conversation_style", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("native_language", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("planned_duration_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("turn_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_free_turns", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("xp_earned", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
            "planned_duration_minutes BETWEEN 5 AND 180",
            name=op.f("ck_conversation_sessions_planned_duration_minutes"),
        ),
        sa.CheckConstraint(
            "turn_count >= 0 AND error_free_turns <= turn_count",
            name=op.f("ck_conversation_sessions_turns"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversation_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_sessions")),
    )
    op.create_index(
        "ix_conversation_sessions_user_id_started_at",
        "conversation_sessions",
        ["user_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "learner_error_memory",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.CheckConstraint("occurrences >= 1", name=op.f("ck_learner_error_memory_occurrences")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_learner_error_memory_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "language", "code", name=op.f("pk_learner_error_memory")
        ),
    )
    op.create_index(
        "ix_learner_error_memory_user_id_last_seen_at",
        "learner_error_memory",
        ["user_id", "last_seen_at"],
        unique=False,
    )
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role", sa.Enum("user", "assistant", name="conversation_message_role"), nullable=False
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("turn_number", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["conversation_sessions.id"],
            name=op.f("fk_conversation_messages_session_id_conversation_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    op.create_index(
        "ix_conversation_messages_session_id_id",
        "conversation_messages",
        ["session_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_messages_session_id_id", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_learner_error_memory_user_id_last_seen_at", table_name="learner_error_memory")
    op.drop_table("learner_error_memory")
    op.drop_index("ix_conversation_sessions_user_id_started_at", table_name="conversation_sessions")
    op.drop_table("conversation_sessions")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=False)
