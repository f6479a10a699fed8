"""Playing a lesson: start an attempt, check answers, score it, and what passing does.

Rules (documented in the README):

- An attempt serves at most `lesson_max_exercises` published exercises: those the learner has
  answered right least often first, then easier ones, ties broken at random; they are then
  played easiest first (recognition before production), in course order within a level.
- Hearts belong to the attempt: `lesson_hearts` on the free plan, unlimited on premium. A
  wrong answer costs one, a typo none; with none left, answering is refused and the attempt
  can only be finished, as failed.
- The score is the fraction of the attempt's exercises answered right the first time (typos
  count as right). The lesson is passed when the score reaches its `pass_score` and hearts
  did not run out.
- XP: `XP_LESSON_PASSED` for a pass, plus `XP_PERFECT_BONUS` with no mistakes; nothing for a
  fail. Awarded once per attempt.
- Each word the answered exercises practise is logged once per attempt as a spaced-
  repetition review, at the learner's worst outcome with it (wrong < typo or hint < right).
  Passing also puts the lesson's remaining words into the learner's review queue.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.analytics.cache import learner_cached
from linguo.config import Settings
from linguo.content import service as content_service
from linguo.content.media import media_url
from linguo.content.versions import COURSES_CACHE
from linguo.core.cache import Cache, cache_generation
from linguo.core.errors import BadRequest, Conflict, ErrorCode, NotFound
from linguo.core.events import events
from linguo.gamification import achievements_repository
from linguo.gamification import repository as gamification_repository
from linguo.language.answers import check_answer
from linguo.lessons import repository
from linguo.lessons.schemas import (
    AnswerFeedback,
    AnswerRequest,
    AnswerResult,
    AttemptStarted,
    CourseProgress,
    ExerciseToPlay,
    FinishResult,
    ProgressSummary,
    WordDifference,
)
from linguo.models.content import Exercise, ExerciseType
from linguo.models.gamification import XpSource
from linguo.models.identity import Plan, User
from linguo.models.lessons import LessonAttempt, QuestionAttempt
from linguo.models.srs import CardOrigin, ReviewSource
from linguo.srs import service as srs_service
from linguo.srs.service import PRACTICE_RATINGS, PracticeOutcome

XP_LESSON_PASSED = 10
XP_PERFECT_BONUS = 5
MASTERED_STABILITY_DAYS = 21.0
# Time spent is wall-clock time from start to finish, capped so that an attempt left open
# overnight does not count as hours of study.
MAX_ATTEMPT_TIME = timedelta(hours=1)

# Picking one option cannot have a typo: a "typo" match there is another option.
CHOICE_TYPES = frozenset({ExerciseType.CARDS, ExerciseType.OPTIONS})
TYPE_ORDER = {exercise_type: index for index, exercise_type in enumerate(ExerciseType)}


@dataclass(frozen=True, slots=True)
class LessonCompleted:
    """Domain event: a learner finished an attempt at a lesson (gamification listens)."""

    user_id: uuid.UUID
    lesson_id: uuid.UUID
    course_id: uuid.UUID
    attempt_id: uuid.UUID
    score: float
    passed: bool
    perfect: bool
    first_pass: bool
    xp_earned: int
    time_spent_ms: int
    finished_at: datetime


class LessonLocked(Conflict):
    """The lesson's prerequisite is not passed yet."""

    code = ErrorCode.LESSON_LOCKED


class LessonEmpty(Conflict):
    """The lesson has no published exercises."""

    code = ErrorCode.LESSON_EMPTY


class OutOfHearts(Conflict):
    """The attempt has no hearts left."""

    code = ErrorCode.OUT_OF_HEARTS


class AttemptFinished(Conflict):
    """The attempt is already finished."""

    code = ErrorCode.ATTEMPT_FINISHED


class NotInAttempt(BadRequest):
    """The exercise is not one the attempt served."""

    code = ErrorCode.NOT_IN_ATTEMPT


def _choose_exercises(
    exercises: list[Exercise], practised: dict[uuid.UUID, int], limit: int, seed: int
) -> list[Exercise]:
    rng = random.Random(seed)  # noqa: S311 - varying exercises, not security
    tie_breaks = {exercise.id: rng.random() for exercise in exercises}
    if len(exercises) > limit:
        exercises = sorted(
            exercises,
            key=lambda e: (practised.get(e.id, 0), e.difficulty, tie_breaks[e.id]),
        )[:limit]
    return sorted(exercises, key=lambda e: (e.difficulty, TYPE_ORDER[e.type], e.position))


def _to_play(exercise: Exercise, keys: dict[uuid.UUID, str]) -> ExerciseToPlay:
    key = keys.get(exercise.audio_media_id) if exercise.audio_media_id else None
    return ExerciseToPlay(
        id=exercise.id,
        type=exercise.type,
        prompt=exercise.prompt,
        prompt_language=exercise.prompt_language,
        answer_language=exercise.answer_language,
        choices=list(exercise.choices),
        images=list(exercise.images),
        audio_url=media_url(key) if key else None,
        difficulty=exercise.difficulty,
    )


async def start_lesson(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, settings: Settings, *, now: datetime
) -> AttemptStarted:
    """Create an attempt at a lesson the learner has unlocked; 409 if locked or empty."""
    lesson = await repository.get_playable_lesson(session, lesson_id)
    if lesson is None:
        raise NotFound("No such lesson.")
    exercises = list(await repository.published_exercises(session, lesson.id))
    if not exercises:
        raise LessonEmpty("This lesson has no exercises yet.")
    if not await content_service.lesson_unlocked(session, user.id, lesson):
        raise LessonLocked(
            "Pass the previous lesson first.",
            details={"prerequisite_lesson_id": str(lesson.prerequisite_lesson_id)},
        )
    attempt_id = uuid.uuid4()
    practised = await repository.correct_answer_counts(
        session, user.id, [exercise.id for exercise in exercises]
    )
    chosen = _choose_exercises(
        exercises, practised, settings.lesson_max_exercises, seed=attempt_id.int
    )
    hearts = None if user.plan is Plan.PREMIUM else settings.lesson_hearts
    attempt = LessonAttempt(
        id=attempt_id,
        user_id=user.id,
        lesson_id=lesson.id,
        course_id=lesson.course_id,
        lesson_content_version=lesson.content_version,
        exercise_ids=[exercise.id for exercise in chosen],
        hearts_start=hearts,
        hearts_left=hearts,
        started_at=now,
    )
    session.add(attempt)
    await session.flush()
    keys = await repository.media_keys(
        session, [e.audio_media_id for e in chosen if e.audio_media_id is not None]
    )
    return AttemptStarted(
        attempt_id=attempt.id,
        lesson_id=lesson.id,
        lesson_content_version=lesson.content_version,
        exercises=[_to_play(exercise, keys) for exercise in chosen],
        hearts=hearts,
        started_at=now,
    )


async def answer_exercise(
    session: AsyncSession,
    user: User,
    attempt_id: uuid.UUID,
    request: AnswerRequest,
    *,
    now: datetime,
) -> AnswerResult:
    """Check one answer of an attempt, record it, and charge a heart when it is wrong."""
    attempt, exercise = await repository.lock_attempt_with_exercise(
        session, attempt_id, user.id, request.exercise_id
    )
    if attempt is None:
        raise NotFound("No such attempt.")
    if attempt.finished_at is not None:
        raise AttemptFinished("This attempt is finished; start the lesson again.")
    if request.exercise_id not in attempt.exercise_ids:
        raise NotInAttempt("That exercise is not part of this attempt.")
    if attempt.hearts_left == 0:
        raise OutOfHearts("No hearts left: finish this attempt and try again.")
    if exercise is None:  # deleted by an editor since the attempt started
        raise NotInAttempt("That exercise no longer exists.")

    check = check_answer(request.answer, exercise.answers, exercise.answer_language)
    correct, typo = check.correct, check.typo
    if exercise.type in CHOICE_TYPES and typo:
        correct, typo = False, False
    hearts_left = attempt.hearts_left
    if not correct and hearts_left is not None:
        hearts_left -= 1
    number = await repository.record_answer(
        session,
        attempt,
        {
            "exercise_id": exercise.id,
            "answer": request.answer,
            "correct": correct,
            "typo": typo,
            "used_hint": request.used_hint,
            "time_spent_ms": request.time_spent_ms,
            "answered_at": now,
        },
        hearts_left=hearts_left,
        hints_used=attempt.hints_used + (1 if request.used_hint else 0),
    )

    feedback = None
    if check.message is not None:
        message = check.message if correct or exercise.type not in CHOICE_TYPES else None
        feedback = AnswerFeedback(
            message=message or f"The right answer is “{check.expected}”.",
            differences=[]
            if exercise.type in CHOICE_TYPES
            else [
                WordDifference(
                    kind=diff.kind, expected=diff.expected, given=diff.given, position=diff.position
                )
                for diff in check.diff
            ],
        )
    return AnswerResult(
        correct=correct,
        typo=typo,
        expected=check.expected,
        feedback=feedback,
        hearts_left=attempt.hearts_left,
        attempt_number=number,
    )


def _outcome(answer: QuestionAttempt) -> PracticeOutcome:
    if not answer.correct:
        return PracticeOutcome.WRONG
    if answer.typo or answer.used_hint:
        return PracticeOutcome.CORRECT_WITH_HELP
    return PracticeOutcome.CORRECT


async def _result(
    session: AsyncSession,
    attempt: LessonAttempt,
    first: dict[uuid.UUID, QuestionAttempt] | None = None,
) -> FinishResult:
    """The stored result of a finished attempt (`first`: its first answers, if read already)."""
    assert attempt.finished_at is not None and attempt.score is not None
    # Finished in this transaction: its achievement check has just said what it unlocked.
    new_achievements = achievements_repository.lesson_unlocks_now(
        session, attempt.user_id, attempt.id
    )
    if new_achievements is None:
        new_achievements = await achievements_repository.codes_unlocked_by(
            session, attempt.user_id, achievements_repository.lesson_trigger(attempt.id)
        )
    if first is None:
        first = await repository.first_answers(session, attempt.id)
    progress = await repository.get_progress(session, attempt.user_id, attempt.lesson_id)
    first_pass = bool(
        attempt.passed and progress is not None and progress.first_passed_at == attempt.finished_at
    )
    unlocked = await repository.unlocked_by(session, attempt.lesson_id) if first_pass else []
    # The ledger holds what was really awarded: doubled while an XP boost ran. An attempt
    # that earned no XP made no award, so there is nothing to read.
    awarded = (
        await gamification_repository.xp_awarded(
            session, attempt.user_id, XpSource.LESSON, str(attempt.id)
        )
        if attempt.xp_earned
        else None
    )
    return FinishResult(
        attempt_id=attempt.id,
        lesson_id=attempt.lesson_id,
        score=attempt.score,
        passed=bool(attempt.passed),
        xp_earned=awarded if awarded is not None else attempt.xp_earned or 0,
        new_achievements=new_achievements,
        correct_count=sum(1 for e in attempt.exercise_ids if e in first and first[e].correct),
        exercise_count=len(attempt.exercise_ids),
        hearts_left=attempt.hearts_left,
        time_spent_ms=attempt.time_spent_ms or 0,
        unlocked_lesson_ids=unlocked,
    )


async def finish_attempt(
    session: AsyncSession,
    user: User,
    attempt_id: uuid.UUID,
    settings: Settings,
    *,
    now: datetime,
) -> FinishResult:
    """Score the attempt, award XP once, log practised words, unlock what passing unlocks.

    Finishing an attempt again returns the first result and changes nothing.
    """
    attempt, lesson = await repository.lock_attempt_with_lesson(session, attempt_id, user.id)
    if attempt is None:
        raise NotFound("No such attempt.")
    if attempt.finished_at is not None:
        return await _result(session, attempt)
    if lesson is None:
        raise NotFound("This lesson is no longer available.")

    first, practised_words = await repository.first_answers_with_words(session, attempt.id)
    served = [first[e] for e in attempt.exercise_ids if e in first]
    correct_count = sum(1 for answer in served if answer.correct)
    total = len(attempt.exercise_ids)
    score = round(correct_count / total, 4) if total else 0.0
    passed = attempt.hearts_left != 0 and score >= lesson.pass_score
    perfect = passed and correct_count == total
    xp = (XP_LESSON_PASSED + (XP_PERFECT_BONUS if perfect else 0)) if passed else 0
    time_spent_ms = int(min(now - attempt.started_at, MAX_ATTEMPT_TIME).total_seconds() * 1000)

    attempt.finished_at = now
    attempt.score = score
    attempt.passed = passed
    attempt.xp_earned = xp
    attempt.time_spent_ms = max(time_spent_ms, 0)
    progress = await repository.record_finish(
        session, user_id=user.id, lesson=lesson, score=score, passed=passed, xp=xp, now=now
    )
    first_pass = passed and progress.first_passed_at == now

    outcomes: dict[int, PracticeOutcome] = {}
    answers = {answer.exercise_id: answer for answer in served}
    for exercise_id, word_id in practised_words:
        if exercise_id not in answers:
            continue
        outcome = _outcome(answers[exercise_id])
        if (
            word_id not in outcomes
            or PRACTICE_RATINGS[outcome] < PRACTICE_RATINGS[outcomes[word_id]]
        ):
            outcomes[word_id] = outcome
    await srs_service.record_practice(
        session, user, outcomes, settings, source=ReviewSource.LESSON, now=now
    )
    if passed:
        await srs_service.add_words_to_queue(
            session,
            user.id,
            await repository.lesson_word_ids(session, lesson.id),
            origin=CardOrigin.LESSON,
            now=now,
        )
    await session.flush()
    await events.publish(
        session,
        LessonCompleted(
            user_id=user.id,
            lesson_id=lesson.id,
            course_id=lesson.course_id,
            attempt_id=attempt.id,
            score=score,
            passed=passed,
            perfect=perfect,
            first_pass=first_pass,
            xp_earned=xp,
            time_spent_ms=attempt.time_spent_ms,
            finished_at=now,
        ),
    )
    return await _result(session, attempt, first)


async def progress_summary(
    session: AsyncSession, cache: Cache, user_id: uuid.UUID
) -> ProgressSummary:
    """The learner's progress in every course they have played, most recent first.

    Cached with the learner's analytics (invalidated by their lessons and reviews) and the
    courses' generation (invalidated by content changes).
    """
    content_generation = await cache_generation(session, COURSES_CACHE)

    async def load() -> dict[str, Any]:
        rows = await repository.progress_by_course(
            session, user_id, mastered_stability_days=MASTERED_STABILITY_DAYS
        )
        return _progress_summary(rows).model_dump(mode="json")

    key = f"progress:{content_generation}"
    return ProgressSummary.model_validate(await learner_cached(session, cache, user_id, key, load))


def _progress_summary(rows: Sequence[Any]) -> ProgressSummary:
    return ProgressSummary(
        courses=[
            CourseProgress(
                course_id=course_id,
                title=title,
                language=language,
                source_language=source_language,
                lessons_passed=passed,
                lessons_total=total,
                xp=xp,
                words_learned=learned,
                words_mastered=mastered,
                last_activity_at=last_activity_at,
            )
            for (
                course_id,
                title,
                language,
                source_language,
                passed,
                total,
                xp,
                learned,
                mastered,
                last_activity_at,
            ) in rows
        ]
    )
