"""Request and response bodies of gamification: XP goal, streak, wallet, shop, inventory."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from linguo.models.gamification import (
    GemSource,
    GemTransactionType,
    ShopItemKind,
    StreakDayKind,
    XpSource,
)


class GoalRead(BaseModel):
    """The learner's daily XP goal, XP today, total XP and level."""

    daily_xp: int = Field(description="Daily XP goal (1..500)")
    today_xp: int = Field(description="XP earned today (learner's local day)")
    met_today: bool
    total_xp: int
    level: int
    level_xp: int = Field(description="Total XP at which the current level started")
    next_level_xp: int = Field(description="Total XP needed for the next level")


class GoalUpdate(BaseModel):
    """A new daily XP goal."""

    model_config = ConfigDict(extra="forbid")

    daily_xp: int = Field(ge=1, le=500, strict=True)


class XpEntryRead(BaseModel):
    """One XP award."""

    model_config = ConfigDict(from_attributes=True)

    source: XpSource
    reference: str
    base_amount: int
    multiplier: int
    amount: int
    local_date: date
    created_at: datetime


class CalendarDay(BaseModel):
    """A day on the streak calendar."""

    date: date
    kind: StreakDayKind


class StreakRead(BaseModel):
    """The learner's streak, with the recent calendar (oldest first)."""

    current: int
    longest: int
    freezes_equipped: int
    today: date = Field(description="The learner's local date now")
    today_done: bool
    calendar: list[CalendarDay]


class WalletRead(BaseModel):
    """The learner's gems."""

    gems: int
    total_earned: int
    total_spent: int


class GemTransactionRead(BaseModel):
    """One movement of gems."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    type: GemTransactionType
    amount: int
    balance_after: int
    source: GemSource
    reference: str
    created_at: datetime


class ShopItemRead(BaseModel):
    """An item of the shop."""

    id: str
    kind: ShopItemKind
    name: str
    description: str
    price_gems: int
    max_owned: int | None = Field(description="Most a learner may hold (null: no limit)")
    duration_minutes: int | None = Field(description="How long the item runs once activated")


class PurchaseResult(BaseModel):
    """A completed purchase: the item, how many the learner now holds, gems left."""

    purchase_id: uuid.UUID
    item: ShopItemRead
    quantity: int = Field(description="How many of the item the learner holds now")
    gems_left: int


class InventoryEntryRead(BaseModel):
    """An item the learner holds."""

    item_id: str
    kind: ShopItemKind
    name: str
    quantity: int
    active: bool = Field(description="A timed item (boost) is running now")
    activated_at: datetime | None
    expires_at: datetime | None


class ActivationRequest(BaseModel):
    """What to use the item on: heart refills need the lesson attempt."""

    model_config = ConfigDict(extra="forbid")

    attempt_id: uuid.UUID | None = None


class ActivationResult(BaseModel):
    """The inventory entry after activation, and the attempt's hearts for a refill."""

    item: InventoryEntryRead
    hearts_left: int | None = None
