"""The shop and the learner's inventory: atomic, idempotent purchases and item activation.

- A purchase locks the learner's profile row, so concurrent purchases are serialised: 20 at
  once with gems for one succeed exactly once, the others get 409 `insufficient_gems`.
- With an `Idempotency-Key`, the first successful purchase is stored with its response; a
  request repeating the key gets that same response (201) and is not charged again. The key
  used for another item is refused (409 `idempotency_key_reused`). A refused purchase
  changes nothing and is not remembered, so retrying it with the same key tries again.
- Streak freezes are equipped when bought, at most 2 (a third: 409 `item_limit_reached`);
  missed days consume them automatically. The double-XP boost and heart refills are held
  until activated with `POST /me/inventory/{item_id}/activate`: a boost runs for its
  duration (one at a time: 409 `boost_active`); a heart refill restores every heart of one
  unfinished lesson attempt of the learner (`{"attempt_id": ...}`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.analytics.cache import invalidate_learner
from linguo.core.errors import BadRequest, Conflict, ErrorCode, NotFound
from linguo.gamification import repository, service
from linguo.gamification.schemas import (
    ActivationResult,
    InventoryEntryRead,
    PurchaseResult,
    ShopItemRead,
)
from linguo.models.gamification import InventoryItem, Purchase, ShopItem, ShopItemKind
from linguo.models.identity import User

CATALOGUE: tuple[dict[str, Any], ...] = (
    {
        "id": "streak_freeze",
        "kind": ShopItemKind.STREAK_FREEZE,
        "name": "Streak freeze",
        "description": "Keeps your streak alive through one missed day. At most 2 equipped.",
        "price_gems": 50,
        "max_owned": service.MAX_FREEZES,
        "duration_minutes": None,
        "position": 1,
    },
    {
        "id": "heart_refill",
        "kind": ShopItemKind.HEART_REFILL,
        "name": "Heart refill",
        "description": "Restores every heart of a lesson you are playing.",
        "price_gems": 30,
        "max_owned": None,
        "duration_minutes": None,
        "position": 2,
    },
    {
        "id": "xp_boost",
        "kind": ShopItemKind.XP_BOOST,
        "name": "Double XP",
        "description": "Doubles the XP you earn from lessons, reviews and conversations "
        "for 15 minutes after you activate it.",
        "price_gems": 40,
        "max_owned": None,
        "duration_minutes": 15,
        "position": 3,
    },
)


class ItemLimitReached(Conflict):
    """The learner already holds as many of this item as allowed."""

    code = ErrorCode.ITEM_LIMIT_REACHED


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used for a different purchase."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class ItemNotOwned(Conflict):
    """The learner holds none of this item."""

    code = ErrorCode.ITEM_NOT_OWNED


class ItemNotActivatable(Conflict):
    """This item works by itself and cannot be activated."""

    code = ErrorCode.ITEM_NOT_ACTIVATABLE


class BoostActive(Conflict):
    """A boost is already running."""

    code = ErrorCode.BOOST_ACTIVE


class HeartsFull(Conflict):
    """The attempt has all its hearts (or unlimited ones)."""

    code = ErrorCode.HEARTS_FULL


class AttemptFinished(Conflict):
    """The attempt is finished."""

    code = ErrorCode.ATTEMPT_FINISHED


async def seed_shop_items(session: AsyncSession) -> list[str]:
    """Create or update the shop's items from CATALOGUE (idempotent)."""
    before = {item.id for item in await repository.shop_items(session)}
    await repository.upsert_items(session, [dict(row) for row in CATALOGUE])
    return [f"shop item {row['id']}" for row in CATALOGUE if row["id"] not in before]


def item_read(item: ShopItem) -> ShopItemRead:
    """The public view of a shop item."""
    return ShopItemRead.model_validate(item, from_attributes=True)


def entry_read(entry: InventoryItem, item: ShopItem, now: datetime) -> InventoryEntryRead:
    """The public view of an inventory entry; `active` while a timed item runs."""
    return InventoryEntryRead(
        item_id=item.id,
        kind=item.kind,
        name=item.name,
        quantity=entry.quantity,
        active=entry.expires_at is not None and entry.expires_at > now,
        activated_at=entry.activated_at,
        expires_at=entry.expires_at,
    )


async def list_items(session: AsyncSession) -> list[ShopItemRead]:
    """Every item of the shop."""
    return [item_read(item) for item in await repository.shop_items(session)]


async def _item(session: AsyncSession, item_id: str) -> ShopItem:
    item = await repository.get_item(session, item_id)
    if item is None:
        raise NotFound("No such shop item.")
    return item


async def purchase(
    session: AsyncSession,
    user: User,
    item_id: str,
    *,
    idempotency_key: str | None,
    now: datetime,
) -> PurchaseResult:
    """Buy one of an item: charge its price and add it to the inventory, atomically."""
    item = await _item(session, item_id)
    profile = await repository.lock_profile(session, user.id)
    if idempotency_key is not None:
        earlier = await repository.purchase_by_key(session, user.id, idempotency_key)
        if earlier is not None:
            if earlier.item_id != item.id:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used for another purchase.",
                    details={"item_id": earlier.item_id},
                )
            return PurchaseResult.model_validate(earlier.response)
    if item.kind is ShopItemKind.STREAK_FREEZE:
        # Missed days before today are judged with the freezes held before this purchase.
        await service.settle_streak(session, user, now)
    entry = await repository.inventory_entry(session, user.id, item.id, create_at=now)
    assert entry is not None
    if item.max_owned is not None and entry.quantity >= item.max_owned:
        raise ItemLimitReached(
            f"You already hold {entry.quantity} of {item.name!r}, the most allowed.",
            details={"max_owned": item.max_owned},
        )
    purchase_id = uuid.uuid4()
    await service.spend_gems(
        session, profile, amount=item.price_gems, reference=str(purchase_id), at=now
    )
    entry.quantity += 1
    entry.updated_at = now
    result = PurchaseResult(
        purchase_id=purchase_id,
        item=item_read(item),
        quantity=entry.quantity,
        gems_left=profile.gems,
    )
    session.add(
        Purchase(
            id=purchase_id,
            user_id=user.id,
            item_id=item.id,
            price_gems=item.price_gems,
            idempotency_key=idempotency_key,
            response=result.model_dump(mode="json"),
            created_at=now,
        )
    )
    await invalidate_learner(session, user.id)  # freezes and streak figures changed
    await session.flush()
    return result


async def list_inventory(
    session: AsyncSession, user: User, now: datetime
) -> list[InventoryEntryRead]:
    """What the learner holds."""
    return [
        entry_read(entry, item, now) for entry, item in await repository.inventory(session, user.id)
    ]


async def activate(
    session: AsyncSession,
    user: User,
    item_id: str,
    *,
    attempt_id: uuid.UUID | None,
    now: datetime,
) -> ActivationResult:
    """Use one held item: start a boost, or refill the hearts of a lesson attempt."""
    item = await _item(session, item_id)
    if item.kind is ShopItemKind.STREAK_FREEZE:
        raise ItemNotActivatable("Streak freezes are used automatically on a missed day.")
    attempt = None
    if item.kind is ShopItemKind.HEART_REFILL:
        if attempt_id is None:
            raise BadRequest(
                "A heart refill needs the `attempt_id` of the lesson attempt to refill.",
                details=[{"loc": ["body", "attempt_id"], "message": "required"}],
            )
        # The attempt is locked before the profile, in the order finishing a lesson uses.
        attempt = await repository.lock_attempt(session, user.id, attempt_id)
        if attempt is None:
            raise NotFound("No such lesson attempt.")
    profile_lock = await repository.lock_profile(session, user.id)
    del profile_lock  # held until the commit: serialises the learner's inventory changes
    entry = await repository.inventory_entry(session, user.id, item.id)
    if entry is None or entry.quantity == 0:
        raise ItemNotOwned(f"You hold no {item.name!r}; buy one in the shop first.")
    hearts_left: int | None = None
    if item.kind is ShopItemKind.XP_BOOST:
        if entry.expires_at is not None and entry.expires_at > now:
            raise BoostActive(
                "A boost is already running.", details={"expires_at": entry.expires_at.isoformat()}
            )
        entry.activated_at = now
        entry.expires_at = now + timedelta(minutes=item.duration_minutes or 15)
    else:
        assert attempt is not None
        if attempt.finished_at is not None:
            raise AttemptFinished("This attempt is finished.")
        if attempt.hearts_start is None or attempt.hearts_left is None:
            raise HeartsFull("This attempt has unlimited hearts.")
        if attempt.hearts_left >= attempt.hearts_start:
            raise HeartsFull("This attempt has all its hearts.")
        attempt.hearts_left = attempt.hearts_start
        hearts_left = attempt.hearts_left
        entry.activated_at = now
    entry.quantity -= 1
    entry.updated_at = now
    await session.flush()
    return ActivationResult(item=entry_read(entry, item, now), hearts_left=hearts_left)
