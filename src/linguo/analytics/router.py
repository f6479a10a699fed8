"""HTTP routes of analytics: /analytics/summary, statistics, streak, vocabulary and errors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from linguo.analytics import (
    handlers,  # noqa: F401 - subscribes the cache-invalidating event handlers
    service,
)
from linguo.analytics.schemas import (
    AnalyticsSummary,
    ErrorAnalytics,
    StatisticsRead,
    StreakAnalytics,
    VocabularyAnalytics,
)
from linguo.core.deps import AppCache, CurrentUser, DbSession, Now
from linguo.core.errors import error_responses

router = APIRouter(prefix="/analytics", tags=["analytics"], responses=error_responses(401))

MIN_DAYS, MAX_DAYS = service.STATISTICS_DAYS
MIN_WINDOW, MAX_WINDOW = service.STREAK_WINDOW_DAYS


@router.get("/summary", response_model=AnalyticsSummary)
async def get_summary(
    user: CurrentUser, session: DbSession, cache: AppCache, now: Now
) -> AnalyticsSummary:
    """XP and level, streaks, study sessions and minutes, accuracy, words by FSRS state, and
    reviews due today and in the next 7 days. Cached until the learner's data changes."""
    return await service.summary(session, cache, user, now)


@router.get("/statistics", response_model=StatisticsRead, responses=error_responses(422))
async def get_statistics(
    user: CurrentUser,
    session: DbSession,
    cache: AppCache,
    now: Now,
    days: Annotated[
        int, Query(ge=MIN_DAYS, le=MAX_DAYS, description="Local days in the series, today last")
    ] = 30,
) -> StatisticsRead:
    """A daily series over the learner's last `days` local days (one entry per day, even
    empty): XP, lessons, conversations, reviews, accuracy and minutes, with totals."""
    return await service.statistics(session, cache, user, now, days=days)


@router.get("/streak", response_model=StreakAnalytics, responses=error_responses(422))
async def get_streak(
    user: CurrentUser,
    session: DbSession,
    cache: AppCache,
    now: Now,
    window_days: Annotated[
        int, Query(ge=MIN_WINDOW, le=MAX_WINDOW, description="Calendar days to show, today last")
    ] = 30,
) -> StreakAnalytics:
    """Current and longest streak, freezes, and each day of the window: active, frozen,
    missed, or pending (today, not done yet), with the counts of each."""
    return await service.streak(session, cache, user, now, window_days=window_days)


@router.get("/vocabulary", response_model=VocabularyAnalytics)
async def get_vocabulary(
    user: CurrentUser, session: DbSession, cache: AppCache, now: Now
) -> VocabularyAnalytics:
    """The learner's cards (words and flashcards) by FSRS state and mastered, in all and per
    language."""
    return await service.vocabulary(session, cache, user, now)


@router.get("/errors", response_model=ErrorAnalytics, responses=error_responses(422))
async def get_errors(
    user: CurrentUser,
    session: DbSession,
    cache: AppCache,
    now: Now,
    limit: Annotated[
        int, Query(ge=1, le=service.ERRORS_LIMIT, description="How many errors to list")
    ] = 10,
) -> ErrorAnalytics:
    """The learner's most frequent errors (with last seen and an example), error categories,
    and how many conversation turns had errors."""
    return await service.errors(session, cache, user, now, limit=limit)
