"""HTTP routes of gamification: /me/goals, /me/xp, /me/streak, /me/wallet, /me/inventory, /shop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, status

from linguo.core.deps import CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.core.pagination import Page, Pagination, paginate
from linguo.gamification import (
    handlers,  # noqa: F401 - subscribes the event handlers
    repository,
    service,
    shop,
)
from linguo.gamification.schemas import (
    ActivationRequest,
    ActivationResult,
    CalendarDay,
    GemTransactionRead,
    GoalRead,
    GoalUpdate,
    InventoryEntryRead,
    PurchaseResult,
    ShopItemRead,
    StreakRead,
    WalletRead,
    XpEntryRead,
)

me_router = APIRouter(prefix="/me", tags=["gamification"], responses=error_responses(401))
shop_router = APIRouter(prefix="/shop", tags=["gamification"], responses=error_responses(401))

ItemIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]


def _goal(status_: service.GoalStatus) -> GoalRead:
    return GoalRead(
        daily_xp=status_.daily_xp,
        today_xp=status_.today_xp,
        met_today=status_.met_today,
        total_xp=status_.total_xp,
        level=status_.level,
        level_xp=status_.level_xp,
        next_level_xp=status_.next_level_xp,
    )


@me_router.get("/goals", response_model=GoalRead)
async def get_goals(user: CurrentUser, session: DbSession, now: Now) -> GoalRead:
    """The daily XP goal, XP earned today (local day), total XP and level."""
    return _goal(await service.goal_status(session, user, now))


@me_router.patch("/goals", response_model=GoalRead, responses=error_responses(422))
async def update_goals(
    body: GoalUpdate, user: CurrentUser, session: DbSession, now: Now
) -> GoalRead:
    """Set the daily XP goal (1..500)."""
    await service.set_daily_goal(session, user, body.daily_xp, now)
    return _goal(await service.goal_status(session, user, now))


@me_router.get("/xp/history", response_model=Page[XpEntryRead])
async def xp_history(user: CurrentUser, session: DbSession, page: Pagination) -> Page[XpEntryRead]:
    """The learner's XP awards, newest first."""
    rows, total = await paginate(session, repository.xp_history(user.id), page)
    return Page(
        items=[XpEntryRead.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@me_router.get("/streak", response_model=StreakRead, responses=error_responses(422))
async def get_streak(
    user: CurrentUser,
    session: DbSession,
    now: Now,
    days: Annotated[int, Query(ge=7, le=365, description="Calendar days to show")] = 30,
) -> StreakRead:
    """Current and longest streak, equipped freezes, and the calendar of the last `days` days.

    Missed days since the last activity are settled first (freezes applied), so the figures
    agree with the calendar.
    """
    found = await service.streak_status(session, user, now, days=days)
    return StreakRead(
        current=found.current,
        longest=found.longest,
        freezes_equipped=found.freezes_equipped,
        today=found.today,
        today_done=found.today_done,
        calendar=[CalendarDay(date=day, kind=kind) for day, kind in found.calendar],
    )


@me_router.get("/wallet", response_model=WalletRead)
async def get_wallet(user: CurrentUser, session: DbSession) -> WalletRead:
    """The learner's gems."""
    profile = await repository.get_profile(session, user.id)
    if profile is None:
        return WalletRead(gems=0, total_earned=0, total_spent=0)
    return WalletRead(
        gems=profile.gems, total_earned=profile.gems_earned, total_spent=profile.gems_spent
    )


@me_router.get("/wallet/transactions", response_model=Page[GemTransactionRead])
async def wallet_transactions(
    user: CurrentUser, session: DbSession, page: Pagination
) -> Page[GemTransactionRead]:
    """The learner's gem movements, newest first."""
    rows, total = await paginate(session, repository.gem_history(user.id), page)
    return Page(
        items=[GemTransactionRead.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@me_router.get("/inventory", response_model=list[InventoryEntryRead])
async def get_inventory(
    user: CurrentUser, session: DbSession, now: Now
) -> list[InventoryEntryRead]:
    """What the learner holds: quantity, and for timed items whether one runs now."""
    return await shop.list_inventory(session, user, now)


@me_router.post(
    "/inventory/{item_id}/activate",
    response_model=ActivationResult,
    responses=error_responses(400, 404, 409, 422),
)
async def activate_item(
    item_id: ItemIdPath,
    user: CurrentUser,
    session: DbSession,
    now: Now,
    body: ActivationRequest | None = None,
) -> ActivationResult:
    """Use one held item: `xp_boost` starts a boost; `heart_refill` needs `{attempt_id}`."""
    attempt_id = body.attempt_id if body is not None else None
    return await shop.activate(session, user, item_id, attempt_id=attempt_id, now=now)


@shop_router.get("", response_model=list[ShopItemRead])
async def list_shop(user: CurrentUser, session: DbSession) -> list[ShopItemRead]:
    """Every item of the shop with its price in gems."""
    return await shop.list_items(session)


@shop_router.post(
    "/{item_id}/purchase",
    response_model=PurchaseResult,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 409, 422),
)
async def purchase_item(
    item_id: ItemIdPath,
    user: CurrentUser,
    session: DbSession,
    now: Now,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Repeat a purchase safely: the same key returns the first result",
        ),
    ] = None,
) -> PurchaseResult:
    """Buy one of an item with gems; 409 `insufficient_gems` when the wallet is short."""
    return await shop.purchase(session, user, item_id, idempotency_key=idempotency_key, now=now)
