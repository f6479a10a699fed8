"""weekly leagues

Revision ID: 3f6a1d2c8b90
Revises: 2692efbd6961
Create Date: 2026-11-23 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f6a1d2c8b90"
down_revision: str | Sequence[str] | None = "2692efbd6961"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = ("league_outcome",)


def upgrade() -> None:
    op.create_table(
        "league_groups",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_open", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("member_count >= 0", name=op.f("ck_league_groups_member_count")),
        sa.CheckConstraint("tier >= 0 AND tier <= 9", name=op.f("ck_league_groups_tier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_league_groups")),
        sa.UniqueConstraint(
            "week_start", "tier", "number", name=op.f("uq_league_groups_week_start_tier_number")
        ),
    )
    op.create_index(
        "ix_league_groups_unsettled",
        "league_groups",
        ["week_start"],
        unique=False,
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.create_index(
        "uq_league_groups_open",
        "league_groups",
        ["week_start", "tier"],
        unique=True,
        postgresql_where=sa.text("is_open"),
    )
    op.create_table(
        "league_memberships",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("xp", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("xp_reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final_rank", sa.SmallInteger(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum("promoted", "stayed", "demoted", name="league_outcome"),
            nullable=True,
        ),
        sa.CheckConstraint("tier >= 0 AND tier <= 9", name=op.f("ck_league_memberships_tier")),
        sa.CheckConstraint("xp >= 0", name=op.f("ck_league_memberships_xp")),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["league_groups.id"],
            name=op.f("fk_league_memberships_group_id_league_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_league_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "week_start", name=op.f("pk_league_memberships")),
    )
    op.create_index(
        "ix_league_memberships_standings",
        "league_memberships",
        ["group_id", sa.literal_column("xp DESC"), "xp_reached_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_league_memberships_standings", table_name="league_memberships")
    op.drop_table("league_memberships")
    op.drop_index(
        "uq_league_groups_open", table_name="league_groups", postgresql_where=sa.text("is_open")
    )
    op.drop_index(
        "ix_league_groups_unsettled",
        table_name="league_groups",
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.drop_table("league_groups")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=False)
