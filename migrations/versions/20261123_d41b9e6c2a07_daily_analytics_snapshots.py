"""daily analytics snapshots

Revision ID: d41b9e6c2a07
Revises: 8c2e4b7a1f53
Create Date: 2026-11-23 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d41b9e6c2a07"
down_revision: str | Sequence[str] | None = "8c2e4b7a1f53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_snapshots",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total_xp", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("xp", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("current_streak", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("longest_streak", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lessons_completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reviews", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("conversation_turns", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("answers", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("correct_answers", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("minutes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("words_new", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("words_learning", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("words_review", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("words_relearning", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("words_mastered", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_analytics_snapshots_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_analytics_snapshots")),
    )
    op.create_index("ix_analytics_snapshots_day", "analytics_snapshots", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_analytics_snapshots_day", table_name="analytics_snapshots")
    op.drop_table("analytics_snapshots")
