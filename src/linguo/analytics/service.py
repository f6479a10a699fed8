"""Learning analytics: the learner's figures, computed with SQL aggregates and cached.

Definitions (documented in the README):

- Days are the learner's local days in their current time zone; every event is bucketed by
  its instant in that zone (XP included).
- Sessions: finished lesson attempts plus conversations with at least one turn.
- Minutes studied: lesson attempts from start to finish (at most 60 minutes each),
  conversations from their start to their last turn (at most 180), queue reviews their
  response time (at most 1 minute). Rounded to whole minutes, half up.
- Accuracy: right answers over answers, counting each first answer to a lesson exercise (a
  typo is right) and each queue review (again is wrong, hard/good/easy right); null
  without answers.
- Reviews: queue reviews; practice in lessons and conversations is counted with those.
- Words: the learner's cards (vocabulary words and own flashcards) by FSRS state; mastered
  means in `review` with a stability of `MASTERED_STABILITY_DAYS` (21) days or more, as
  for the achievements. Reviews due today: scheduled cards due before the local day ends;
  in the next 7 days: before the end of the 7th local day, today included.
- Every answer is cached for 15 minutes under the learner's cache generation, their time
  zone and local date: finishing a lesson, reviewing a card, a conversation turn and a shop
  purchase bump the generation, so the next read is fresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.analytics import repository
from linguo.analytics.cache import learner_cached
from linguo.analytics.schemas import (
    AnalyticsSummary,
    ConversationErrorStats,
    DailyStatistics,
    DayStatus,
    ErrorAnalytics,
    ErrorCategoryStat,
    ErrorStat,
    LanguageWordCounts,
    MinutesStudied,
    SessionCounts,
    StatisticsRead,
    StatisticsTotals,
    StreakAnalytics,
    StreakCalendarEntry,
    VocabularyAnalytics,
    WordCounts,
)
from linguo.core.cache import Cache
from linguo.gamification.levels import level_for_xp, xp_for_level
from linguo.gamification.service import learner_zone, settle_streak, streak_status
from linguo.lessons.service import MASTERED_STABILITY_DAYS
from linguo.models.gamification import StreakDayKind
from linguo.models.identity import User

M = TypeVar("M", bound=BaseModel)

STATISTICS_DAYS = (7, 180)
STREAK_WINDOW_DAYS = (7, 365)
ERRORS_LIMIT = 25


def minutes(ms: int) -> int:
    """Milliseconds as whole minutes, rounded half up."""
    return (ms + 30_000) // 60_000


def ratio(part: int, whole: int) -> float | None:
    """part / whole to 4 places, None when whole is 0."""
    return round(part / whole, 4) if whole else None


def day_starts(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which a local day begins in `zone`."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


async def _cached_model(
    session: AsyncSession,
    cache: Cache,
    user: User,
    now: datetime,
    figure: str,
    model: type[M],
    build: Callable[[ZoneInfo, date], Awaitable[M]],
) -> M:
    """The learner's figure from the cache, or built and cached (as JSON) on a miss."""
    zone = learner_zone(user)
    today = now.astimezone(zone).date()

    async def load() -> dict[str, Any]:
        return (await build(zone, today)).model_dump(mode="json")

    key = f"{figure}:{zone.key}:{today.isoformat()}"
    return model.model_validate(await learner_cached(session, cache, user.id, key, load))


# --------------------------------------------------------------------------- summary


async def summary(
    session: AsyncSession, cache: Cache, user: User, now: datetime
) -> AnalyticsSummary:
    """XP, level, streaks, sessions, minutes, accuracy, words by state and reviews due."""

    async def build(zone: ZoneInfo, today: date) -> AnalyticsSummary:
        await settle_streak(session, user, now)
        totals = await repository.activity_totals(session, user.id)
        cards = await repository.card_counts(
            session,
            user.id,
            mastered_stability_days=MASTERED_STABILITY_DAYS,
            today_ends=day_starts(today + timedelta(days=1), zone),
            week_ends=day_starts(today + timedelta(days=7), zone),
        )
        level = level_for_xp(user.total_xp)
        level_xp, next_level_xp = xp_for_level(level), xp_for_level(level + 1)
        spent = MinutesStudied(
            total=0,
            lessons=minutes(totals["lesson_ms"]),
            conversations=minutes(totals["conversation_ms"]),
            reviews=minutes(totals["review_ms"]),
        )
        spent.total = spent.lessons + spent.conversations + spent.reviews
        return AnalyticsSummary(
            today=today,
            timezone=zone.key,
            xp=user.total_xp,
            level=level,
            level_xp=level_xp,
            next_level_xp=next_level_xp,
            level_progress=round((user.total_xp - level_xp) / (next_level_xp - level_xp), 4),
            current_streak=user.current_streak,
            longest_streak=user.longest_streak,
            sessions=SessionCounts(
                total=totals["lessons"] + totals["conversations"],
                lessons=totals["lessons"],
                conversations=totals["conversations"],
            ),
            minutes=spent,
            reviews=totals["reviews"],
            accuracy=ratio(totals["correct_answers"], totals["answers"]),
            words=WordCounts(
                new=cards.new,
                learning=cards.learning,
                review=cards.review,
                relearning=cards.relearning,
                mastered=cards.mastered,
                total=cards.total,
            ),
            reviews_due_today=cards.due_today,
            reviews_due_next_7_days=cards.due_next_7_days,
        )

    return await _cached_model(session, cache, user, now, "summary", AnalyticsSummary, build)


# --------------------------------------------------------------------------- statistics


def _figures(facts: Mapping[str, int]) -> dict[str, Any]:
    """A day's (or a window's) figures from its summed activity facts."""
    return {
        "xp": facts["xp"],
        "lessons": facts["lessons"],
        "conversations": facts["conversations"],
        "conversation_turns": facts["turns"],
        "reviews": facts["reviews"],
        "answers": facts["answers"],
        "correct_answers": facts["correct_answers"],
        "accuracy": ratio(facts["correct_answers"], facts["answers"]),
        "minutes": minutes(facts["lesson_ms"] + facts["conversation_ms"] + facts["review_ms"]),
    }


async def statistics(
    session: AsyncSession, cache: Cache, user: User, now: datetime, *, days: int
) -> StatisticsRead:
    """One entry per local day of the last `days` days (today last), and their totals."""

    async def build(zone: ZoneInfo, today: date) -> StatisticsRead:
        first_day = today - timedelta(days=days - 1)
        rows = await repository.daily_activity(
            session,
            user.id,
            zone=zone.key,
            first_day=first_day,
            days=days,
            since=day_starts(first_day, zone),
            until=day_starts(today + timedelta(days=1), zone),
        )
        series = [DailyStatistics(date=day, **_figures(facts)) for day, facts in rows]
        # Summing the returned window (at most 180 entries), not the learner's rows.
        summed = {name: sum(facts[name] for _, facts in rows) for name in repository.FACT_NAMES}
        totals = StatisticsTotals(
            **_figures(summed), active_days=sum(1 for _, facts in rows if any(facts.values()))
        )
        return StatisticsRead(
            days=days, timezone=zone.key, start=first_day, end=today, totals=totals, series=series
        )

    return await _cached_model(
        session, cache, user, now, f"statistics:{days}", StatisticsRead, build
    )


# --------------------------------------------------------------------------- streak


async def streak(
    session: AsyncSession, cache: Cache, user: User, now: datetime, *, window_days: int
) -> StreakAnalytics:
    """Streaks (settled first, so they agree with the calendar) and each day of the window."""

    async def build(zone: ZoneInfo, today: date) -> StreakAnalytics:
        found = await streak_status(session, user, now, days=window_days)
        kinds = dict(found.calendar)
        first_day = today - timedelta(days=window_days - 1)
        calendar = [
            StreakCalendarEntry(date=day, status=_status(kinds.get(day), is_today=day == today))
            for day in (first_day + timedelta(days=offset) for offset in range(window_days))
        ]
        counts = {status: 0 for status in DayStatus}
        for entry in calendar:
            counts[entry.status] += 1
        return StreakAnalytics(
            current=found.current,
            longest=found.longest,
            freezes_equipped=found.freezes_equipped,
            today=today,
            today_done=found.today_done,
            window_days=window_days,
            active_days=counts[DayStatus.ACTIVE],
            frozen_days=counts[DayStatus.FROZEN],
            missed_days=counts[DayStatus.MISSED],
            active_ratio=round(counts[DayStatus.ACTIVE] / window_days, 4),
            calendar=calendar,
        )

    return await _cached_model(
        session, cache, user, now, f"streak:{window_days}", StreakAnalytics, build
    )


def _status(kind: StreakDayKind | None, *, is_today: bool) -> DayStatus:
    if kind is StreakDayKind.ACTIVE:
        return DayStatus.ACTIVE
    if kind is StreakDayKind.FROZEN:
        return DayStatus.FROZEN
    return DayStatus.PENDING if is_today else DayStatus.MISSED


# --------------------------------------------------------------------------- vocabulary


async def vocabulary(
    session: AsyncSession, cache: Cache, user: User, now: datetime
) -> VocabularyAnalytics:
    """The learner's cards by FSRS state, in all and per language."""

    async def build(zone: ZoneInfo, today: date) -> VocabularyAnalytics:
        rows = await repository.card_counts_by_language(
            session, user.id, mastered_stability_days=MASTERED_STABILITY_DAYS
        )
        by_language = [LanguageWordCounts.model_validate(dict(row._mapping)) for row in rows]
        # One entry per language: the sum runs over a handful of rows.
        fields = ("new", "learning", "review", "relearning", "mastered", "total")
        summed = {name: sum(getattr(entry, name) for entry in by_language) for name in fields}
        return VocabularyAnalytics(**summed, by_language=by_language)

    return await _cached_model(session, cache, user, now, "vocabulary", VocabularyAnalytics, build)


# --------------------------------------------------------------------------- errors


async def errors(
    session: AsyncSession, cache: Cache, user: User, now: datetime, *, limit: int
) -> ErrorAnalytics:
    """The learner's `limit` most frequent errors, error categories and conversation totals."""

    async def build(zone: ZoneInfo, today: date) -> ErrorAnalytics:
        top = await repository.top_errors(session, user.id, limit)
        categories = await repository.error_categories(session, user.id)
        conversations = await repository.conversation_error_totals(session, user.id)
        total = sum(int(row.occurrences) for row in categories)
        return ErrorAnalytics(
            total_occurrences=total,
            distinct_errors=sum(int(row.errors) for row in categories),
            categories=[
                ErrorCategoryStat(
                    category=row.category,
                    occurrences=int(row.occurrences),
                    errors=int(row.errors),
                    last_seen_at=row.last_seen_at,
                    share=round(int(row.occurrences) / total, 4),
                )
                for row in categories
            ],
            top=[
                ErrorStat(
                    code=error.code,
                    category=error.category,
                    language=error.language,
                    occurrences=error.occurrences,
                    last_seen_at=error.last_seen_at,
                    example=error.example,
                    suggestion=error.suggestion,
                    explanation=error.explanation,
                )
                for error in top
            ],
            conversations=ConversationErrorStats(
                turns=int(conversations.turns),
                turns_with_errors=int(conversations.turns_with_errors),
                errors=int(conversations.errors),
                error_rate=ratio(int(conversations.turns_with_errors), int(conversations.turns)),
            ),
        )

    return await _cached_model(session, cache, user, now, f"errors:{limit}", ErrorAnalytics, build)


# --------------------------------------------------------------------------- snapshots


async def take_snapshots(session: AsyncSession, day: date, *, now: datetime) -> int:
    """Write (or rewrite) the snapshot of UTC day `day` of every learner active that day."""
    starts = datetime.combine(day, time(0), tzinfo=UTC)
    return await repository.write_snapshots(
        session,
        day=day,
        day_starts=starts,
        day_ends=starts + timedelta(days=1),
        mastered_stability_days=MASTERED_STABILITY_DAYS,
        now=now,
    )


async def delete_old_snapshots(session: AsyncSession, *, retention_days: int, now: datetime) -> int:
    """Delete snapshots of days more than `retention_days` days before today (UTC)."""
    cutoff = now.astimezone(UTC).date() - timedelta(days=retention_days)
    return await repository.delete_snapshots_before(session, cutoff)
