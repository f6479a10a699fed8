"""Achievements: seeded definitions, progress toward each, unlocking once with its rewards.

- Definitions are seeded from CATALOGUE (`linguo seed`, idempotent upsert by `code`). Each is
  measured by one metric, computed with SQL aggregates (all wanted metrics in one SELECT):
  - `lessons_passed`: finished lesson attempts that passed (replays count);
  - `conversations`: conversation sessions with at least one completed turn;
  - `longest_streak`: the learner's longest streak (days), so a broken streak keeps it;
  - `words_mastered`: SRS cards in FSRS state `review` with stability >=
    `lessons.service.MASTERED_STABILITY_DAYS` (21) days;
  - `total_xp`: the learner's total XP (the XP ledger's sum);
  - `accurate_lessons`: the largest k <= 100 such that the learner's latest k finished
    lesson attempts (newest first) average a score >= 95%. The accuracy achievement
    (target 100) unlocks when the latest 100 finished attempts average 95% or more;
  - `queue_reviews`: reviews made from the review queue (lesson and conversation practice
    are not counted).
- Achievements are checked when the relevant event happens (a lesson finished, a card
  reviewed, a conversation turn), after the XP, gems and streak of that event are recorded,
  and by `POST /achievements/check`. Checking locks the learner's gamification profile, so
  concurrent checks are serialised. An achievement unlocks once (UNIQUE (user, achievement),
  insert on conflict do nothing) and grants its XP and gems once, through the ledgers with
  source `achievement` and reference = its code. XP granted by an achievement can unlock an
  XP achievement in turn (checked again until nothing new unlocks).
- `/achievements/my` shows each definition with the learner's progress (capped at the target;
  the target once unlocked) and `unlocked_at`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.analytics.cache import invalidate_learner
from linguo.conversation.service import ConversationTurnCompleted
from linguo.core.events import events
from linguo.gamification import achievements_repository, repository, service

# Imported for its side effect before the handlers below subscribe: XP, gems and the streak
# of an event are recorded first, so the achievements checked after it can count them.
from linguo.gamification import handlers as _xp_handlers  # noqa: F401
from linguo.lessons.service import MASTERED_STABILITY_DAYS, LessonCompleted
from linguo.models.achievements import Achievement, AchievementCategory, AchievementMetric
from linguo.models.gamification import GemSource, XpSource
from linguo.models.social import ActivityKind
from linguo.models.srs import ReviewSource
from linguo.social import service as social_service
from linguo.srs.service import CardReviewed

M = AchievementMetric
C = AchievementCategory


def _definition(
    code: str,
    category: AchievementCategory,
    metric: AchievementMetric,
    target: int,
    title: str,
    description: str,
    *,
    xp: int,
    gems: int,
    icon: str,
) -> dict[str, Any]:
    return {
        "code": code,
        "category": category,
        "metric": metric,
        "target": target,
        "title": title,
        "description": description,
        "xp_reward": xp,
        "gems_reward": gems,
        "icon": icon,
    }


CATALOGUE: tuple[dict[str, Any], ...] = tuple(
    {**row, "position": position}
    for position, row in enumerate(
        (
            _definition(
                "first_lesson",
                C.SESSION,
                M.LESSONS_PASSED,
                1,
                "First steps",
                "Pass your first lesson.",
                xp=10,
                gems=5,
                icon="footprints",
            ),
            _definition(
                "lessons_10",
                C.SESSION,
                M.LESSONS_PASSED,
                10,
                "Getting into it",
                "Pass 10 lessons.",
                xp=25,
                gems=10,
                icon="book",
            ),
            _definition(
                "lessons_50",
                C.SESSION,
                M.LESSONS_PASSED,
                50,
                "Dedicated learner",
                "Pass 50 lessons.",
                xp=50,
                gems=25,
                icon="books",
            ),
            _definition(
                "first_conversation",
                C.SESSION,
                M.CONVERSATIONS,
                1,
                "Ice breaker",
                "Complete a turn of your first conversation with the tutor.",
                xp=10,
                gems=5,
                icon="speech",
            ),
            _definition(
                "conversations_10",
                C.SESSION,
                M.CONVERSATIONS,
                10,
                "Chatterbox",
                "Talk with the tutor in 10 conversations.",
                xp=25,
                gems=10,
                icon="speech-2",
            ),
            _definition(
                "streak_3",
                C.STREAK,
                M.LONGEST_STREAK,
                3,
                "Warming up",
                "Keep a 3-day streak.",
                xp=10,
                gems=5,
                icon="flame",
            ),
            _definition(
                "streak_7",
                C.STREAK,
                M.LONGEST_STREAK,
                7,
                "Week warrior",
                "Keep a 7-day streak.",
                xp=25,
                gems=15,
                icon="flame-2",
            ),
            _definition(
                "streak_30",
                C.STREAK,
                M.LONGEST_STREAK,
                30,
                "Unstoppable",
                "Keep a 30-day streak.",
                xp=100,
                gems=50,
                icon="flame-3",
            ),
            _definition(
                "words_50",
                C.VOCABULARY,
                M.WORDS_MASTERED,
                50,
                "Word collector",
                "Master 50 words (in review with a memory stability of 21 days or more).",
                xp=25,
                gems=10,
                icon="cards",
            ),
            _definition(
                "words_200",
                C.VOCABULARY,
                M.WORDS_MASTERED,
                200,
                "Lexicon builder",
                "Master 200 words.",
                xp=50,
                gems=25,
                icon="cards-2",
            ),
            _definition(
                "words_500",
                C.VOCABULARY,
                M.WORDS_MASTERED,
                500,
                "Walking dictionary",
                "Master 500 words.",
                xp=100,
                gems=50,
                icon="cards-3",
            ),
            _definition(
                "xp_500",
                C.XP,
                M.TOTAL_XP,
                500,
                "Rising star",
                "Earn 500 XP.",
                xp=0,
                gems=10,
                icon="star",
            ),
            _definition(
                "xp_2000",
                C.XP,
                M.TOTAL_XP,
                2000,
                "Shining star",
                "Earn 2,000 XP.",
                xp=0,
                gems=25,
                icon="star-2",
            ),
            _definition(
                "xp_5000",
                C.XP,
                M.TOTAL_XP,
                5000,
                "Superstar",
                "Earn 5,000 XP.",
                xp=0,
                gems=50,
                icon="star-3",
            ),
            _definition(
                "sharpshooter",
                C.ACCURACY,
                M.ACCURATE_LESSONS,
                100,
                "Sharpshooter",
                "Average a score of 95% or more over your latest 100 finished lessons.",
                xp=100,
                gems=50,
                icon="target",
            ),
            _definition(
                "reviews_100",
                C.REVIEWS,
                M.QUEUE_REVIEWS,
                100,
                "Reviewer",
                "Make 100 reviews from your review queue.",
                xp=10,
                gems=5,
                icon="repeat",
            ),
            _definition(
                "reviews_1000",
                C.REVIEWS,
                M.QUEUE_REVIEWS,
                1000,
                "Memory master",
                "Make 1,000 reviews from your review queue.",
                xp=50,
                gems=25,
                icon="repeat-2",
            ),
        )
    )
)

ALL_METRICS = frozenset(AchievementMetric)
LESSON_METRICS = frozenset(
    {M.LESSONS_PASSED, M.ACCURATE_LESSONS, M.TOTAL_XP, M.LONGEST_STREAK, M.WORDS_MASTERED}
)
REVIEW_METRICS = frozenset({M.QUEUE_REVIEWS, M.WORDS_MASTERED, M.TOTAL_XP, M.LONGEST_STREAK})
CONVERSATION_METRICS = frozenset({M.CONVERSATIONS, M.TOTAL_XP, M.LONGEST_STREAK, M.WORDS_MASTERED})
CHECK_TRIGGER = "check"


# --------------------------------------------------------------------------- schemas


class AchievementRead(BaseModel):
    """An achievement definition."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    category: AchievementCategory
    title: str
    description: str
    target: int
    xp_reward: int
    gems_reward: int
    icon: str


class MyAchievementRead(AchievementRead):
    """A definition with the learner's progress toward it."""

    progress: int = Field(description="Progress toward `target`, capped at it")
    unlocked: bool
    unlocked_at: datetime | None


class CheckResult(BaseModel):
    """What a check unlocked now, and how many the learner holds in all."""

    newly_unlocked: list[AchievementRead]
    total_unlocked: int


# --------------------------------------------------------------------------- service


async def seed_achievements(session: AsyncSession) -> list[str]:
    """Create or update the achievement definitions from CATALOGUE (idempotent)."""
    before = {row.code for row in await achievements_repository.definitions(session)}
    await achievements_repository.upsert_definitions(session, [dict(row) for row in CATALOGUE])
    return [f"achievement {row['code']}" for row in CATALOGUE if row["code"] not in before]


async def check(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    metrics: Collection[AchievementMetric] = ALL_METRICS,
    trigger: str,
    at: datetime,
) -> list[Achievement]:
    """Unlock every achievement of `metrics` whose target the learner reached; grant rewards.

    Each unlocks and rewards once; returns the achievements unlocked by this call.
    """
    profile = await repository.lock_profile(session, user_id)  # serialises the learner
    unlocked: list[Achievement] = []
    wanted = set(metrics)
    while wanted:
        reached = await achievements_repository.reached_definitions(
            session, user_id, wanted, mastered_stability_days=MASTERED_STABILITY_DAYS
        )
        xp_granted = 0
        for achievement in reached:
            if not await achievements_repository.insert_unlock(
                session, user_id=user_id, achievement_id=achievement.id, trigger=trigger, at=at
            ):
                continue
            unlocked.append(achievement)
            award = await service.award_xp(
                session,
                user_id,
                source=XpSource.ACHIEVEMENT,
                reference=achievement.code,
                amount=achievement.xp_reward,
                at=at,
            )
            xp_granted += award.amount
            await service.earn_gems(
                session,
                profile,
                amount=achievement.gems_reward,
                source=GemSource.ACHIEVEMENT,
                reference=achievement.code,
                at=at,
            )
            await social_service.record_activity(
                session,
                user_id,
                ActivityKind.ACHIEVEMENT_UNLOCKED,
                reference=achievement.code,
                data={
                    "code": achievement.code,
                    "title": achievement.title,
                    "category": achievement.category.value,
                },
                now=at,
            )
        # XP granted now may reach an XP achievement: look at those again.
        wanted = {M.TOTAL_XP} if xp_granted else set()
    if unlocked:
        await invalidate_learner(session, user_id)  # rewards changed their XP and level
    await session.flush()
    return unlocked


async def check_all(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> CheckResult:
    """`POST /achievements/check`: every metric."""
    unlocked = await check(session, user_id, trigger=CHECK_TRIGGER, at=now)
    return CheckResult(
        newly_unlocked=[AchievementRead.model_validate(row) for row in unlocked],
        total_unlocked=await achievements_repository.count_unlocked(session, user_id),
    )


async def list_definitions(session: AsyncSession) -> list[AchievementRead]:
    """Every definition, in display order."""
    rows = await achievements_repository.definitions(session)
    return [AchievementRead.model_validate(row) for row in rows]


async def my_achievements(session: AsyncSession, user_id: uuid.UUID) -> list[MyAchievementRead]:
    """Every definition with the learner's progress and unlock time."""
    rows = await achievements_repository.definitions(session)
    unlocks = await achievements_repository.unlocks(session, user_id)
    figures = await achievements_repository.progress(
        session,
        user_id,
        {row.metric for row in rows},
        mastered_stability_days=MASTERED_STABILITY_DAYS,
    )
    return [
        MyAchievementRead(
            **AchievementRead.model_validate(row).model_dump(),
            progress=row.target if row.id in unlocks else min(figures[row.metric], row.target),
            unlocked=row.id in unlocks,
            unlocked_at=unlocks.get(row.id),
        )
        for row in rows
    ]


# --------------------------------------------------------------------------- event handlers


@events.subscribe(LessonCompleted)
async def on_lesson_completed(session: AsyncSession, event: LessonCompleted) -> None:
    """Lessons, accuracy, XP, streak and vocabulary achievements, tagged with the attempt."""
    unlocked = await check(
        session,
        event.user_id,
        metrics=LESSON_METRICS,
        trigger=achievements_repository.lesson_trigger(event.attempt_id),
        at=event.finished_at,
    )
    # The finish's result lists them without reading them back.
    achievements_repository.remember_lesson_unlocks(
        session, event.user_id, event.attempt_id, unlocked
    )


@events.subscribe(CardReviewed)
async def on_card_reviewed(session: AsyncSession, event: CardReviewed) -> None:
    """Review, vocabulary, XP and streak achievements, for a review from the queue.

    Words practised in a lesson or a conversation are checked once by the lesson's or the
    turn's own event (their metrics include the vocabulary), not once per word.
    """
    if event.source is not ReviewSource.QUEUE:
        return
    await check(
        session,
        event.user_id,
        metrics=REVIEW_METRICS,
        trigger=f"review:{event.card_id}",
        at=event.reviewed_at,
    )


@events.subscribe(ConversationTurnCompleted)
async def on_conversation_turn(session: AsyncSession, event: ConversationTurnCompleted) -> None:
    """Conversation, XP and streak achievements."""
    await check(
        session,
        event.user_id,
        metrics=CONVERSATION_METRICS,
        trigger=f"conversation:{event.session_id}:{event.turn_number}",
        at=event.at,
    )
