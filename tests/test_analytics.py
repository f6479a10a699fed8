"""Analytics: every figure equals the value computed by hand from a seeded history.

The learner lives in Asia/Tokyo (UTC+9, no daylight saving). The app's clock is frozen at
2026-03-02 12:00 UTC, which is 21:00 on Monday 2 March in Tokyo: "today" is 2 March and
several seeded events fall on another local day than their UTC day, so bucketing by UTC
would give other numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Integer, column, event, func, select

from linguo.analytics.repository import level_of
from linguo.content.importer import import_course
from linguo.content.librelingo import DEMO_COURSE_PATH, load_course
from linguo.core.db import Database
from linguo.gamification.levels import level_for_xp
from linguo.gamification.service import grant_gems
from linguo.gamification.shop import seed_shop_items
from linguo.models.content import Exercise, Lesson
from linguo.models.conversation import (
    ConversationMessage,
    ConversationSession,
    ErrorMemory,
    MessageRole,
    SessionStatus,
)
from linguo.models.gamification import (
    InventoryItem,
    StreakDay,
    StreakDayKind,
    XpLedgerEntry,
    XpSource,
)
from linguo.models.lessons import LessonAttempt, QuestionAttempt
from linguo.models.srs import (
    CardOrigin,
    CardState,
    Flashcard,
    ReviewLog,
    ReviewSource,
    SrsCard,
)
from linguo.providers.storage import LocalStorage
from tests.conftest import Clock, UserFactory, execute

API = "/api/v1/analytics"
TOKYO = "Asia/Tokyo"
ZONE = ZoneInfo(TOKYO)
ENDPOINTS = ("/summary", "/statistics", "/streak", "/vocabulary", "/errors")


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == code, body
    return body


@dataclass
class Seeded:
    user_id: uuid.UUID
    headers: dict[str, str]
    course_id: uuid.UUID
    word_ids: list[int]


async def seed_history(
    database: Database,
    user_factory: UserFactory,
    demo_vocabulary: dict[tuple[str, str], int],
    tmp_path: Path,
) -> Seeded:
    """A learner in Tokyo with two weeks of lessons, reviews, conversations, XP and streak."""
    user, headers, _ = await user_factory(timezone=TOKYO)
    user_id = uuid.UUID(user["id"])
    async with database.session() as session:
        report = await import_course(
            session, load_course(DEMO_COURSE_PATH), storage=LocalStorage(tmp_path), tts=None
        )
    async with database.session() as session:
        lesson = (
            await session.scalars(
                select(Lesson).where(Lesson.course_id == report.course_id).limit(1)
            )
        ).one()
        exercises = list(
            (
                await session.scalars(
                    select(Exercise.id).where(Exercise.lesson_id == lesson.id).limit(4)
                )
            ).all()
        )
        assert len(exercises) == 4
        word_ids = sorted(demo_vocabulary.values())[:8]

        def attempt(
            started: str, finished: str | None, spent_ms: int | None, passed: bool
        ) -> LessonAttempt:
            row = LessonAttempt(
                id=uuid.uuid4(),
                user_id=user_id,
                lesson_id=lesson.id,
                course_id=lesson.course_id,
                lesson_content_version=1,
                exercise_ids=exercises,
                started_at=at(started),
                finished_at=at(finished) if finished else None,
                score=1.0 if passed else (0.25 if finished else None),
                passed=passed if finished else None,
                xp_earned=(15 if passed else 0) if finished else None,
                time_spent_ms=spent_ms,
            )
            session.add(row)
            return row

        # Lesson attempts. A2 finishes at 00:05 on 2 March in Tokyo (1 March in UTC); A3's
        # stored 2 hours count as the 60-minute cap; A4 is unfinished and counts nothing.
        a1 = attempt("2026-03-02 10:00", "2026-03-02 10:12", 720_000, True)
        a2 = attempt("2026-03-01 14:50", "2026-03-01 15:05", 900_000, True)
        a3 = attempt("2026-02-27 03:00", "2026-02-27 05:00", 7_200_000, False)
        attempt("2026-03-02 11:00", None, None, False)
        await session.flush()

        def answer(
            row: LessonAttempt, index: int, when: str, correct: bool, number: int = 1
        ) -> None:
            session.add(
                QuestionAttempt(
                    attempt_id=row.id,
                    exercise_id=exercises[index],
                    answer="x",
                    correct=correct,
                    typo=False,
                    attempt_number=number,
                    answered_at=at(when),
                )
            )

        for index in range(4):  # A1: 4 first answers, all right (2 March local)
            answer(a1, index, "2026-03-02 10:05", True)
        # A2: 3 first answers at 23:55 on 1 March local, 2 right; the retry does not count.
        answer(a2, 0, "2026-03-01 14:55", True)
        answer(a2, 1, "2026-03-01 14:55", True)
        answer(a2, 2, "2026-03-01 14:55", False)
        answer(a2, 2, "2026-03-01 14:56", True, number=2)
        for index in range(4):  # A3: 4 first answers, 1 right (27 February local)
            answer(a3, index, "2026-02-27 03:30", index == 0)

        # Cards: 8 words (French) and one own flashcard (Spanish), all created 1 February.
        created = at("2026-02-01 00:00")
        flashcard = Flashcard(
            user_id=user_id, language="es", source_language="en", front="el gato", back="cat"
        )
        session.add(flashcard)
        await session.flush()

        def card(
            state: CardState,
            stability: float | None,
            due: str,
            *,
            word_index: int | None = None,
        ) -> SrsCard:
            row = SrsCard(
                id=uuid.uuid4(),
                user_id=user_id,
                word_id=word_ids[word_index] if word_index is not None else None,
                flashcard_id=None if word_index is not None else flashcard.id,
                state=state,
                stability=stability,
                difficulty=None if stability is None else 5.0,
                due=at(due),
                origin=CardOrigin.REVIEW,
                created_at=created,
            )
            session.add(row)
            return row

        card(CardState.NEW, None, "2026-02-01 00:00", word_index=0)  # C1 new
        card(CardState.NEW, None, "2026-02-01 00:00", word_index=1)  # C2 new
        card(CardState.LEARNING, 1.0, "2026-03-02 13:00", word_index=2)  # C3 22:00 today
        c4 = card(CardState.REVIEW, 30.0, "2026-03-05 00:00", word_index=3)  # mastered
        c5 = card(CardState.REVIEW, 10.0, "2026-03-01 00:00", word_index=4)  # overdue
        card(CardState.RELEARNING, 2.0, "2026-03-02 14:00", word_index=5)  # 23:00 today
        card(CardState.REVIEW, 21.0, "2026-03-02 15:30", word_index=6)  # mastered; 00:30 tmrw
        card(CardState.REVIEW, 50.0, "2026-03-08 15:00", word_index=7)  # mastered; 9 Mar 00:00
        card(CardState.LEARNING, 1.0, "2026-03-08 14:00")  # flashcard; 23:00 on 8 March
        await session.flush()

        def review(
            row: SrsCard,
            when: str,
            rating: int,
            duration_ms: int | None,
            source: ReviewSource = ReviewSource.QUEUE,
        ) -> None:
            session.add(
                ReviewLog(
                    card_id=row.id,
                    user_id=user_id,
                    rating=rating,
                    source=source,
                    reviewed_at=at(when),
                    duration_ms=duration_ms,
                    state_before=CardState.REVIEW,
                    state_after=CardState.REVIEW,
                    stability_before=row.stability,
                    stability_after=row.stability or 1.0,
                    difficulty_before=5.0,
                    difficulty_after=5.0,
                    due_before=row.due,
                    due_after=row.due,
                )
            )

        review(c4, "2026-03-02 11:00", 2, 20_000)  # R1 right, 2 March
        review(c4, "2026-03-02 11:01", 0, 15_000)  # R2 again = wrong, 2 March
        review(c4, "2026-03-01 16:00", 3, 300_000)  # R3 01:00 on 2 March local; capped to 1 min
        review(c5, "2026-02-28 02:00", 1, None)  # R4 hard = right, 28 February
        review(c5, "2026-03-02 10:12", 2, 5_000, ReviewSource.LESSON)  # lesson practice

        # Conversations: S1 lasts 20 minutes; S2 was left open 11 hours (capped at 180
        # minutes), its second turn falls on 28 February local; S3 has no turn.
        def talk(**fields: Any) -> ConversationSession:
            return ConversationSession(
                user_id=user_id,
                conversation_style="tutor",
                language="fr",
                native_language="en",
                level="A1",
                **fields,
            )

        s1 = talk(
            status=SessionStatus.COMPLETED,
            planned_duration_minutes=15,
            started_at=at("2026-03-02 09:00"),
            last_activity_at=at("2026-03-02 09:20"),
            turn_count=3,
            error_free_turns=1,
            error_count=3,
        )
        s2 = talk(
            status=SessionStatus.PAUSED,
            planned_duration_minutes=30,
            started_at=at("2026-02-27 14:00"),
            last_activity_at=at("2026-02-28 01:00"),
            turn_count=2,
            error_free_turns=2,
            error_count=0,
        )
        s3 = talk(
            status=SessionStatus.ABANDONED,
            planned_duration_minutes=10,
            started_at=at("2026-03-01 10:00"),
            last_activity_at=at("2026-03-01 10:30"),
        )
        session.add_all([s1, s2, s3])
        await session.flush()
        for number, (conversation, when) in enumerate(
            [
                (s1, "2026-03-02 09:05"),
                (s1, "2026-03-02 09:10"),
                (s1, "2026-03-02 09:20"),
                (s2, "2026-02-27 14:30"),
                (s2, "2026-02-27 15:30"),
            ],
            start=1,
        ):
            for role in (MessageRole.USER, MessageRole.ASSISTANT):  # assistant turns don't count
                session.add(
                    ConversationMessage(
                        session_id=conversation.id,
                        role=role,
                        content="Bonjour",
                        turn_number=number,
                        created_at=at(when),
                    )
                )
        session.add(  # greeting-only session's assistant message
            ConversationMessage(
                session_id=s3.id,
                role=MessageRole.ASSISTANT,
                content="Salut",
                turn_number=0,
                created_at=at("2026-03-01 10:00"),
            )
        )

        # XP ledger (total 138) and the matching users.total_xp.
        for source, reference, amount, when in (
            (XpSource.LESSON, "a1", 15, "2026-03-02 10:12"),
            (XpSource.LESSON, "a2", 10, "2026-03-01 15:05"),  # 2 March local
            (XpSource.REVIEW, "r1", 1, "2026-03-02 11:00"),
            (XpSource.REVIEW, "r2", 1, "2026-03-02 11:01"),
            (XpSource.REVIEW, "r3", 1, "2026-03-01 16:00"),  # 2 March local
            (XpSource.REVIEW, "r4", 1, "2026-02-28 02:00"),
            (XpSource.CONVERSATION, "s1", 5, "2026-03-02 09:20"),
            (XpSource.CONVERSATION, "s2", 4, "2026-02-27 14:30"),
            (XpSource.BONUS, "welcome", 100, "2026-02-10 00:00"),
        ):
            instant = at(when)
            session.add(
                XpLedgerEntry(
                    user_id=user_id,
                    source=source,
                    reference=reference,
                    base_amount=amount,
                    multiplier=1,
                    amount=amount,
                    local_date=instant.astimezone(ZONE).date(),
                    created_at=instant,
                )
            )

        # Streak calendar: a 6-day run 10..15 February; then 24 A, 25 F, 26-28 A, 2 March A.
        # 1 March was missed: settling it spends one of the two equipped freezes.
        days = [(f"2026-02-{day:02d}", StreakDayKind.ACTIVE) for day in range(10, 16)]
        days += [
            ("2026-02-24", StreakDayKind.ACTIVE),
            ("2026-02-25", StreakDayKind.FROZEN),
            ("2026-02-26", StreakDayKind.ACTIVE),
            ("2026-02-27", StreakDayKind.ACTIVE),
            ("2026-02-28", StreakDayKind.ACTIVE),
            ("2026-03-02", StreakDayKind.ACTIVE),
        ]
        for day, kind in days:
            session.add(
                StreakDay(
                    user_id=user_id,
                    day=datetime.fromisoformat(day).date(),
                    kind=kind,
                    timezone=TOKYO,
                    created_at=created,
                )
            )

        # Error memory: 5 errors in 3 categories.
        for language, code, category, occurrences, last_seen in (
            ("fr", "gender_agreement", "grammar", 5, "2026-03-02 09:20"),
            ("fr", "accent_missing", "spelling", 3, "2026-03-01 10:00"),
            ("fr", "verb_conjugation", "grammar", 3, "2026-02-27 14:30"),
            ("fr", "wrong_word", "vocabulary", 2, "2026-02-28 01:00"),
            ("es", "ser_estar", "grammar", 1, "2026-02-20 12:00"),
        ):
            session.add(
                ErrorMemory(
                    user_id=user_id,
                    language=language,
                    code=code,
                    category=category,
                    occurrences=occurrences,
                    last_seen_at=at(last_seen),
                    example=f"example of {code}",
                    suggestion=f"fix {code}",
                    explanation=f"why {code}",
                )
            )
    # Stored figures left stale on purpose: reading analytics settles the streak first.
    await execute(
        database,
        "UPDATE users SET total_xp = 138, current_streak = 0, longest_streak = 0 WHERE id = :u",
        u=user_id,
    )
    async with database.session() as session:
        await seed_shop_items(session)
    async with database.session() as session:
        session.add(
            InventoryItem(user_id=user_id, item_id="streak_freeze", quantity=2, updated_at=created)
        )
    return Seeded(user_id, headers, report.course_id, word_ids)


@pytest.fixture
async def seeded(
    database: Database,
    user_factory: UserFactory,
    demo_vocabulary: dict[tuple[str, str], int],
    tmp_path: Path,
    clock: Clock,
) -> Seeded:
    return await seed_history(database, user_factory, demo_vocabulary, tmp_path)


# --------------------------------------------------------------------------- figures


async def test_summary_figures_equal_the_hand_computed_values(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    response = await client.get(f"{API}/summary", headers=seeded.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "today": "2026-03-02",  # 21:00 in Tokyo
        "timezone": TOKYO,
        # 15 + 10 + 4 reviews x 1 + 5 + 4 + 100 = 138 XP: level 2 (50 XP) of 3 (150 XP),
        # (138 - 50) / (150 - 50) = 0.88 of the way.
        "xp": 138,
        "level": 2,
        "level_xp": 50,
        "next_level_xp": 150,
        "level_progress": 0.88,
        # Settled first: 1 March is frozen with one of the two freezes, so the run 24 Feb ..
        # 2 Mar holds 5 active days (24, 26, 27, 28, 2); the best run is 10..15 Feb (6).
        "current_streak": 5,
        "longest_streak": 6,
        # Finished attempts A1, A2, A3; conversations S1, S2 (S3 has no turn).
        "sessions": {"total": 5, "lessons": 3, "conversations": 2},
        "minutes": {
            "total": 289,
            "lessons": 87,  # 12 + 15 + 60 (A3's 120 capped)
            "conversations": 200,  # 20 + 180 (S2's 11 hours capped)
            "reviews": 2,  # 20 s + 15 s + 60 s (R3's 300 s capped) + 0 s = 95 s, rounded
        },
        "reviews": 4,  # queue reviews R1..R4; the lesson practice log is not one
        # First answers 4 + 3 + 4 = 11 (7 right) and reviews 4 (3 right): 10 / 15.
        "accuracy": 0.6667,
        "words": {
            "new": 2,
            "learning": 2,  # C3 and the flashcard
            "review": 4,
            "relearning": 1,
            "mastered": 3,  # review with stability 30, 21 and 50 (not 10)
            "total": 9,
        },
        # Due before 3 March 00:00 Tokyo (2 Mar 15:00 UTC): C3, C5 (overdue), C6.
        "reviews_due_today": 3,
        # Before 9 March 00:00 Tokyo: also C7, C4 and the flashcard; C8 (9 Mar 00:00) not.
        "reviews_due_next_7_days": 6,
    }
    streak = await client.get("/api/v1/me/streak", headers=seeded.headers)
    assert (streak.json()["current"], streak.json()["longest"]) == (5, 6)


def _day(date: str, **figures: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "date": date,
        "xp": 0,
        "lessons": 0,
        "conversations": 0,
        "conversation_turns": 0,
        "reviews": 0,
        "answers": 0,
        "correct_answers": 0,
        "accuracy": None,
        "minutes": 0,
    }
    return base | figures


async def test_statistics_give_one_entry_per_local_day(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    response = await client.get(f"{API}/statistics?days=7", headers=seeded.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["days"], body["timezone"], body["start"], body["end"]) == (
        7,
        TOKYO,
        "2026-02-24",
        "2026-03-02",
    )
    assert body["series"] == [
        _day("2026-02-24"),
        _day("2026-02-25"),
        _day("2026-02-26"),
        # A3 (60 min capped) and S2 started 23:00 (180 min capped), its first turn 23:30
        # and 4 XP; A3's first answers 1 of 4 right.
        _day(
            "2026-02-27",
            xp=4,
            lessons=1,
            conversations=1,
            conversation_turns=1,
            answers=4,
            correct_answers=1,
            accuracy=0.25,
            minutes=240,
        ),
        # R4 (hard = right, no response time) and S2's second turn at 00:30.
        _day(
            "2026-02-28",
            xp=1,
            conversation_turns=1,
            reviews=1,
            answers=1,
            correct_answers=1,
            accuracy=1.0,
        ),
        # A2's first answers at 23:55 (2 of 3 right); its finish is after midnight.
        _day("2026-03-01", answers=3, correct_answers=2, accuracy=0.6667),
        # XP 15 + 10 + 1 + 1 + 1 + 5; A1 and A2; S1 with 3 turns; R1, R2, R3;
        # answers 4 (A1, right) + 3 reviews (2 right); minutes 12 + 15 + 20 + (20 + 15 +
        # 60) s = 48.6, rounded to 49.
        _day(
            "2026-03-02",
            xp=33,
            lessons=2,
            conversations=1,
            conversation_turns=3,
            reviews=3,
            answers=7,
            correct_answers=6,
            accuracy=0.8571,
            minutes=49,
        ),
    ]
    assert body["totals"] == {
        "xp": 38,
        "lessons": 3,
        "conversations": 2,
        "conversation_turns": 5,
        "reviews": 4,
        "answers": 15,
        "correct_answers": 10,
        "accuracy": 0.6667,
        "minutes": 289,  # 17,315 s in all = 288.6 minutes
        "active_days": 4,
    }

    # The default window is 30 days (3 Feb .. 2 Mar) and reaches the 100 XP bonus of 10 Feb.
    month = (await client.get(f"{API}/statistics", headers=seeded.headers)).json()
    assert (month["days"], month["start"], len(month["series"])) == (30, "2026-02-01", 30)
    assert month["totals"]["xp"] == 138
    assert month["totals"]["active_days"] == 5
    assert [day["xp"] for day in month["series"] if day["date"] == "2026-02-10"] == [100]


async def test_streak_window_marks_each_day(client: httpx.AsyncClient, seeded: Seeded) -> None:
    response = await client.get(f"{API}/streak?window_days=7", headers=seeded.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "current": 5,
        "longest": 6,
        "freezes_equipped": 1,  # two equipped, one spent on 1 March when settling
        "today": "2026-03-02",
        "today_done": True,
        "window_days": 7,
        "active_days": 5,
        "frozen_days": 2,
        "missed_days": 0,
        "active_ratio": 0.7143,  # 5 / 7
        "calendar": [
            {"date": "2026-02-24", "status": "active"},
            {"date": "2026-02-25", "status": "frozen"},
            {"date": "2026-02-26", "status": "active"},
            {"date": "2026-02-27", "status": "active"},
            {"date": "2026-02-28", "status": "active"},
            {"date": "2026-03-01", "status": "frozen"},
            {"date": "2026-03-02", "status": "active"},
        ],
    }
    # 30 days from 1 February: 6 + 5 active, 2 frozen, the other 17 missed.
    month = (await client.get(f"{API}/streak", headers=seeded.headers)).json()
    assert (month["window_days"], len(month["calendar"])) == (30, 30)
    assert month["calendar"][0] == {"date": "2026-02-01", "status": "missed"}
    assert (month["active_days"], month["frozen_days"], month["missed_days"]) == (11, 2, 17)
    assert month["active_ratio"] == 0.3667


async def test_vocabulary_counts_cards_by_state_and_language(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    response = await client.get(f"{API}/vocabulary", headers=seeded.headers)
    assert response.status_code == 200, response.text
    french = {"new": 2, "learning": 1, "review": 4, "relearning": 1, "mastered": 3, "total": 8}
    spanish = {"new": 0, "learning": 1, "review": 0, "relearning": 0, "mastered": 0, "total": 1}
    assert response.json() == {
        "new": 2,
        "learning": 2,
        "review": 4,
        "relearning": 1,
        "mastered": 3,
        "total": 9,
        "by_language": [{"language": "fr", **french}, {"language": "es", **spanish}],
    }


async def test_errors_rank_the_most_frequent(client: httpx.AsyncClient, seeded: Seeded) -> None:
    response = await client.get(f"{API}/errors?limit=2", headers=seeded.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_occurrences"] == 14  # 5 + 3 + 3 + 2 + 1
    assert body["distinct_errors"] == 5
    assert body["categories"] == [
        {
            "category": "grammar",
            "occurrences": 9,
            "errors": 3,
            "last_seen_at": "2026-03-02T09:20:00Z",
            "share": 0.6429,
        },
        {
            "category": "spelling",
            "occurrences": 3,
            "errors": 1,
            "last_seen_at": "2026-03-01T10:00:00Z",
            "share": 0.2143,
        },
        {
            "category": "vocabulary",
            "occurrences": 2,
            "errors": 1,
            "last_seen_at": "2026-02-28T01:00:00Z",
            "share": 0.1429,
        },
    ]
    # Ties (3 occurrences) go to the one seen last.
    assert [(error["code"], error["occurrences"]) for error in body["top"]] == [
        ("gender_agreement", 5),
        ("accent_missing", 3),
    ]
    assert body["top"][0] == {
        "code": "gender_agreement",
        "category": "grammar",
        "language": "fr",
        "occurrences": 5,
        "last_seen_at": "2026-03-02T09:20:00Z",
        "example": "example of gender_agreement",
        "suggestion": "fix gender_agreement",
        "explanation": "why gender_agreement",
    }
    # Turns 3 + 2 + 0, with errors (3 - 1) + (2 - 2), errors found 3 + 0.
    assert body["conversations"] == {
        "turns": 5,
        "turns_with_errors": 2,
        "errors": 3,
        "error_rate": 0.4,
    }
    default = (await client.get(f"{API}/errors", headers=seeded.headers)).json()
    assert [error["code"] for error in default["top"]] == [
        "gender_agreement",
        "accent_missing",
        "verb_conjugation",
        "wrong_word",
        "ser_estar",
    ]


async def test_a_new_learner_gets_zeros_and_nulls(
    client: httpx.AsyncClient, user_factory: UserFactory, clock: Clock
) -> None:
    _, headers, _ = await user_factory()
    summary = (await client.get(f"{API}/summary", headers=headers)).json()
    assert (summary["xp"], summary["level"], summary["accuracy"]) == (0, 1, None)
    assert summary["words"]["total"] == 0
    streak = (await client.get(f"{API}/streak?window_days=7", headers=headers)).json()
    # Today is not over: pending, not missed.
    assert [day["status"] for day in streak["calendar"]] == ["missed"] * 6 + ["pending"]
    assert (streak["today_done"], streak["missed_days"]) == (False, 6)
    errors = (await client.get(f"{API}/errors", headers=headers)).json()
    assert errors["conversations"]["error_rate"] is None
    assert errors["top"] == []


# --------------------------------------------------------------------------- caching


async def test_figures_are_cached_until_the_learner_acts(
    client: httpx.AsyncClient,
    seeded: Seeded,
    database: Database,
    demo_vocabulary: dict[tuple[str, str], int],
) -> None:
    first = (await client.get(f"{API}/summary", headers=seeded.headers)).json()
    vocabulary = (await client.get(f"{API}/vocabulary", headers=seeded.headers)).json()
    progress = (await client.get("/api/v1/me/progress/summary", headers=seeded.headers)).json()
    assert [course["xp"] for course in progress["courses"]] == [0]
    # Changed behind the API's back: the cached answers stay as they were.
    await execute(database, "UPDATE users SET total_xp = 5000 WHERE id = :u", u=seeded.user_id)
    await execute(
        database, "UPDATE srs_cards SET state = 'review' WHERE user_id = :u", u=seeded.user_id
    )
    await execute(
        database,
        "INSERT INTO lesson_progress (user_id, lesson_id, course_id, best_score, "
        "attempts_finished, xp_earned, last_finished_at) SELECT user_id, lesson_id, "
        "course_id, 1, 1, 99, finished_at FROM lesson_attempts WHERE user_id = :u "
        "AND finished_at IS NOT NULL LIMIT 1",
        u=seeded.user_id,
    )
    assert (await client.get(f"{API}/summary", headers=seeded.headers)).json() == first
    assert (await client.get(f"{API}/vocabulary", headers=seeded.headers)).json() == vocabulary
    again = (await client.get("/api/v1/me/progress/summary", headers=seeded.headers)).json()
    assert again == progress

    # A review invalidates every cached figure of the learner at once.
    reviewed = await client.post(
        "/api/v1/progress/review",
        headers=seeded.headers,
        json={"word_id": sorted(demo_vocabulary.values())[8], "rating": 2},  # a new card
    )
    assert reviewed.status_code == 200, reviewed.text
    fresh = (await client.get(f"{API}/summary", headers=seeded.headers)).json()
    assert fresh["xp"] == 5001  # the row changed behind our back plus the review's XP
    assert fresh["reviews"] == 5
    assert (fresh["words"]["review"], fresh["words"]["total"]) == (9, 10)
    assert (await client.get(f"{API}/vocabulary", headers=seeded.headers)).json()["total"] == 10
    progress = (await client.get("/api/v1/me/progress/summary", headers=seeded.headers)).json()
    assert [course["xp"] for course in progress["courses"]] == [99]


async def test_a_cached_read_only_looks_up_the_generation(
    client: httpx.AsyncClient, seeded: Seeded, app: FastAPI
) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.db.engine.sync_engine
    await client.get(f"{API}/statistics?days=14", headers=seeded.headers)
    event.listen(engine, "before_cursor_execute", count)
    try:
        await client.get(f"{API}/statistics?days=14", headers=seeded.headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Beyond loading the caller: one generation lookup, and no table of activity is read.
    assert sum("cache_generations" in statement for statement in statements) == 1, statements
    activity = ("xp_ledger", "lesson_attempts", "srs_review_logs", "conversation_sessions")
    assert not [s for s in statements if any(table in s for table in activity)], statements


async def test_other_learners_and_other_parameters_have_their_own_entries(
    client: httpx.AsyncClient, seeded: Seeded, user_factory: UserFactory
) -> None:
    _, other_headers, _ = await user_factory()
    mine = (await client.get(f"{API}/statistics?days=7", headers=seeded.headers)).json()
    theirs = (await client.get(f"{API}/statistics?days=7", headers=other_headers)).json()
    assert mine["totals"]["xp"] == 38
    assert theirs["totals"]["xp"] == 0
    longer = await client.get(f"{API}/statistics?days=8", headers=seeded.headers)
    assert len(longer.json()["series"]) == 8


async def test_a_purchase_and_a_new_time_zone_refresh_the_figures(
    client: httpx.AsyncClient, seeded: Seeded, database: Database, clock: Clock
) -> None:
    streak = (await client.get(f"{API}/streak", headers=seeded.headers)).json()
    assert streak["freezes_equipped"] == 1
    async with database.session() as session:
        await grant_gems(session, seeded.user_id, 500, reference="test", at=clock.now)
    bought = await client.post("/api/v1/shop/streak_freeze/purchase", headers=seeded.headers)
    assert bought.status_code == 201, bought.text
    streak = (await client.get(f"{API}/streak", headers=seeded.headers)).json()
    assert streak["freezes_equipped"] == 2

    # In New York it is still 07:00 on 2 March... and a day is bucketed in the new zone.
    changed = await client.patch(
        "/api/v1/users/me", headers=seeded.headers, json={"timezone": "America/New_York"}
    )
    assert changed.status_code == 200, changed.text
    summary = (await client.get(f"{API}/summary", headers=seeded.headers)).json()
    assert (summary["timezone"], summary["today"]) == ("America/New_York", "2026-03-02")
    week = (await client.get(f"{API}/statistics?days=7", headers=seeded.headers)).json()
    # A2 finished on 1 March 10:05 in New York now.
    by_day = {day["date"]: day for day in week["series"]}
    assert by_day["2026-03-01"]["lessons"] == 1


async def test_a_new_local_day_is_a_new_entry(
    client: httpx.AsyncClient, seeded: Seeded, clock: Clock
) -> None:
    today = (await client.get(f"{API}/summary", headers=seeded.headers)).json()
    assert today["today"] == "2026-03-02"
    clock.advance(hours=4)  # 01:00 on 3 March in Tokyo
    tomorrow = (await client.get(f"{API}/summary", headers=seeded.headers)).json()
    assert tomorrow["today"] == "2026-03-03"
    assert tomorrow["current_streak"] == 5  # today not done yet keeps the run alive
    # The run reaching 2 March is kept; C7 (00:30 on 3 March) is now due today.
    assert tomorrow["reviews_due_today"] == 4


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "query",
    [
        "/statistics?days=6",
        "/statistics?days=181",
        "/statistics?days=abc",
        "/statistics?days=7.5",
        "/streak?window_days=6",
        "/streak?window_days=366",
        "/streak?window_days=x",
        "/errors?limit=0",
        "/errors?limit=26",
        "/errors?limit=ten",
    ],
)
async def test_out_of_range_parameters_are_422(
    client: httpx.AsyncClient, user_factory: UserFactory, query: str
) -> None:
    _, headers, _ = await user_factory()
    assert_error(await client.get(f"{API}{query}", headers=headers), 422, "validation_error")


async def test_parameters_at_their_bounds_are_accepted(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory()
    for query, length in (
        ("/statistics?days=7", 7),
        ("/statistics?days=180", 180),
        ("/streak?window_days=7", 7),
        ("/streak?window_days=365", 365),
    ):
        response = await client.get(f"{API}{query}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body.get("series", body.get("calendar"))) == length
    for limit in (1, 25):
        assert (await client.get(f"{API}/errors?limit={limit}", headers=headers)).status_code == 200


@pytest.mark.parametrize("path", [*ENDPOINTS])
async def test_analytics_need_a_token(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(f"{API}{path}"), 401, "not_authenticated")
    bad = {"Authorization": "Bearer nope"}
    assert_error(await client.get(f"{API}{path}", headers=bad), 401, "invalid_token")


async def test_the_progress_summary_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/me/progress/summary"), 401, "not_authenticated")


async def test_the_sql_level_equals_the_python_level(database: Database) -> None:
    xp = func.generate_series(0, 30_000).table_valued(column("xp", Integer)).render_derived()
    async with database.session() as session:
        rows = (await session.execute(select(xp.c.xp, level_of(xp.c.xp)))).all()
    assert len(rows) == 30_001
    assert all(level == level_for_xp(total) for total, level in rows)
