"""Playing lessons: start an attempt, answer its exercises, finish it; progress summary."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from linguo.core.deps import AppCache, AppSettings, CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.lessons import service
from linguo.lessons.schemas import (
    AnswerRequest,
    AnswerResult,
    AttemptStarted,
    FinishResult,
    ProgressSummary,
)

router = APIRouter(tags=["lessons"], responses=error_responses(401))


@router.post(
    "/lessons/{lesson_id}/start",
    status_code=201,
    response_model=AttemptStarted,
    responses=error_responses(404, 409),
)
async def start_lesson(
    lesson_id: uuid.UUID, user: CurrentUser, session: DbSession, settings: AppSettings, now: Now
) -> AttemptStarted:
    """Start an attempt: the exercises to play (never their answers) and the hearts.

    409 `lesson_locked` until the prerequisite lesson is passed; 409 `lesson_empty` when the
    lesson has nothing published to play.
    """
    return await service.start_lesson(session, user, lesson_id, settings, now=now)


@router.post(
    "/attempts/{attempt_id}/answers",
    response_model=AnswerResult,
    responses=error_responses(400, 404, 409),
)
async def answer(
    attempt_id: uuid.UUID, body: AnswerRequest, user: CurrentUser, session: DbSession, now: Now
) -> AnswerResult:
    """Check one answer. A wrong answer costs a heart, a typo none.

    400 `not_in_attempt` for an exercise the attempt did not serve; 409 `out_of_hearts` with
    no hearts left; 409 `attempt_finished` after finish.
    """
    return await service.answer_exercise(session, user, attempt_id, body, now=now)


@router.post(
    "/attempts/{attempt_id}/finish", response_model=FinishResult, responses=error_responses(404)
)
async def finish(
    attempt_id: uuid.UUID, user: CurrentUser, session: DbSession, settings: AppSettings, now: Now
) -> FinishResult:
    """Score the attempt. Passing unlocks the next lesson and queues the lesson's words.

    Finishing again returns the same result and awards nothing more.
    """
    return await service.finish_attempt(session, user, attempt_id, settings, now=now)


@router.get("/me/progress/summary", response_model=ProgressSummary)
async def progress_summary(
    user: CurrentUser, session: DbSession, cache: AppCache
) -> ProgressSummary:
    """Per course played: lessons passed of all, XP from lessons, words practised and mastered."""
    return await service.progress_summary(session, cache, user.id)
