"""Event handlers: a learner's lesson, review or conversation turn invalidates their analytics.

They run inside the publisher's transaction (see linguo.core.events), so the bump of the
learner's cache generation commits with the change it reports. Importing this module
subscribes them; linguo.analytics.router imports it, so the app registers them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.analytics.cache import invalidate_learner
from linguo.conversation.service import ConversationTurnCompleted
from linguo.core.events import events
from linguo.lessons.service import LessonCompleted
from linguo.models.srs import ReviewSource
from linguo.srs.service import CardReviewed


@events.subscribe(LessonCompleted)
async def on_lesson_completed(session: AsyncSession, event: LessonCompleted) -> None:
    """A finished lesson changes XP, sessions, minutes, answers and cards."""
    await invalidate_learner(session, event.user_id)


@events.subscribe(CardReviewed)
async def on_card_reviewed(session: AsyncSession, event: CardReviewed) -> None:
    """A queue review changes cards, reviews, XP and accuracy.

    Words practised in a lesson or a conversation invalidate once, with the lesson's or the
    turn's event in the same transaction.
    """
    if event.source is ReviewSource.QUEUE:
        await invalidate_learner(session, event.user_id)


@events.subscribe(ConversationTurnCompleted)
async def on_conversation_turn(session: AsyncSession, event: ConversationTurnCompleted) -> None:
    """A turn changes XP, conversations, minutes and the error memory."""
    await invalidate_learner(session, event.user_id)
