"""Spaced repetition: reviews, the daily queue, learner settings and personal parameters.

Every review, whether from the queue, a lesson or a conversation, goes through
`review_word` / `review_card`, which lock the card, ask py-fsrs for the new state and
append a review log in the caller's transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.core.errors import NotFound
from linguo.core.events import events
from linguo.models.identity import User
from linguo.models.srs import CardOrigin, CardState, ReviewSource, SrsCard, SrsProfile
from linguo.models.vocabulary import PartOfSpeech
from linguo.srs import optimizer, repository, scheduling
from linguo.srs.scheduling import DEFAULT_PARAMETERS, SchedulerConfig
from linguo.vocabulary import repository as vocabulary_repository

MAX_QUEUE_SIZE = 50

logger = structlog.get_logger("linguo.srs")


class PracticeOutcome(StrEnum):
    """How a learner did with a word outside the queue (lesson answer, conversation)."""

    WRONG = "wrong"
    CORRECT_WITH_HELP = "correct_with_help"  # a typo, a hint, or a corrected use
    CORRECT = "correct"


# A wrong answer is a lapse (Again); help or a typo means recall was hard (Hard); a clean
# answer is an ordinary success (Good). Easy is reserved for the learner's own judgement.
PRACTICE_RATINGS = {
    PracticeOutcome.WRONG: 0,
    PracticeOutcome.CORRECT_WITH_HELP: 1,
    PracticeOutcome.CORRECT: 2,
}


@dataclass(frozen=True, slots=True)
class CardReviewed:
    """Domain event: a learner reviewed a card (gamification counts these)."""

    user_id: uuid.UUID
    card_id: uuid.UUID
    word_id: int | None
    flashcard_id: uuid.UUID | None
    rating: int
    source: ReviewSource
    first_review: bool
    reviewed_at: datetime


@dataclass(frozen=True, slots=True)
class LearnerSettings:
    """A learner's effective spaced-repetition settings."""

    desired_retention: float
    new_cards_per_day: int
    reviews_per_day: int
    parameters: tuple[float, ...]
    personal: bool
    fitted_at: datetime | None
    fitted_on_reviews: int | None

    def scheduler_config(self, settings: Settings) -> SchedulerConfig:
        """The py-fsrs configuration these settings call for."""
        return SchedulerConfig(self.parameters, self.desired_retention, settings.srs_fuzzing)


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """A card after a review."""

    card: SrsCard
    scheduled_days: int
    first_review: bool


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A card (or a word without a card yet) to study now."""

    word_id: int | None
    flashcard_id: uuid.UUID | None
    word: str
    language: str
    translations: dict[str, list[str]]
    state: CardState
    next_review: datetime | None
    retrievability: float | None
    part_of_speech: PartOfSpeech | None = None  # of a vocabulary word

    @property
    def is_new(self) -> bool:
        """Never reviewed."""
        return self.state is CardState.NEW


@dataclass(frozen=True, slots=True)
class DailyBudget:
    """What the learner did today (their local day) and what is left of the daily caps."""

    day_started_at: datetime
    new_done: int
    reviews_done: int
    new_left: int
    reviews_left: int


def learner_settings(profile: SrsProfile | None, settings: Settings) -> LearnerSettings:
    """Stored settings, or the deployment's defaults for a learner who never changed them."""
    if profile is None:
        return LearnerSettings(
            desired_retention=settings.srs_desired_retention,
            new_cards_per_day=settings.srs_new_cards_per_day,
            reviews_per_day=settings.srs_reviews_per_day,
            parameters=DEFAULT_PARAMETERS,
            personal=False,
            fitted_at=None,
            fitted_on_reviews=None,
        )
    personal = profile.parameters is not None
    return LearnerSettings(
        desired_retention=profile.desired_retention,
        new_cards_per_day=profile.new_cards_per_day,
        reviews_per_day=profile.reviews_per_day,
        parameters=tuple(profile.parameters) if profile.parameters else DEFAULT_PARAMETERS,
        personal=personal,
        fitted_at=profile.parameters_fitted_at,
        fitted_on_reviews=profile.parameters_review_count if personal else None,
    )


async def get_learner_settings(
    session: AsyncSession, user_id: uuid.UUID, settings: Settings
) -> LearnerSettings:
    """The learner's effective settings."""
    return learner_settings(await repository.get_profile(session, user_id), settings)


async def _profile_for_update(
    session: AsyncSession, user_id: uuid.UUID, settings: Settings
) -> SrsProfile:
    defaults = learner_settings(None, settings)
    return await repository.lock_profile(
        session,
        user_id,
        desired_retention=defaults.desired_retention,
        new_cards_per_day=defaults.new_cards_per_day,
        reviews_per_day=defaults.reviews_per_day,
    )


async def update_learner_settings(
    session: AsyncSession,
    user_id: uuid.UUID,
    settings: Settings,
    *,
    desired_retention: float | None = None,
    new_cards_per_day: int | None = None,
    reviews_per_day: int | None = None,
) -> LearnerSettings:
    """Change the learner's settings; None leaves a value unchanged."""
    profile = await _profile_for_update(session, user_id, settings)
    if desired_retention is not None:
        profile.desired_retention = desired_retention
    if new_cards_per_day is not None:
        profile.new_cards_per_day = new_cards_per_day
    if reviews_per_day is not None:
        profile.reviews_per_day = reviews_per_day
    await session.flush()
    return learner_settings(profile, settings)


def local_day_start(now: datetime, timezone: str) -> datetime:
    """The UTC instant at which the learner's current local day began (DST-safe)."""
    zone = ZoneInfo(timezone)
    local_date = now.astimezone(zone).date()
    return datetime.combine(local_date, time(0), tzinfo=zone).astimezone(UTC)


async def review_word(
    session: AsyncSession,
    user: User,
    word_id: int,
    rating: int,
    settings: Settings,
    *,
    source: ReviewSource = ReviewSource.QUEUE,
    duration_ms: int | None = None,
    now: datetime,
) -> ReviewOutcome:
    """Review a vocabulary word (creating the learner's card on first sight); 404 if unknown."""
    card = (await _lock_word_cards(session, user.id, [word_id], source=source, now=now)).get(
        word_id
    )
    if card is None:
        raise NotFound("No such word.")
    return await review_card(
        session, user, card, rating, settings, source=source, duration_ms=duration_ms, now=now
    )


_ORIGINS = {
    ReviewSource.QUEUE: CardOrigin.REVIEW,
    ReviewSource.LESSON: CardOrigin.LESSON,
    ReviewSource.CONVERSATION: CardOrigin.CONVERSATION,
}


async def _lock_word_cards(
    session: AsyncSession,
    user_id: uuid.UUID,
    word_ids: list[int],
    *,
    source: ReviewSource,
    now: datetime,
) -> dict[int, SrsCard]:
    """The learner's cards for these words, locked, created first for words they have none
    of; words that do not exist are left out. Reviewing a known word takes one statement, a
    new word two."""
    cards = await repository.lock_word_cards(session, user_id, word_ids)
    missing = [word_id for word_id in word_ids if word_id not in cards]
    if missing:
        cards.update(
            await repository.create_word_cards(
                session, user_id, missing, origin=_ORIGINS[source], now=now
            )
        )
        # Cards a concurrent review created since the first lock (or words that do not exist)
        raced = [word_id for word_id in missing if word_id not in cards]
        if raced:
            cards.update(await repository.lock_word_cards(session, user_id, raced))
    return cards


async def record_practice(
    session: AsyncSession,
    user: User,
    outcomes: Mapping[int, PracticeOutcome],
    settings: Settings,
    *,
    source: ReviewSource,
    now: datetime,
) -> dict[int, ReviewOutcome]:
    """Log words practised in a lesson or conversation as reviews of the learner's cards.

    One statement locks the cards, one creates the missing ones (words that do not exist
    are skipped), and the logs and card updates are flushed together: a lesson of twenty
    words costs a handful of statements, not a hundred.
    """
    if not outcomes:
        return {}
    cards = await _lock_word_cards(session, user.id, list(outcomes), source=source, now=now)
    config = (await get_learner_settings(session, user.id, settings)).scheduler_config(settings)
    ratings = {word_id: PRACTICE_RATINGS[outcome] for word_id, outcome in outcomes.items()}
    reviews = {
        word_id: _schedule(user, cards[word_id], ratings[word_id], config, source, None, now)
        for word_id in sorted(cards)
    }
    await repository.record_reviews(
        session,
        [(review.outcome.card, review.card_values, review.log) for review in reviews.values()],
    )
    for word_id, review in reviews.items():
        await _publish_review(session, user, review.outcome, ratings[word_id], source, now)
    return {word_id: review.outcome for word_id, review in reviews.items()}


async def review_card(
    session: AsyncSession,
    user: User,
    card: SrsCard,
    rating: int,
    settings: Settings,
    *,
    source: ReviewSource,
    duration_ms: int | None,
    now: datetime,
) -> ReviewOutcome:
    """Schedule a locked card with py-fsrs and append its review log."""
    config = (await get_learner_settings(session, user.id, settings)).scheduler_config(settings)
    review = _schedule(user, card, rating, config, source, duration_ms, now)
    await repository.record_reviews(
        session, [(review.outcome.card, review.card_values, review.log)]
    )
    await _publish_review(session, user, review.outcome, rating, source, now)
    return review.outcome


@dataclass(frozen=True, slots=True)
class _Review:
    """A review computed but not stored yet: the card's new values and its log's row."""

    outcome: ReviewOutcome
    card_values: dict[str, Any]
    log: dict[str, Any]


def _schedule(
    user: User,
    card: SrsCard,
    rating: int,
    config: SchedulerConfig,
    source: ReviewSource,
    duration_ms: int | None,
    now: datetime,
) -> _Review:
    """Apply one review to a locked card with py-fsrs (nothing stored yet)."""
    scheduled = scheduling.review(config, card, rating, now)
    assert scheduled.stability is not None and scheduled.difficulty is not None
    state = scheduling.card_state(scheduled)
    wrong = rating == 0
    values = {
        "state": state,
        "step": scheduled.step,
        "stability": scheduled.stability,
        "difficulty": scheduled.difficulty,
        "due": scheduled.due,
        "last_review": scheduled.last_review,
        "reps": card.reps + 1,
        "lapses": card.lapses + (1 if wrong and card.state is CardState.REVIEW else 0),
        "correct_count": card.correct_count + (0 if wrong else 1),
        "incorrect_count": card.incorrect_count + (1 if wrong else 0),
        "updated_at": now,
    }
    log = {
        "card_id": card.id,
        "user_id": user.id,
        "rating": rating,
        "source": source,
        "reviewed_at": now,
        "duration_ms": duration_ms,
        "state_before": card.state,
        "state_after": state,
        "stability_before": card.stability,
        "stability_after": scheduled.stability,
        "difficulty_before": card.difficulty,
        "difficulty_after": scheduled.difficulty,
        "due_before": card.due,
        "due_after": scheduled.due,
    }
    outcome = ReviewOutcome(
        card=card,
        scheduled_days=max((scheduled.due - now).days, 0),
        first_review=card.state is CardState.NEW,
    )
    return _Review(outcome=outcome, card_values=values, log=log)


async def _publish_review(
    session: AsyncSession,
    user: User,
    outcome: ReviewOutcome,
    rating: int,
    source: ReviewSource,
    now: datetime,
) -> None:
    card = outcome.card
    await events.publish(
        session,
        CardReviewed(
            user_id=user.id,
            card_id=card.id,
            word_id=card.word_id,
            flashcard_id=card.flashcard_id,
            rating=rating,
            source=source,
            first_review=outcome.first_review,
            reviewed_at=now,
        ),
    )


async def add_words_to_queue(
    session: AsyncSession,
    user_id: uuid.UUID,
    word_ids: list[int],
    *,
    origin: CardOrigin,
    now: datetime,
    pack_id: uuid.UUID | None = None,
) -> int:
    """Put words the learner has no card for into their queue as new cards; returns how many."""
    return await repository.add_word_cards(
        session, user_id, word_ids, origin=origin, now=now, pack_id=pack_id
    )


async def remove_unreviewed_pack_words(
    session: AsyncSession, user_id: uuid.UUID, pack_id: uuid.UUID
) -> int:
    """Take a pack's never-reviewed words out of the queue; reviewed ones stay scheduled."""
    return await repository.delete_unreviewed_pack_cards(session, user_id, pack_id)


async def build_queue(
    session: AsyncSession,
    user: User,
    settings: Settings,
    *,
    limit: int,
    include_flashcards: bool,
    now: datetime,
) -> list[QueueEntry]:
    """What to study now: due cards most at risk first, then new words, within daily caps.

    Caps count queue reviews since the learner's local midnight, so after a break the
    backlog is spread over days, most forgotten first.
    """
    learner = await get_learner_settings(session, user.id, settings)
    config = learner.scheduler_config(settings)
    budget = await daily_budget(session, user, learner, now)
    due = await repository.due_cards(
        session,
        user.id,
        now,
        decay=config.decay,
        factor=config.factor,
        limit=min(limit, budget.reviews_left),
        include_flashcards=include_flashcards,
    )
    room_for_new = min(limit - len(due), budget.new_left)
    fresh = await repository.new_cards(
        session, user.id, limit=room_for_new, include_flashcards=include_flashcards
    )
    unseen = await repository.unseen_words(
        session,
        user.id,
        user.target_language,
        limit=room_for_new - len(fresh),
        exclude=[card.word_id for card, _ in fresh if card.word_id is not None],
    )
    cards = [card for card, _, _ in due] + [card for card, _ in fresh]
    words = {
        word.id: word
        for word in [word for _, _, word in due] + [word for _, word in fresh]
        if word is not None
    }
    flashcards = await repository.flashcards_by_id(
        session, [card.flashcard_id for card in cards if card.flashcard_id is not None]
    )
    risk = {card.id: value for card, value, _ in due}
    entries: list[QueueEntry] = []
    for card in cards:
        if card.word_id is not None:
            word = words[card.word_id]
            text, language, translations = word.word, word.language, word.translations
            part_of_speech: PartOfSpeech | None = word.part_of_speech
        else:
            assert card.flashcard_id is not None
            flashcard = flashcards[card.flashcard_id]
            text, language = flashcard.front, flashcard.language
            translations = {flashcard.source_language: [flashcard.back]}
            part_of_speech = None
        entries.append(
            QueueEntry(
                word_id=card.word_id,
                flashcard_id=card.flashcard_id,
                word=text,
                language=language,
                translations=translations,
                state=card.state,
                next_review=None if card.state is CardState.NEW else card.due,
                retrievability=risk.get(card.id),
                part_of_speech=part_of_speech,
            )
        )
    entries.extend(
        QueueEntry(
            word_id=word.id,
            flashcard_id=None,
            word=word.word,
            language=word.language,
            translations=word.translations,
            state=CardState.NEW,
            next_review=None,
            retrievability=None,
            part_of_speech=word.part_of_speech,
        )
        for word in unseen
    )
    return entries


async def daily_budget(
    session: AsyncSession, user: User, learner: LearnerSettings, now: datetime
) -> DailyBudget:
    """Queue reviews since the learner's local midnight, against their daily caps."""
    day_start = local_day_start(now, user.timezone)
    new_done, reviews_done = await repository.queue_reviews_since(session, user.id, day_start)
    return DailyBudget(
        day_started_at=day_start,
        new_done=new_done,
        reviews_done=reviews_done,
        new_left=max(learner.new_cards_per_day - new_done, 0),
        reviews_left=max(learner.reviews_per_day - reviews_done, 0),
    )


async def study_day(
    session: AsyncSession,
    user: User,
    settings: Settings,
    *,
    include_flashcards: bool,
    now: datetime,
) -> tuple[DailyBudget, int]:
    """Today's budget and the whole backlog of due cards."""
    learner = await get_learner_settings(session, user.id, settings)
    budget = await daily_budget(session, user, learner, now)
    due_total = await repository.count_due(
        session, user.id, now, include_flashcards=include_flashcards
    )
    return budget, due_total


async def word_progress(
    session: AsyncSession, user_id: uuid.UUID, word_id: int
) -> tuple[SrsCard | None, str]:
    """The learner's card for a word (None if they never met it) and the word; 404 if unknown."""
    words = await vocabulary_repository.get_words(session, [word_id])
    if not words:
        raise NotFound("No such word.")
    return await repository.get_word_card(session, user_id, word_id), words[word_id].word


async def fit_personal_parameters(
    session: AsyncSession, user_id: uuid.UUID, settings: Settings, *, now: datetime
) -> bool:
    """Fit the learner's FSRS parameters from their review logs; True if they were stored.

    The fit (CPU-bound, fsrs-rs) runs in a thread and is adopted only if it predicts the
    newest 20% of reviews better than the parameters in use. Otherwise, or with too little
    usable history, the attempt is recorded so the job retries only after more reviews.
    """
    user = await session.get(User, user_id)
    if user is None:
        return False
    rows = await repository.review_events(session, user_id)
    reviews = [
        optimizer.ReviewEvent(str(card_id), at, scheduling.RATINGS[rating].value)
        for card_id, at, rating in rows
    ]
    current = await get_learner_settings(session, user_id, settings)
    fitted: list[float] | None = None
    try:
        result = await asyncio.to_thread(
            optimizer.fit_and_validate,
            reviews,
            tz=ZoneInfo(user.timezone),
            current=current.parameters,
        )
    except (optimizer.NotEnoughReviews, ValueError) as exc:
        logger.info("srs_fit_skipped", user_id=str(user_id), reviews=len(reviews), reason=str(exc))
    else:
        logger.info(
            "srs_fit_checked",
            user_id=str(user_id),
            reviews=len(reviews),
            held_out=result.held_out_reviews,
            current_log_loss=round(result.current_log_loss, 4),
            fitted_log_loss=round(result.fitted_log_loss, 4),
            adopted=result.parameters is not None,
        )
        fitted = result.parameters
    profile = await _profile_for_update(session, user_id, settings)
    profile.parameters_review_count = len(reviews)
    if fitted is not None:
        profile.parameters = list(fitted)
        profile.parameters_fitted_at = now
    await session.flush()
    return fitted is not None
