"""Queries of achievements: definitions, unlocks, and progress figures as SQL aggregates."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Float, Select, Uuid, and_, bindparam, case, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from linguo.core.db import remember, remembered
from linguo.models.achievements import Achievement, AchievementMetric, UserAchievement
from linguo.models.conversation import ConversationSession
from linguo.models.identity import User
from linguo.models.lessons import LessonAttempt
from linguo.models.srs import CardState, ReviewLog, ReviewSource, SrsCard

# Accuracy: the latest ACCURACY_WINDOW finished lesson attempts must average this score.
ACCURACY_WINDOW = 100
ACCURACY_MIN_AVERAGE = 0.95
_EPSILON = 1e-9  # scores are stored rounded to 4 decimals; averages are floating point

# The checks run on every review, answer-finish and turn. Their statements are built once per
# set of metrics, with the learner as a bound parameter: building SQLAlchemy expressions costs
# more CPU than PostgreSQL spends running them.
_USER = bindparam("user_id", type_=Uuid())
_MASTERED = bindparam("mastered", type_=Float())


def lesson_trigger(attempt_id: uuid.UUID) -> str:
    """The `trigger` of unlocks caused by finishing a lesson attempt."""
    return f"lesson_attempt:{attempt_id}"


async def definitions(session: AsyncSession) -> list[Achievement]:
    """Every achievement definition, in display order."""
    stmt = select(Achievement).order_by(Achievement.position, Achievement.id)
    return list((await session.execute(stmt)).scalars())


async def upsert_definitions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or update definitions by code."""
    stmt = insert(Achievement).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={name: stmt.excluded[name] for name in rows[0] if name != "code"},
    )
    await session.execute(stmt)


@lru_cache(maxsize=64)
def _reached(metrics: tuple[AchievementMetric, ...]) -> Select[Achievement]:
    # The learner's locked definitions are found first (a materialised CTE), so a metric is
    # computed only while some definition measured by it is still locked: once a learner has
    # every review achievement, a review no longer counts their review logs. PostgreSQL runs
    # each uncorrelated metric subquery at most once, and only when a CASE branch needs it.
    unlocked = select(UserAchievement.id).where(
        UserAchievement.user_id == _USER, UserAchievement.achievement_id == Achievement.id
    )
    locked = (
        select(Achievement)
        .where(Achievement.metric.in_(metrics), ~unlocked.exists())
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    definition = aliased(Achievement, locked)
    figure = case(
        *((definition.metric == metric, _metric(metric)) for metric in metrics), else_=None
    )
    return (
        select(definition)
        .where(definition.target <= figure)
        .order_by(definition.position, definition.id)
    )


async def reached_definitions(
    session: AsyncSession,
    user_id: uuid.UUID,
    metrics: Collection[AchievementMetric],
    *,
    mastered_stability_days: float,
) -> list[Achievement]:
    """Definitions measured by `metrics` that the learner has reached but not unlocked yet,
    in display order: one statement, which computes only the metrics still needed."""
    wanted = tuple(sorted(set(metrics)))
    if not wanted:
        return []
    params = {"user_id": user_id, "mastered": mastered_stability_days}
    return list((await session.execute(_reached(wanted), params)).scalars())


async def unlocks(session: AsyncSession, user_id: uuid.UUID) -> dict[int, datetime]:
    """The learner's unlocked achievements: achievement id -> unlocked_at."""
    stmt = select(UserAchievement.achievement_id, UserAchievement.unlocked_at).where(
        UserAchievement.user_id == user_id
    )
    return {row.achievement_id: row.unlocked_at for row in await session.execute(stmt)}


async def count_unlocked(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many achievements the learner has unlocked."""
    stmt = select(func.count()).where(UserAchievement.user_id == user_id)
    return int((await session.execute(stmt)).scalar_one())


async def insert_unlock(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    achievement_id: int,
    trigger: str,
    at: datetime,
) -> bool:
    """Record an unlock once; False when the learner had it already."""
    stmt = (
        insert(UserAchievement)
        .values(user_id=user_id, achievement_id=achievement_id, trigger=trigger, unlocked_at=at)
        .on_conflict_do_nothing(index_elements=["user_id", "achievement_id"])
        .returning(UserAchievement.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


_LESSON_UNLOCKS = "achievements.lesson_unlocks"


def remember_lesson_unlocks(
    session: AsyncSession, user_id: uuid.UUID, attempt_id: uuid.UUID, unlocked: list[Achievement]
) -> None:
    """Keep what finishing the attempt unlocked, for `lesson_unlocks_now` in this
    transaction."""
    key = (user_id, attempt_id)
    known: list[Achievement] = remembered(session, _LESSON_UNLOCKS, key, [])
    remember(session, _LESSON_UNLOCKS, key, [*known, *unlocked])


def lesson_unlocks_now(
    session: AsyncSession, user_id: uuid.UUID, attempt_id: uuid.UUID
) -> list[str] | None:
    """Codes that finishing the attempt unlocked in the current (sub)transaction, in display
    order (as `codes_unlocked_by` its trigger); None when its check did not run here. An
    attempt is finished once, so a check that ran here made all of its unlocks."""
    known: list[Achievement] | None = remembered(session, _LESSON_UNLOCKS, (user_id, attempt_id))
    if known is None:
        return None
    return [achievement.code for achievement in sorted(known, key=lambda a: (a.position, a.id))]


async def codes_unlocked_by(session: AsyncSession, user_id: uuid.UUID, trigger: str) -> list[str]:
    """Codes of the achievements `trigger` unlocked for the learner, in display order."""
    stmt = (
        select(Achievement.code)
        .join(UserAchievement, UserAchievement.achievement_id == Achievement.id)
        .where(UserAchievement.user_id == user_id, UserAchievement.trigger == trigger)
        .order_by(Achievement.position, Achievement.id)
    )
    return list((await session.execute(stmt)).scalars())


def _accurate_lessons() -> Any:
    """Longest k <= ACCURACY_WINDOW such that the latest k finished attempts average >= 95%."""
    order = (LessonAttempt.finished_at.desc(), LessonAttempt.id.desc())
    recent = (
        select(
            func.row_number().over(order_by=order).label("k"),
            func.avg(LessonAttempt.score).over(order_by=order, rows=(None, 0)).label("running"),
        )
        .where(LessonAttempt.user_id == _USER, LessonAttempt.finished_at.is_not(None))
        .order_by(*order)
        .limit(ACCURACY_WINDOW)
        .subquery()
    )
    return select(
        func.coalesce(
            func.max(recent.c.k).filter(recent.c.running >= ACCURACY_MIN_AVERAGE - _EPSILON),
            0,
        )
    ).scalar_subquery()


def _metric(metric: AchievementMetric) -> Any:
    """A scalar subquery computing one metric of the learner (an aggregate, no row loop)."""
    count = func.count()
    match metric:
        case AchievementMetric.LESSONS_PASSED:
            stmt = select(count).where(
                LessonAttempt.user_id == _USER, LessonAttempt.passed.is_(True)
            )
        case AchievementMetric.CONVERSATIONS:
            stmt = select(count).where(
                ConversationSession.user_id == _USER, ConversationSession.turn_count >= 1
            )
        case AchievementMetric.LONGEST_STREAK:
            stmt = select(User.longest_streak).where(User.id == _USER)
        case AchievementMetric.WORDS_MASTERED:
            stmt = select(count).where(
                and_(
                    SrsCard.user_id == _USER,
                    SrsCard.state == CardState.REVIEW,
                    SrsCard.stability >= _MASTERED,
                )
            )
        case AchievementMetric.TOTAL_XP:
            stmt = select(User.total_xp).where(User.id == _USER)
        case AchievementMetric.ACCURATE_LESSONS:
            return _accurate_lessons()
        case AchievementMetric.QUEUE_REVIEWS:
            stmt = select(count).where(
                ReviewLog.user_id == _USER, ReviewLog.source == ReviewSource.QUEUE
            )
    return func.coalesce(stmt.scalar_subquery(), 0)


async def progress(
    session: AsyncSession,
    user_id: uuid.UUID,
    metrics: Collection[AchievementMetric],
    *,
    mastered_stability_days: float,
) -> dict[AchievementMetric, int]:
    """The learner's figure for each metric, all in one SELECT of scalar aggregates."""
    wanted = tuple(sorted(set(metrics)))
    if not wanted:
        return {}
    params = {"user_id": user_id, "mastered": mastered_stability_days}
    row = (await session.execute(_progress(wanted), params)).one()
    return {metric: int(row[index + 1]) for index, metric in enumerate(wanted)}


@lru_cache(maxsize=64)
def _progress(metrics: tuple[AchievementMetric, ...]) -> Select[Any]:
    return select(literal(1), *(_metric(metric).label(metric.value) for metric in metrics))
