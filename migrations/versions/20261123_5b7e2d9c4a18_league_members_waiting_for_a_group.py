"""League members waiting for a group (group_id nullable).

Revision ID: 5b7e2d9c4a18
Revises: d41b9e6c2a07
Create Date: 2026-11-23 17:10:27.104791
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e2d9c4a18"
down_revision: str | Sequence[str] | None = "d41b9e6c2a07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("league_memberships", "group_id", existing_type=sa.UUID(), nullable=True)
    op.create_index(
        "ix_league_memberships_waiting",
        "league_memberships",
        ["week_start", "tier", "joined_at"],
        unique=False,
        postgresql_where=sa.text("group_id IS NULL"),
    )


def downgrade() -> None:
    # The older schema has no waiting state. Learners wait minutes at most (the rollover job
    # places them): run `linguo jobs run rollover-leagues` first, or their week is dropped.
    op.execute("DELETE FROM league_memberships WHERE group_id IS NULL")
    op.drop_index(
        "ix_league_memberships_waiting",
        table_name="league_memberships",
        postgresql_where=sa.text("group_id IS NULL"),
    )
    op.alter_column("league_memberships", "group_id", existing_type=sa.UUID(), nullable=False)
