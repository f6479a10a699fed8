"""HTTP routes of spaced repetition: /progress/*."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from linguo.core.deps import AppSettings, CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.core.pagination import Page, Pagination, paginate
from linguo.models.srs import CardState
from linguo.srs import repository, scheduling, service
from linguo.srs.schemas import (
    CardProgress,
    LearnerSettingsRead,
    LearnerSettingsUpdate,
    ParametersRead,
    QueueItem,
    ReviewLogRead,
    ReviewRequest,
    ReviewResult,
    StudyDay,
)

router = APIRouter(prefix="/progress", tags=["spaced repetition"], responses=error_responses(401))

WordIdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]


def review_result(outcome: service.ReviewOutcome) -> ReviewResult:
    """The response body for a review."""
    card = outcome.card
    assert card.stability is not None and card.difficulty is not None
    return ReviewResult(
        word_id=card.word_id,
        flashcard_id=card.flashcard_id,
        state=card.state,
        stability=card.stability,
        difficulty=card.difficulty,
        scheduled_days=outcome.scheduled_days,
        next_review=card.due,
        reps=card.reps,
        lapses=card.lapses,
    )


@router.get("/queue", response_model=list[QueueItem])
async def queue(
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=service.MAX_QUEUE_SIZE)] = 20,
    include_flashcards: Annotated[
        bool, Query(description="Also schedule the learner's own flashcards in this queue")
    ] = False,
) -> list[QueueItem]:
    """What to study now: due words, least likely to be recalled first, then new words.

    New words come from the learner's packs and lessons, then by frequency in their target
    language. Daily caps (new cards, reviews) count from the learner's local midnight.
    """
    entries = await service.build_queue(
        session, user, settings, limit=limit, include_flashcards=include_flashcards, now=now
    )
    return [
        QueueItem(
            kind="word" if entry.word_id is not None else "flashcard",
            word_id=entry.word_id,
            flashcard_id=entry.flashcard_id,
            word=entry.word,
            language=entry.language,
            translations=entry.translations,
            state=entry.state,
            next_review=entry.next_review,
            is_new=entry.is_new,
            retrievability=entry.retrievability,
        )
        for entry in entries
    ]


@router.get("/today", response_model=StudyDay)
async def today(
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    include_flashcards: bool = False,
) -> StudyDay:
    """The backlog and what is left of today's caps (the learner's local day)."""
    budget, due_total = await service.study_day(
        session, user, settings, include_flashcards=include_flashcards, now=now
    )
    return StudyDay(
        day_started_at=budget.day_started_at,
        due_total=due_total,
        new_done_today=budget.new_done,
        reviews_done_today=budget.reviews_done,
        new_left_today=budget.new_left,
        reviews_left_today=budget.reviews_left,
    )


@router.post("/review", response_model=ReviewResult, responses=error_responses(404))
async def review(
    data: ReviewRequest, user: CurrentUser, session: DbSession, settings: AppSettings, now: Now
) -> ReviewResult:
    """Rate the recall of a word (0 again, 1 hard, 2 good, 3 easy); FSRS schedules the next."""
    outcome = await service.review_word(
        session,
        user,
        data.word_id,
        data.rating,
        settings,
        duration_ms=data.response_time_ms,
        now=now,
    )
    return review_result(outcome)


@router.get("/settings", response_model=LearnerSettingsRead)
async def read_settings(
    user: CurrentUser, session: DbSession, settings: AppSettings
) -> LearnerSettingsRead:
    """The caller's desired retention and daily caps."""
    learner = await service.get_learner_settings(session, user.id, settings)
    return LearnerSettingsRead.model_validate(learner)


@router.patch("/settings", response_model=LearnerSettingsRead)
async def update_settings(
    changes: LearnerSettingsUpdate, user: CurrentUser, session: DbSession, settings: AppSettings
) -> LearnerSettingsRead:
    """Change desired retention (0.70..0.97) or the daily caps."""
    learner = await service.update_learner_settings(
        session,
        user.id,
        settings,
        desired_retention=changes.desired_retention,
        new_cards_per_day=changes.new_cards_per_day,
        reviews_per_day=changes.reviews_per_day,
    )
    return LearnerSettingsRead.model_validate(learner)


@router.get("/parameters", response_model=ParametersRead)
async def parameters(
    user: CurrentUser, session: DbSession, settings: AppSettings
) -> ParametersRead:
    """The FSRS parameters in use: the defaults, or the learner's own once fitted."""
    learner = await service.get_learner_settings(session, user.id, settings)
    return ParametersRead(
        parameters=list(learner.parameters),
        personal=learner.personal,
        fitted_at=learner.fitted_at,
        fitted_on_reviews=learner.fitted_on_reviews,
        reviews_logged=await repository.review_count(session, user.id),
        reviews_needed=settings.srs_optimizer_min_reviews,
        desired_retention=learner.desired_retention,
    )


@router.get("/{word_id:int}", response_model=CardProgress, responses=error_responses(404))
async def word_progress(
    word_id: WordIdPath, user: CurrentUser, session: DbSession, settings: AppSettings, now: Now
) -> CardProgress:
    """The caller's FSRS state for a word; `new` with zero counters if never reviewed."""
    card, word = await service.word_progress(session, user.id, word_id)
    if card is None:
        return CardProgress(
            word_id=word_id,
            word=word,
            state=CardState.NEW,
            stability=None,
            difficulty=None,
            next_review=None,
            last_review=None,
            reps=0,
            lapses=0,
            correct_count=0,
            incorrect_count=0,
            retrievability=None,
        )
    learner = await service.get_learner_settings(session, user.id, settings)
    return CardProgress(
        word_id=word_id,
        word=word,
        state=card.state,
        stability=card.stability,
        difficulty=card.difficulty,
        next_review=None if card.state is CardState.NEW else card.due,
        last_review=card.last_review,
        reps=card.reps,
        lapses=card.lapses,
        correct_count=card.correct_count,
        incorrect_count=card.incorrect_count,
        retrievability=scheduling.retrievability(learner.scheduler_config(settings), card, now),
    )


@router.get(
    "/{word_id:int}/reviews", response_model=Page[ReviewLogRead], responses=error_responses(404)
)
async def word_reviews(
    word_id: WordIdPath, user: CurrentUser, session: DbSession, page: Pagination
) -> Page[ReviewLogRead]:
    """The caller's reviews of a word, newest first."""
    card, _ = await service.word_progress(session, user.id, word_id)
    if card is None:
        return Page[ReviewLogRead](items=[], total=0, limit=page.limit, offset=page.offset)
    rows, total = await paginate(session, repository.review_history_query(card.id), page)
    return Page[ReviewLogRead](
        items=[ReviewLogRead.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
