"""Queries of lesson play: attempts, answers, lesson progress and the per-course summary."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, Uuid, and_, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningInsert

from linguo.content.repository import lesson_is_playable
from linguo.core.db import column_params
from linguo.models.content import (
    Course,
    Exercise,
    ExerciseStatus,
    ExerciseWord,
    Lesson,
    LessonWord,
    MediaResource,
)
from linguo.models.lessons import LessonAttempt, LessonProgress, QuestionAttempt
from linguo.models.srs import CardState, SrsCard


async def get_playable_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> Lesson | None:
    """The lesson if its course is published (learners may see it)."""
    stmt = (
        select(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.id == lesson_id, Course.is_published.is_(True))
    )
    return await session.scalar(stmt)


async def published_exercises(session: AsyncSession, lesson_id: uuid.UUID) -> Sequence[Exercise]:
    """The lesson's published exercises in course order."""
    stmt = (
        select(Exercise)
        .where(Exercise.lesson_id == lesson_id, Exercise.status == ExerciseStatus.PUBLISHED)
        .order_by(Exercise.position, Exercise.id)
    )
    return (await session.scalars(stmt)).all()


async def correct_answer_counts(
    session: AsyncSession, user_id: uuid.UUID, exercise_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How often the learner has answered each exercise right, in any attempt."""
    stmt = (
        select(QuestionAttempt.exercise_id, func.count())
        .join(LessonAttempt, LessonAttempt.id == QuestionAttempt.attempt_id)
        .where(
            LessonAttempt.user_id == user_id,
            QuestionAttempt.exercise_id.in_(exercise_ids),
            QuestionAttempt.correct.is_(True),
        )
        .group_by(QuestionAttempt.exercise_id)
    )
    return {exercise_id: count for exercise_id, count in (await session.execute(stmt)).all()}


async def media_keys(session: AsyncSession, media_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Storage keys of media resources by id."""
    if not media_ids:
        return {}
    stmt = select(MediaResource.id, MediaResource.storage_key).where(
        MediaResource.id.in_(media_ids)
    )
    return {media_id: key for media_id, key in (await session.execute(stmt)).all()}


@lru_cache(maxsize=1)
def _lock_attempt() -> Select[LessonAttempt]:
    # The learner's attempt, locked for the transaction: its answers and finish serialise.
    return (
        select(LessonAttempt)
        .where(
            LessonAttempt.id == bindparam("attempt_id", type_=Uuid()),
            LessonAttempt.user_id == bindparam("attempt_user_id", type_=Uuid()),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@lru_cache(maxsize=1)
def _lock_attempt_with_exercise() -> Select[LessonAttempt, Exercise]:
    # The exercise is content, read along with the lock: it does not change with the attempt.
    # Only the attempt is locked (the exercise is on the nullable side of the join).
    return (
        _lock_attempt()
        .add_columns(Exercise)
        .outerjoin(Exercise, Exercise.id == bindparam("exercise_id", type_=Uuid()))
        .with_for_update(of=LessonAttempt)
    )


async def lock_attempt_with_exercise(
    session: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, exercise_id: uuid.UUID
) -> tuple[LessonAttempt | None, Exercise | None]:
    """The learner's attempt, locked, and an exercise by id: one query."""
    params = {"attempt_id": attempt_id, "attempt_user_id": user_id, "exercise_id": exercise_id}
    row = (await session.execute(_lock_attempt_with_exercise(), params)).first()
    return (None, None) if row is None else (row[0], row[1])


@lru_cache(maxsize=1)
def _lock_attempt_with_lesson() -> Select[LessonAttempt, Lesson]:
    # As the exercise above: content read along with the lock, only the attempt locked.
    lesson_is_published = exists().where(
        Course.id == Lesson.course_id, Course.is_published.is_(True)
    )
    return (
        _lock_attempt()
        .add_columns(Lesson)
        .outerjoin(Lesson, and_(Lesson.id == LessonAttempt.lesson_id, lesson_is_published))
        .with_for_update(of=LessonAttempt)
    )


async def lock_attempt_with_lesson(
    session: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[LessonAttempt | None, Lesson | None]:
    """The learner's attempt, locked, and its lesson if its course is published (as
    `get_playable_lesson`): one query."""
    params = {"attempt_id": attempt_id, "attempt_user_id": user_id}
    row = (await session.execute(_lock_attempt_with_lesson(), params)).first()
    return (None, None) if row is None else (row[0], row[1])


_ANSWER_FIELDS = (
    "attempt_id",
    "exercise_id",
    "answer",
    "correct",
    "typo",
    "used_hint",
    "time_spent_ms",
    "answered_at",
)


@lru_cache(maxsize=2)
def _record_answer(changes_attempt: bool) -> ReturningInsert[int]:
    answers = cast(Table, QuestionAttempt.__table__)
    values = column_params(answers, _ANSWER_FIELDS, "answer")
    # Counted in the statement, after the attempt's lock: it sees a concurrent answer to the
    # same attempt that committed while this one waited.
    values["attempt_number"] = (
        select(func.count() + 1)
        .where(
            answers.c.attempt_id == values["attempt_id"],
            answers.c.exercise_id == values["exercise_id"],
        )
        .scalar_subquery()
    )
    answer = insert(answers).values(values).returning(answers.c.attempt_number)
    if not changes_attempt:
        return answer
    attempts = cast(Table, LessonAttempt.__table__)
    attempt = (
        update(attempts)
        .where(attempts.c.id == values["attempt_id"])
        .values(column_params(attempts, ("hearts_left", "hints_used"), "attempt"))
        .cte("answered_attempt")
    )
    return answer.add_cte(attempt)


async def record_answer(
    session: AsyncSession,
    attempt: LessonAttempt,
    answer: Mapping[str, Any],
    *,
    hearts_left: int | None,
    hints_used: int,
) -> int:
    """Store an answer (the columns of `_ANSWER_FIELDS` but the attempt) and the attempt's
    hearts and hints after it, in one statement; `attempt` shows the stored values.

    Returns the answer's `attempt_number`: 1 for the first answer to its exercise.
    """
    params = {f"answer_{name}": value for name, value in answer.items()}
    params["answer_attempt_id"] = attempt.id
    changes_attempt = (hearts_left, hints_used) != (attempt.hearts_left, attempt.hints_used)
    if changes_attempt:
        params |= {"attempt_hearts_left": hearts_left, "attempt_hints_used": hints_used}
    number = (await session.execute(_record_answer(changes_attempt), params)).scalar_one()
    # Stored already: set without marking the attempt changed, so no flush repeats it.
    set_committed_value(attempt, "hearts_left", hearts_left)
    set_committed_value(attempt, "hints_used", hints_used)
    return int(number)


def _first_answers(attempt_id: uuid.UUID) -> Select[QuestionAttempt]:
    return (
        select(QuestionAttempt)
        .where(QuestionAttempt.attempt_id == attempt_id, QuestionAttempt.attempt_number == 1)
        .order_by(QuestionAttempt.id)
    )


async def first_answers(
    session: AsyncSession, attempt_id: uuid.UUID
) -> dict[uuid.UUID, QuestionAttempt]:
    """The first answer given to each exercise of the attempt."""
    answers = (await session.scalars(_first_answers(attempt_id))).all()
    return {answer.exercise_id: answer for answer in answers}


async def first_answers_with_words(
    session: AsyncSession, attempt_id: uuid.UUID
) -> tuple[dict[uuid.UUID, QuestionAttempt], list[tuple[uuid.UUID, int]]]:
    """The attempt's first answer to each exercise, and (exercise id, word id) for the
    vocabulary words those exercises practise: one statement, for the finish."""
    stmt = (
        _first_answers(attempt_id)
        .add_columns(ExerciseWord.word_id)
        .outerjoin(ExerciseWord, ExerciseWord.exercise_id == QuestionAttempt.exercise_id)
        .order_by(ExerciseWord.word_id)
    )
    first: dict[uuid.UUID, QuestionAttempt] = {}
    words: list[tuple[uuid.UUID, int]] = []
    for answer, word_id in (await session.execute(stmt)).all():
        first[answer.exercise_id] = answer
        if word_id is not None:
            words.append((answer.exercise_id, word_id))
    return first, words


async def lesson_word_ids(session: AsyncSession, lesson_id: uuid.UUID) -> list[int]:
    """The words the lesson introduces, in lesson order."""
    stmt = (
        select(LessonWord.word_id)
        .where(LessonWord.lesson_id == lesson_id)
        .order_by(LessonWord.position, LessonWord.word_id)
    )
    return list((await session.scalars(stmt)).all())


async def record_finish(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    lesson: Lesson,
    score: float,
    passed: bool,
    xp: int,
    now: datetime,
) -> LessonProgress:
    """Fold a finished attempt into the learner's lesson progress (one upsert)."""
    stmt = (
        insert(LessonProgress)
        .values(
            user_id=user_id,
            lesson_id=lesson.id,
            course_id=lesson.course_id,
            best_score=score,
            attempts_finished=1,
            xp_earned=xp,
            first_passed_at=now if passed else None,
            last_finished_at=now,
        )
        .on_conflict_do_update(
            index_elements=[LessonProgress.user_id, LessonProgress.lesson_id],
            set_={
                "best_score": func.greatest(LessonProgress.best_score, score),
                "attempts_finished": LessonProgress.attempts_finished + 1,
                "xp_earned": LessonProgress.xp_earned + xp,
                "first_passed_at": func.coalesce(
                    LessonProgress.first_passed_at, now if passed else None
                ),
                "last_finished_at": now,
                "course_id": lesson.course_id,
            },
        )
        .returning(LessonProgress)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


async def get_progress(
    session: AsyncSession, user_id: uuid.UUID, lesson_id: uuid.UUID
) -> LessonProgress | None:
    """The learner's progress row for a lesson."""
    return await session.get(LessonProgress, (user_id, lesson_id))


async def unlocked_by(session: AsyncSession, lesson_id: uuid.UUID) -> list[uuid.UUID]:
    """Playable lessons whose prerequisite is this lesson."""
    stmt = (
        select(Lesson.id)
        .where(Lesson.prerequisite_lesson_id == lesson_id, lesson_is_playable())
        .order_by(Lesson.position, Lesson.id)
    )
    return list((await session.scalars(stmt)).all())


async def progress_by_course(
    session: AsyncSession, user_id: uuid.UUID, *, mastered_stability_days: float
) -> Sequence[Any]:
    """Per published course the learner has played: lessons passed and total, xp, words
    practised and mastered, last activity; most recent first. Aggregates only."""
    played = (
        select(
            LessonAttempt.course_id.label("course_id"),
            func.max(func.coalesce(LessonAttempt.finished_at, LessonAttempt.started_at)).label(
                "last_activity_at"
            ),
        )
        .where(LessonAttempt.user_id == user_id)
        .group_by(LessonAttempt.course_id)
        .subquery()
    )
    progress = (
        select(
            LessonProgress.course_id.label("course_id"),
            func.count(LessonProgress.first_passed_at).label("lessons_passed"),
            func.sum(LessonProgress.xp_earned).label("xp"),
        )
        .where(LessonProgress.user_id == user_id)
        .group_by(LessonProgress.course_id)
        .subquery()
    )
    totals = (
        select(Lesson.course_id.label("course_id"), func.count().label("lessons_total"))
        .where(lesson_is_playable(), Lesson.course_id.in_(select(played.c.course_id)))
        .group_by(Lesson.course_id)
        .subquery()
    )
    course_words = (
        select(Lesson.course_id.label("course_id"), LessonWord.word_id.label("word_id"))
        .join(LessonWord, LessonWord.lesson_id == Lesson.id)
        .where(Lesson.course_id.in_(select(played.c.course_id)))
        .distinct()
        .subquery()
    )
    words = (
        select(
            course_words.c.course_id,
            func.count().filter(SrsCard.reps > 0).label("words_learned"),
            func.count()
            .filter(
                and_(
                    SrsCard.state == CardState.REVIEW,
                    SrsCard.stability >= mastered_stability_days,
                )
            )
            .label("words_mastered"),
        )
        .join(
            SrsCard,
            and_(SrsCard.word_id == course_words.c.word_id, SrsCard.user_id == user_id),
        )
        .group_by(course_words.c.course_id)
        .subquery()
    )
    stmt = (
        select(
            Course.id,
            Course.title,
            Course.language,
            Course.source_language,
            func.coalesce(progress.c.lessons_passed, 0),
            func.coalesce(totals.c.lessons_total, 0),
            func.coalesce(progress.c.xp, 0),
            func.coalesce(words.c.words_learned, 0),
            func.coalesce(words.c.words_mastered, 0),
            played.c.last_activity_at,
        )
        .join(played, played.c.course_id == Course.id)
        .outerjoin(progress, progress.c.course_id == Course.id)
        .outerjoin(totals, totals.c.course_id == Course.id)
        .outerjoin(words, words.c.course_id == Course.id)
        .where(Course.is_published.is_(True))
        .order_by(played.c.last_activity_at.desc(), Course.id)
    )
    return (await session.execute(stmt)).all()
