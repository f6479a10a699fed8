"""Event handlers: lessons, reviews and conversation turns become XP, gems and streak days.

They run inside the publisher's transaction (see linguo.core.events). Importing this module
subscribes them; linguo.gamification.router imports it, so the app registers them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.conversation.service import ConversationTurnCompleted
from linguo.core.events import events
from linguo.gamification import repository, service
from linguo.lessons.service import LessonCompleted
from linguo.models.gamification import GemSource, XpSource
from linguo.models.srs import ReviewSource
from linguo.srs.service import CardReviewed


@events.subscribe(LessonCompleted)
async def on_lesson_completed(session: AsyncSession, event: LessonCompleted) -> None:
    """A lesson's XP (once per attempt); passing earns gems and counts the day."""
    await service.award_xp(
        session,
        event.user_id,
        source=XpSource.LESSON,
        reference=str(event.attempt_id),
        amount=event.xp_earned,
        at=event.finished_at,
    )
    if not event.passed:
        return
    profile = await repository.lock_profile(session, event.user_id)
    gems = service.GEMS_LESSON_PASSED + (service.GEMS_PERFECT_BONUS if event.perfect else 0)
    await service.earn_gems(
        session,
        profile,
        amount=gems,
        source=GemSource.LESSON,
        reference=str(event.attempt_id),
        at=event.finished_at,
    )
    await service.record_activity(session, event.user_id, event.finished_at)


@events.subscribe(CardReviewed)
async def on_card_reviewed(session: AsyncSession, event: CardReviewed) -> None:
    """A queue review earns XP_PER_REVIEW; the REVIEWS_FOR_STREAK-th of a day counts it.

    Each award adds one to the day's count in the transaction that records the day, so the
    day is counted exactly when the count reaches REVIEWS_FOR_STREAK.
    """
    if event.source is not ReviewSource.QUEUE:
        return  # lesson and conversation practice are counted by their own events
    award = await service.award_xp(
        session,
        event.user_id,
        source=XpSource.REVIEW,
        reference=f"{event.card_id}:{event.reviewed_at.isoformat()}",
        amount=service.XP_PER_REVIEW,
        at=event.reviewed_at,
    )
    if award.amount and award.day_awards_of_source == service.REVIEWS_FOR_STREAK:
        await service.record_activity(session, event.user_id, event.reviewed_at)


@events.subscribe(ConversationTurnCompleted)
async def on_conversation_turn(session: AsyncSession, event: ConversationTurnCompleted) -> None:
    """A turn's XP (once per session and turn); every turn counts the day."""
    await service.award_xp(
        session,
        event.user_id,
        source=XpSource.CONVERSATION,
        reference=f"{event.session_id}:{event.turn_number}",
        amount=event.xp_awarded,
        at=event.at,
    )
    await service.record_activity(session, event.user_id, event.at)
