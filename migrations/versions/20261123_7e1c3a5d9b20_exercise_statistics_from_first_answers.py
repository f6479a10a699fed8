"""Exercise statistics counted from first answers, not kept in counters on the row.

Revision ID: 7e1c3a5d9b20
Revises: 5b7e2d9c4a18
Create Date: 2026-11-23 17:39:38.908787
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e1c3a5d9b20"
down_revision: str | Sequence[str] | None = "5b7e2d9c4a18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Dropping the columns drops their check constraint (ck_exercises_counters) with them.
    op.drop_column("exercises", "attempt_count")
    op.drop_column("exercises", "error_count")


def downgrade() -> None:
    op.add_column(
        "exercises",
        sa.Column("attempt_count", sa.INTEGER(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "exercises",
        sa.Column("error_count", sa.INTEGER(), server_default=sa.text("0"), nullable=False),
    )
    # The older schema keeps the counters: count them from the first answers.
    op.execute(
        "UPDATE exercises e SET attempt_count = s.attempts, error_count = s.errors "
        "FROM (SELECT exercise_id, count(*) AS attempts, "
        "count(*) FILTER (WHERE NOT correct) AS errors FROM question_attempts "
        "WHERE attempt_number = 1 GROUP BY exercise_id) s WHERE s.exercise_id = e.id"
    )
    op.create_check_constraint(
        op.f("ck_exercises_counters"),
        "exercises",
        "attempt_count >= error_count AND error_count >= 0",
    )
