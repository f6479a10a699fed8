"""Gamification tables: the XP ledger, streak calendar, gem wallet and ledger, shop, inventory."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, UUIDPrimaryKey, pg_enum


class XpSource(StrEnum):
    """What an XP award was for."""

    LESSON = "lesson"
    REVIEW = "review"
    CONVERSATION = "conversation"
    DAILY_GOAL = "daily_goal"
    ACHIEVEMENT = "achievement"
    BONUS = "bonus"


class StreakDayKind(StrEnum):
    """How a calendar day keeps the streak: the learner practised, or a freeze covered it."""

    ACTIVE = "active"
    FROZEN = "frozen"


class GemTransactionType(StrEnum):
    """Whether gems came in or went out."""

    EARN = "earn"
    SPEND = "spend"


class GemSource(StrEnum):
    """Why gems moved."""

    LESSON = "lesson"
    DAILY_GOAL = "daily_goal"
    ACHIEVEMENT = "achievement"
    BONUS = "bonus"
    PURCHASE = "purchase"


class ShopItemKind(StrEnum):
    """What a shop item does."""

    STREAK_FREEZE = "streak_freeze"
    HEART_REFILL = "heart_refill"
    XP_BOOST = "xp_boost"


class GamificationProfile(Base):
    """A learner's wallet and goal: the row locked (FOR UPDATE) for every XP, streak or gem change.

    `gems` always equals the sum of the learner's gem ledger (earnings minus spendings).
    """

    __tablename__ = "gamification_profiles"
    __table_args__ = (
        CheckConstraint("gems >= 0", name="gems"),
        CheckConstraint("gems_earned >= 0 AND gems_spent >= 0", name="gem_totals"),
        CheckConstraint("daily_xp_goal >= 1 AND daily_xp_goal <= 500", name="daily_xp_goal"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    daily_xp_goal: Mapped[int] = mapped_column(SmallInteger, server_default=text("20"))
    gems: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    gems_earned: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    gems_spent: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The last local day whose end has been settled (freezes applied or the streak broken):
    # freezes bought later never cover days before it.
    streak_settled_through: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class XpLedgerEntry(Base):
    """One XP award. (user, source, reference) is unique: an award cannot happen twice."""

    __tablename__ = "xp_ledger"
    __table_args__ = (
        UniqueConstraint("user_id", "source", "reference"),
        Index("ix_xp_ledger_user_id_local_date", "user_id", "local_date"),
        Index("ix_xp_ledger_user_id_created_at", "user_id", "created_at"),
        CheckConstraint("base_amount >= 0", name="base_amount"),
        CheckConstraint("multiplier >= 1", name="multiplier"),
        CheckConstraint("amount = base_amount * multiplier", name="amount"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[XpSource] = mapped_column(pg_enum(XpSource, "xp_source"))
    reference: Mapped[str] = mapped_column(String(200))
    base_amount: Mapped[int] = mapped_column(Integer)
    multiplier: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    amount: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StreakDay(Base):
    """One day of a learner's streak calendar, as a date in their time zone on that day."""

    __tablename__ = "streak_days"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[StreakDayKind] = mapped_column(pg_enum(StreakDayKind, "streak_day_kind"))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GemTransaction(Base):
    """One movement of gems; `balance_after` is the wallet balance right after it."""

    __tablename__ = "gem_transactions"
    __table_args__ = (
        UniqueConstraint("user_id", "source", "reference"),
        Index("ix_gem_transactions_user_id_id", "user_id", "id"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("balance_after >= 0", name="balance_after"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[GemTransactionType] = mapped_column(pg_enum(GemTransactionType, "gem_tx_type"))
    amount: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    source: Mapped[GemSource] = mapped_column(pg_enum(GemSource, "gem_source"))
    reference: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ShopItem(Base):
    """An item of the shop; `id` is a stable slug such as `streak_freeze`."""

    __tablename__ = "shop_items"
    __table_args__ = (
        CheckConstraint("price_gems > 0", name="price_gems"),
        CheckConstraint("max_owned IS NULL OR max_owned >= 1", name="max_owned"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes >= 1", name="duration"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[ShopItemKind] = mapped_column(pg_enum(ShopItemKind, "shop_item_kind"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    price_gems: Mapped[int] = mapped_column(Integer)
    max_owned: Mapped[int | None] = mapped_column(SmallInteger)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


class InventoryItem(Base):
    """How many of a shop item a learner holds, and whether one is active (a running boost)."""

    __tablename__ = "inventory_items"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(
        ForeignKey("shop_items.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Purchase(UUIDPrimaryKey, Base):
    """A completed purchase and the response it got, replayed for a repeated Idempotency-Key."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_purchases_user_id_created_at", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(ForeignKey("shop_items.id", ondelete="CASCADE"))
    price_gems: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
