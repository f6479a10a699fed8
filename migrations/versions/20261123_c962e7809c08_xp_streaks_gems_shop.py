"""xp ledger, streaks, gems, shop and inventory

Revision ID: c962e7809c08
Revises: 55c35dde7900
Create Date: 2026-11-23 13:00:12.937422
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c962e7809c08"
down_revision: str | Sequence[str] | None = "55c35dde7900"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = ("gem_source", "gem_tx_type", "shop_item_kind", "streak_day_kind", "xp_source")

# The shop's catalogue as first shipped; `linguo seed` keeps it in line with
# linguo.gamification.shop.CATALOGUE afterwards.
SHOP_ITEMS = [
    {
        "id": "streak_freeze",
        "kind": "streak_freeze",
        "name": "Streak freeze",
        "description": "Keeps your streak alive through one missed day. At most 2 equipped.",
        "price_gems": 50,
        "max_owned": 2,
        "duration_minutes": None,
        "position": 1,
    },
    {
        "id": "heart_refill",
        "kind": "heart_refill",
        "name": "Heart refill",
        "description": "Restores every heart of a lesson you are playing.",
        "price_gems": 30,
        "max_owned": None,
        "duration_minutes": None,
        "position": 2,
    },
    {
        "id": "xp_boost",
        "kind": "xp_boost",
        "name": "Double XP",
        "description": "Doubles the XP you earn from lessons, reviews and conversations "
        "for 15 minutes after you activate it.",
        "price_gems": 40,
        "max_owned": None,
        "duration_minutes": 15,
        "position": 3,
    },
]


def upgrade() -> None:
    op.create_table(
        "shop_items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("streak_freeze", "heart_refill", "xp_boost", name="shop_item_kind"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_gems", sa.Integer(), nullable=False),
        sa.Column("max_owned", sa.SmallInteger(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("position", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes >= 1", name=op.f("ck_shop_items_duration")
        ),
        sa.CheckConstraint(
            "max_owned IS NULL OR max_owned >= 1", name=op.f("ck_shop_items_max_owned")
        ),
        sa.CheckConstraint("price_gems > 0", name=op.f("ck_shop_items_price_gems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_items")),
    )
    shop_items = sa.table(
        "shop_items",
        sa.column("id", sa.String),
        sa.column("kind", sa.Enum(name="shop_item_kind", create_type=False)),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("price_gems", sa.Integer),
        sa.column("max_owned", sa.SmallInteger),
        sa.column("duration_minutes", sa.Integer),
        sa.column("position", sa.SmallInteger),
    )
    op.bulk_insert(shop_items, SHOP_ITEMS)
    op.create_table(
        "gamification_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("daily_xp_goal", sa.SmallInteger(), server_default=sa.text("20"), nullable=False),
        sa.Column("gems", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("gems_earned", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("gems_spent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("streak_settled_through", sa.Date(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "daily_xp_goal >= 1 AND daily_xp_goal <= 500",
            name=op.f("ck_gamification_profiles_daily_xp_goal"),
        ),
        sa.CheckConstraint("gems >= 0", name=op.f("ck_gamification_profiles_gems")),
        sa.CheckConstraint(
            "gems_earned >= 0 AND gems_spent >= 0", name=op.f("ck_gamification_profiles_gem_totals")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_gamification_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_gamification_profiles")),
    )
    op.create_table(
        "gem_transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.Enum("earn", "spend", name="gem_tx_type"), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("lesson", "daily_goal", "achievement", "bonus", "purchase", name="gem_source"),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_gem_transactions_amount")),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_gem_transactions_balance_after")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_gem_transactions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gem_transactions")),
        sa.UniqueConstraint(
            "user_id",
            "source",
            "reference",
            name=op.f("uq_gem_transactions_user_id_source_reference"),
        ),
    )
    op.create_index(
        "ix_gem_transactions_user_id_id", "gem_transactions", ["user_id", "id"], unique=False
    )
    op.create_table(
        "inventory_items",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_inventory_items_quantity")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["shop_items.id"],
            name=op.f("fk_inventory_items_item_id_shop_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inventory_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "item_id", name=op.f("pk_inventory_items")),
    )
    op.create_table(
        "purchases",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("price_gems", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["shop_items.id"],
            name=op.f("fk_purchases_item_id_shop_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_purchases_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_purchases_user_id_idempotency_key")
        ),
    )
    op.create_index(
        "ix_purchases_user_id_created_at", "purchases", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "streak_days",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Enum("active", "frozen", name="streak_day_kind"), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_streak_days_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_streak_days")),
    )
    op.create_table(
        "xp_ledger",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "lesson",
                "review",
                "conversation",
                "daily_goal",
                "achievement",
                "bonus",
                name="xp_source",
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("base_amount", sa.Integer(), nullable=False),
        sa.Column("multiplier", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount = base_amount * multiplier", name=op.f("ck_xp_ledger_amount")),
        sa.CheckConstraint("base_amount >= 0", name=op.f("ck_xp_ledger_base_amount")),
        sa.CheckConstraint("multiplier >= 1", name=op.f("ck_xp_ledger_multiplier")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_xp_ledger_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xp_ledger")),
        sa.UniqueConstraint(
            "user_id", "source", "reference", name=op.f("uq_xp_ledger_user_id_source_reference")
        ),
    )
    op.create_index(
        "ix_xp_ledger_user_id_created_at", "xp_ledger", ["user_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_xp_ledger_user_id_local_date", "xp_ledger", ["user_id", "local_date"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_xp_ledger_user_id_local_date", table_name="xp_ledger")
    op.drop_index("ix_xp_ledger_user_id_created_at", table_name="xp_ledger")
    op.drop_table("xp_ledger")
    op.drop_table("streak_days")
    op.drop_index("ix_purchases_user_id_created_at", table_name="purchases")
    op.drop_table("purchases")
    op.drop_table("inventory_items")
    op.drop_index("ix_gem_transactions_user_id_id", table_name="gem_transactions")
    op.drop_table("gem_transactions")
    op.drop_table("gamification_profiles")
    op.drop_table("shop_items")
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=False)
