"""HTTP routes of achievements: /achievements, /achievements/my, /achievements/check."""

from __future__ import annotations

from fastapi import APIRouter

from linguo.core.deps import CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.gamification import achievements  # also subscribes the achievement handlers
from linguo.gamification.achievements import AchievementRead, CheckResult, MyAchievementRead

router = APIRouter(prefix="/achievements", tags=["gamification"], responses=error_responses(401))


@router.get("", response_model=list[AchievementRead])
async def list_achievements(user: CurrentUser, session: DbSession) -> list[AchievementRead]:
    """Every achievement: category, target, and its XP and gems reward."""
    return await achievements.list_definitions(session)


@router.get("/my", response_model=list[MyAchievementRead])
async def my_achievements(user: CurrentUser, session: DbSession) -> list[MyAchievementRead]:
    """Every achievement with the caller's progress toward its target and when it unlocked."""
    return await achievements.my_achievements(session, user.id)


@router.post("/check", response_model=CheckResult)
async def check_achievements(user: CurrentUser, session: DbSession, now: Now) -> CheckResult:
    """Unlock every achievement whose target the caller reached (each once, rewards once)."""
    return await achievements.check_all(session, user.id, now)
