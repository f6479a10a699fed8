"""achievements

Revision ID: d98a1c12227b
Revises: c962e7809c08
Create Date: 2026-11-23 13:18:50.949140
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d98a1c12227b"
down_revision: str | Sequence[str] | None = "c962e7809c08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = ("achievement_category", "achievement_metric")


def upgrade() -> None:
    op.create_table(
        "achievements",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "session",
                "streak",
                "vocabulary",
                "xp",
                "accuracy",
                "reviews",
                name="achievement_category",
            ),
            nullable=False,
        ),
        sa.Column(
            "metric",
            sa.Enum(
                "lessons_passed",
                "conversations",
                "longest_streak",
                "words_mastered",
                "total_xp",
                "accurate_lessons",
                "queue_reviews",
                name="achievement_metric",
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("xp_reward", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("gems_reward", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("icon", sa.String(length=60), nullable=False),
        sa.Column("position", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("target >= 1", name=op.f("ck_achievements_target")),
        sa.CheckConstraint(
            "xp_reward >= 0 AND gems_reward >= 0", name=op.f("ck_achievements_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievements")),
        sa.UniqueConstraint("code", name=op.f("uq_achievements_code")),
    )
    op.create_table(
        "user_achievements",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=200), nullable=False),
        sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name=op.f("fk_user_achievements_achievement_id_achievements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_achievements_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_achievements")),
        sa.UniqueConstraint(
            "user_id", "achievement_id", name=op.f("uq_user_achievements_user_id_achievement_id")
        ),
    )
    op.create_index(
        "ix_user_achievements_achievement_id", "user_achievements", ["achievement_id"], unique=False
    )
    op.create_index(
        "ix_user_achievements_user_id_trigger",
        "user_achievements",
        ["user_id", "trigger"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_user_achievements_user_id_trigger", table_name="user_achievements")
    op.drop_index("ix_user_achievements_achievement_id", table_name="user_achievements")
    op.drop_table("user_achievements")
    op.drop_table("achievements")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=False)
