"""Queries of analytics: every figure is an SQL aggregate, one statement per group of figures.

The learner's activity is read through `activity_facts`, one UNION ALL of the tables that
record study (XP ledger, lesson attempts and first answers, queue reviews, conversation
sessions and turns), each row carrying its instant and its measures. Summaries, the daily
series and the daily snapshots all aggregate these same facts, so they agree by design.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    Select,
    SmallInteger,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from linguo.lessons.service import MAX_ATTEMPT_TIME
from linguo.models.analytics import AnalyticsSnapshot
from linguo.models.conversation import (
    ConversationMessage,
    ConversationSession,
    ErrorMemory,
    MessageRole,
)
from linguo.models.gamification import XpLedgerEntry
from linguo.models.identity import User
from linguo.models.lessons import LessonAttempt, QuestionAttempt
from linguo.models.srs import CardState, Flashcard, ReviewLog, ReviewSource, SrsCard
from linguo.models.vocabulary import VocabularyWord

# Study time: a lesson attempt counts from its start to its finish (capped when stored, and
# again here), a conversation from its start to its last turn, a queue review its response
# time. The caps keep an attempt left open overnight or a stray response time from counting
# as hours of study.
MAX_LESSON_MS = int(MAX_ATTEMPT_TIME.total_seconds() * 1000)
MAX_CONVERSATION_MS = 3 * 60 * 60 * 1000  # the longest session one can plan (180 minutes)
MAX_REVIEW_MS = 60 * 1000

# A column of a table or an SQL expression.
Expression = ColumnElement[Any] | InstrumentedAttribute[Any]

FACT_NAMES: tuple[str, ...] = (
    "xp",
    "lessons",
    "conversations",
    "turns",
    "reviews",
    "answers",
    "correct_answers",
    "lesson_ms",
    "conversation_ms",
    "review_ms",
)


# --------------------------------------------------------------------------- activity facts


def _facts_select(
    user_column: Expression, at_column: Expression, **measures: Expression
) -> Select[Any]:
    columns: list[ColumnElement[Any]] = [user_column.label("user_id"), at_column.label("at")]
    for name in FACT_NAMES:
        value = measures.get(name, literal(0))
        columns.append(cast(value, BigInteger).label(name))
    return select(*columns)


def _one_if(condition: Expression) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def activity_facts(
    *,
    user_id: uuid.UUID | BindParameter[uuid.UUID] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CompoundSelect[*tuple[Any, ...]]:
    """Every study event of one learner (or all) in [since, until): its instant and measures.

    - `xp`: an XP award (any source); `lessons`: a finished lesson attempt (at its finish);
    - `answers`/`correct_answers`: a lesson's first answer to an exercise (a typo is right),
      or a queue review (rated hard, good or easy is right, again is wrong);
    - `reviews`: a queue review (lesson and conversation practice are counted with them);
    - `conversations`: a conversation session with at least one turn (at its start);
      `turns`: a learner's message in a conversation;
    - `*_ms`: study time, capped per lesson attempt, conversation and review.
    """

    def within(stmt: Select[Any], user_column: Expression, at_column: Expression) -> Select[Any]:
        if user_id is not None:
            stmt = stmt.where(user_column == user_id)
        if since is not None:
            stmt = stmt.where(at_column >= since)
        if until is not None:
            stmt = stmt.where(at_column < until)
        return stmt

    conversation_ms = func.least(
        func.greatest(
            func.round(
                func.extract(
                    "epoch", ConversationSession.last_activity_at - ConversationSession.started_at
                )
                * 1000
            ),
            0,
        ),
        MAX_CONVERSATION_MS,
    )
    sources = [
        within(
            _facts_select(XpLedgerEntry.user_id, XpLedgerEntry.created_at, xp=XpLedgerEntry.amount),
            XpLedgerEntry.user_id,
            XpLedgerEntry.created_at,
        ),
        within(
            _facts_select(
                LessonAttempt.user_id,
                LessonAttempt.finished_at,
                lessons=literal(1),
                lesson_ms=func.least(func.coalesce(LessonAttempt.time_spent_ms, 0), MAX_LESSON_MS),
            ).where(LessonAttempt.finished_at.is_not(None)),
            LessonAttempt.user_id,
            LessonAttempt.finished_at,
        ),
        within(
            _facts_select(
                LessonAttempt.user_id,
                QuestionAttempt.answered_at,
                answers=literal(1),
                correct_answers=_one_if(QuestionAttempt.correct),
            )
            .select_from(QuestionAttempt)
            .join(LessonAttempt, LessonAttempt.id == QuestionAttempt.attempt_id)
            .where(QuestionAttempt.attempt_number == 1),
            LessonAttempt.user_id,
            QuestionAttempt.answered_at,
        ),
        within(
            _facts_select(
                ReviewLog.user_id,
                ReviewLog.reviewed_at,
                reviews=literal(1),
                answers=literal(1),
                correct_answers=_one_if(ReviewLog.rating >= 1),
                review_ms=func.least(
                    func.greatest(func.coalesce(ReviewLog.duration_ms, 0), 0), MAX_REVIEW_MS
                ),
            ).where(ReviewLog.source == ReviewSource.QUEUE),
            ReviewLog.user_id,
            ReviewLog.reviewed_at,
        ),
        within(
            _facts_select(
                ConversationSession.user_id,
                ConversationSession.started_at,
                conversations=literal(1),
                conversation_ms=conversation_ms,
            ).where(ConversationSession.turn_count >= 1),
            ConversationSession.user_id,
            ConversationSession.started_at,
        ),
        within(
            _facts_select(
                ConversationSession.user_id, ConversationMessage.created_at, turns=literal(1)
            )
            .select_from(ConversationMessage)
            .join(ConversationSession, ConversationSession.id == ConversationMessage.session_id)
            .where(ConversationMessage.role == MessageRole.USER),
            ConversationSession.user_id,
            ConversationMessage.created_at,
        ),
    ]
    return union_all(*sources)


def _fact_sums(facts: Any) -> list[ColumnElement[Any]]:
    return [func.coalesce(func.sum(facts.c[name]), 0).label(name) for name in FACT_NAMES]


@lru_cache(maxsize=1)
def _totals_statement() -> Select[Any]:
    # Built once with the learner bound: building this UNION of five sources costs more CPU
    # than PostgreSQL spends summing a learner's facts.
    facts = activity_facts(user_id=bindparam("user_id", type_=Uuid())).subquery("facts")
    return select(*_fact_sums(facts))


async def activity_totals(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """The learner's facts summed over all time (one statement)."""
    row = (await session.execute(_totals_statement(), {"user_id": user_id})).one()
    return {name: int(row._mapping[name]) for name in FACT_NAMES}


async def daily_activity(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    zone: str,
    first_day: date,
    days: int,
    since: datetime,
    until: datetime,
) -> list[tuple[date, dict[str, int]]]:
    """The learner's facts summed per local day of `zone`, one row per day even when empty.

    `since`/`until` are the UTC instants at which `first_day` starts and the last day ends.
    """
    facts = activity_facts(user_id=user_id, since=since, until=until).subquery("facts")
    local_day = cast(func.timezone(zone, facts.c.at), Date).label("day")
    dated = select(facts, local_day).subquery("dated")
    per_day = select(dated.c.day, *_fact_sums(dated)).group_by(dated.c.day).subquery("per_day")
    series = _day_series(first_day, days)
    stmt = (
        select(series.c.day, *[func.coalesce(per_day.c[name], 0) for name in FACT_NAMES])
        .select_from(series)
        .outerjoin(per_day, per_day.c.day == series.c.day)
        .order_by(series.c.day)
    )
    return [
        (row[0], {name: int(value) for name, value in zip(FACT_NAMES, row[1:], strict=True)})
        for row in (await session.execute(stmt)).all()
    ]


def _day_series(first_day: date, days: int) -> Any:
    """`days` consecutive dates from `first_day`, as a subquery with one column `day`."""
    offsets = (
        func.generate_series(0, days - 1)
        .table_valued(column("n", Integer))
        .render_derived(name="offsets")
    )
    return select((literal(first_day, Date) + offsets.c.n).label("day")).subquery("series")


# --------------------------------------------------------------------------- cards


@dataclass(frozen=True, slots=True)
class CardCounts:
    """A learner's cards by FSRS state, and how many reviews fall due."""

    new: int
    learning: int
    review: int
    relearning: int
    mastered: int
    total: int
    due_today: int
    due_next_7_days: int


def _state_counts(
    state: Expression, stability: Expression, mastered_stability_days: float
) -> list[ColumnElement[int]]:
    return [
        func.count().filter(state == CardState.NEW).label("new"),
        func.count().filter(state == CardState.LEARNING).label("learning"),
        func.count().filter(state == CardState.REVIEW).label("review"),
        func.count().filter(state == CardState.RELEARNING).label("relearning"),
        func.count()
        .filter(and_(state == CardState.REVIEW, stability >= mastered_stability_days))
        .label("mastered"),
        func.count().label("total"),
    ]


async def card_counts(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    mastered_stability_days: float,
    today_ends: datetime,
    week_ends: datetime,
) -> CardCounts:
    """Cards (words and flashcards) by state; reviews due before the two instants."""
    scheduled = SrsCard.state != CardState.NEW
    stmt = select(
        *_state_counts(SrsCard.state, SrsCard.stability, mastered_stability_days),
        func.count().filter(and_(scheduled, SrsCard.due < today_ends)).label("due_today"),
        func.count().filter(and_(scheduled, SrsCard.due < week_ends)).label("due_next_7_days"),
    ).where(SrsCard.user_id == user_id)
    row = (await session.execute(stmt)).one()
    return CardCounts(**{key: int(value) for key, value in row._mapping.items()})


async def card_counts_by_language(
    session: AsyncSession, user_id: uuid.UUID, *, mastered_stability_days: float
) -> Sequence[Any]:
    """Cards by language (of the word or flashcard) and state, largest collection first."""
    cards = (
        select(
            func.coalesce(VocabularyWord.language, Flashcard.language).label("language"),
            SrsCard.state,
            SrsCard.stability,
        )
        .outerjoin(VocabularyWord, VocabularyWord.id == SrsCard.word_id)
        .outerjoin(Flashcard, Flashcard.id == SrsCard.flashcard_id)
        .where(SrsCard.user_id == user_id)
        .subquery("cards")
    )
    counts = _state_counts(cards.c.state, cards.c.stability, mastered_stability_days)
    stmt = (
        select(cards.c.language, *counts)
        .group_by(cards.c.language)
        .order_by(func.count().desc(), cards.c.language)
    )
    return (await session.execute(stmt)).all()


# --------------------------------------------------------------------------- streak


# --------------------------------------------------------------------------- errors


async def top_errors(session: AsyncSession, user_id: uuid.UUID, limit: int) -> list[ErrorMemory]:
    """The learner's most frequent errors, most recent first among equals."""
    stmt = (
        select(ErrorMemory)
        .where(ErrorMemory.user_id == user_id)
        .order_by(
            ErrorMemory.occurrences.desc(),
            ErrorMemory.last_seen_at.desc(),
            ErrorMemory.language,
            ErrorMemory.code,
        )
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def error_categories(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Any]:
    """Per error category: occurrences, distinct errors and when last seen; most frequent first."""
    occurrences = func.sum(ErrorMemory.occurrences)
    stmt = (
        select(
            ErrorMemory.category,
            occurrences.label("occurrences"),
            func.count().label("errors"),
            func.max(ErrorMemory.last_seen_at).label("last_seen_at"),
        )
        .where(ErrorMemory.user_id == user_id)
        .group_by(ErrorMemory.category)
        .order_by(occurrences.desc(), ErrorMemory.category)
    )
    return (await session.execute(stmt)).all()


async def conversation_error_totals(session: AsyncSession, user_id: uuid.UUID) -> Any:
    """Over all the learner's conversations: turns, turns with an error, errors found."""
    stmt = select(
        func.coalesce(func.sum(ConversationSession.turn_count), 0).label("turns"),
        func.coalesce(
            func.sum(ConversationSession.turn_count - ConversationSession.error_free_turns), 0
        ).label("turns_with_errors"),
        func.coalesce(func.sum(ConversationSession.error_count), 0).label("errors"),
    ).where(ConversationSession.user_id == user_id)
    return (await session.execute(stmt)).one()


# --------------------------------------------------------------------------- snapshots


def level_of(total_xp: ColumnElement[Any]) -> ColumnElement[int]:
    """`levels.level_for_xp` in SQL: the largest L with 25 L (L - 1) <= xp.

    Solved as floor((5 + sqrt(25 + 4 xp)) / 10); the square root of an integer is exact
    when it is a whole number, so the level changes exactly at each threshold.
    """
    root = func.sqrt(25 + 4 * func.greatest(total_xp, 0))
    return cast(func.floor((5 + root) / 10), SmallInteger)


async def write_snapshots(
    session: AsyncSession,
    *,
    day: date,
    day_starts: datetime,
    day_ends: datetime,
    mastered_stability_days: float,
    now: datetime,
) -> int:
    """Upsert the snapshot of `day` (a UTC day) of every learner active that day; one statement.

    Day figures sum the activity facts of the day; total XP, level and cards by state are
    as of the end of the day (from the ledgers, so a late or repeated run writes the same
    values); streaks are the stored ones. Returns the number of snapshots written.
    """
    facts = activity_facts(since=day_starts, until=day_ends).subquery("facts")
    activity = select(*_fact_sums(facts), facts.c.user_id).group_by(facts.c.user_id)
    active = activity.subquery("activity")
    active_users = select(active.c.user_id)
    xp_so_far = (
        select(XpLedgerEntry.user_id, func.sum(XpLedgerEntry.amount).label("total_xp"))
        .where(XpLedgerEntry.created_at < day_ends, XpLedgerEntry.user_id.in_(active_users))
        .group_by(XpLedgerEntry.user_id)
        .subquery("xp_so_far")
    )
    last_review = (
        select(ReviewLog.card_id, ReviewLog.state_after, ReviewLog.stability_after)
        .where(ReviewLog.reviewed_at < day_ends, ReviewLog.user_id.in_(active_users))
        .ext(distinct_on(ReviewLog.card_id))
        .order_by(ReviewLog.card_id, ReviewLog.reviewed_at.desc(), ReviewLog.id.desc())
        .subquery("last_review")
    )
    cards_then = (
        select(
            SrsCard.user_id,
            func.coalesce(last_review.c.state_after, CardState.NEW).label("state"),
            last_review.c.stability_after.label("stability"),
        )
        .outerjoin(last_review, last_review.c.card_id == SrsCard.id)
        .where(
            SrsCard.user_id.in_(active_users),
            or_(last_review.c.card_id.is_not(None), SrsCard.created_at < day_ends),
        )
        .subquery("cards_then")
    )
    words = (
        select(
            cards_then.c.user_id,
            *_state_counts(cards_then.c.state, cards_then.c.stability, mastered_stability_days),
        )
        .group_by(cards_then.c.user_id)
        .subquery("words")
    )
    total_xp = func.coalesce(xp_so_far.c.total_xp, 0)
    study_ms = active.c.lesson_ms + active.c.conversation_ms + active.c.review_ms
    values: dict[str, Expression] = {
        "user_id": active.c.user_id,
        "day": literal(day, Date),
        "total_xp": total_xp,
        "level": level_of(total_xp),
        "xp": active.c.xp,
        "current_streak": User.current_streak,
        "longest_streak": User.longest_streak,
        "lessons_completed": active.c.lessons,
        "reviews": active.c.reviews,
        "conversation_turns": active.c.turns,
        "answers": active.c.answers,
        "correct_answers": active.c.correct_answers,
        "minutes": func.round(study_ms / 60000.0),
        "words_new": func.coalesce(words.c.new, 0),
        "words_learning": func.coalesce(words.c.learning, 0),
        "words_review": func.coalesce(words.c.review, 0),
        "words_relearning": func.coalesce(words.c.relearning, 0),
        "words_mastered": func.coalesce(words.c.mastered, 0),
        "created_at": literal(now),
    }
    source = (
        select(*values.values())
        .select_from(active)
        .join(User, User.id == active.c.user_id)
        .outerjoin(xp_so_far, xp_so_far.c.user_id == active.c.user_id)
        .outerjoin(words, words.c.user_id == active.c.user_id)
    )
    stmt = insert(AnalyticsSnapshot).from_select(list(values), source)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AnalyticsSnapshot.user_id, AnalyticsSnapshot.day],
        set_={name: stmt.excluded[name] for name in values if name not in ("user_id", "day")},
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_snapshots_before(session: AsyncSession, cutoff: date) -> int:
    """Delete every snapshot of a day before `cutoff`; returns how many."""
    result = await session.execute(delete(AnalyticsSnapshot).where(AnalyticsSnapshot.day < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
