"""Courses and lessons through HTTP, on LibreLingo's Spanish course imported for real.

Covers the catalogue (published only, lesson statuses, ETag), playing a lesson (answers never
sent, typos, wrong answers, hearts, finishing twice), what passing does (next lesson
unlocked, words in the review queue, progress summary) and every refusal.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update

from linguo.content.importer import import_course
from linguo.content.librelingo import DEMO_COURSE_PATH, CourseSpec, load_course
from linguo.content.media import default_tts, storage_from_settings
from linguo.core.db import Database
from linguo.core.events import events
from linguo.language.answers import check_answer
from linguo.lessons.service import XP_LESSON_PASSED, XP_PERFECT_BONUS, LessonCompleted
from linguo.models.identity import Plan, Role, User
from tests.conftest import SPANISH_COURSE, Clock, UserFactory, execute, scalar

API = "/api/v1"


@functools.cache
def course_spec(path: str) -> CourseSpec:
    return load_course(SPANISH_COURSE if path == "spanish" else DEMO_COURSE_PATH)


async def import_spanish(app: FastAPI, database: Database, *, publish: bool = True) -> str:
    """Import LibreLingo's Spanish course (without audio, for speed); returns its id."""
    async with database.session() as session:
        report = await import_course(
            session,
            course_spec("spanish"),
            storage=storage_from_settings(app.state.settings),
            tts=None,
            publish=publish,
        )
    return str(report.course_id)


@pytest.fixture
async def spanish(app: FastAPI, database: Database) -> str:
    return await import_spanish(app, database)


@pytest.fixture
async def learner(user_factory: UserFactory) -> dict[str, str]:
    _, headers, _ = await user_factory()
    return headers


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return dict(error)


async def outline(client: httpx.AsyncClient, course_id: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"{API}/courses/{course_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def lessons_of(course: dict[str, Any]) -> list[dict[str, Any]]:
    return [lesson for unit in course["units"] for lesson in unit["lessons"]]


async def exercise_answers(database: Database, exercise_ids: list[str]) -> dict[str, list[str]]:
    async with database.session() as session:
        rows = await session.execute(
            text("SELECT id::text, answers FROM exercises WHERE id::text = ANY(:ids)"),
            {"ids": exercise_ids},
        )
        return {exercise_id: list(answers) for exercise_id, answers in rows.all()}


def typo_of(answer: str, language: str) -> str | None:
    """A slip of `answer` that the checker forgives as a typo, if there is one."""
    candidates = [
        answer.replace("á", "a").replace("é", "e").replace("í", "i").replace("ó", "o"),
        answer.replace("ñ", "n").replace("ú", "u"),
    ]
    for index, char in enumerate(answer):
        if char.isalpha():
            candidates.append(answer[:index] + char + answer[index:])  # a doubled letter
    for candidate in candidates:
        if candidate != answer:
            verdict = check_answer(candidate, [answer], language)
            if verdict.correct and verdict.typo:
                return candidate
    return None


async def start_first_lesson(
    client: httpx.AsyncClient, course_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    """A new attempt of the course's first lesson (its exercises and id)."""
    first = lessons_of(await outline(client, course_id, headers))[0]
    started = await client.post(f"{API}/lessons/{first['id']}/start", headers=headers)
    assert started.status_code == 201, started.text
    return dict(started.json())


async def answer(
    client: httpx.AsyncClient, attempt_id: str, exercise_id: str, text_: str, headers: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/attempts/{attempt_id}/answers",
        json={"exercise_id": exercise_id, "answer": text_},
        headers=headers,
    )


@pytest.fixture
def completed_events() -> Iterator[list[LessonCompleted]]:
    seen: list[LessonCompleted] = []

    async def remember(_session: Any, event: LessonCompleted) -> None:
        seen.append(event)

    events.subscribe(LessonCompleted)(remember)
    yield seen
    events._handlers[LessonCompleted].remove(remember)


# --- catalogue ---------------------------------------------------------------------------


async def test_catalogue_lists_published_courses_only(
    client: httpx.AsyncClient, app: FastAPI, database: Database, learner: dict[str, str]
) -> None:
    spanish = await import_spanish(app, database)
    async with database.session() as session:
        draft = await import_course(
            session,
            course_spec("demo"),
            storage=storage_from_settings(app.state.settings),
            tts=None,
            publish=False,
        )

    listed = (await client.get(f"{API}/courses")).json()  # public: no token needed
    assert [course["id"] for course in listed] == [spanish]
    (course,) = listed
    assert course["language"] == "es" and course["source_language"] == "en"
    assert course["lesson_count"] == 11 and course["unit_count"] >= 1
    assert course["license_name"] and course["content_version"] == 1
    assert (await client.get(f"{API}/courses", params={"language": "fr"})).json() == []
    assert len((await client.get(f"{API}/courses", params={"language": "es"})).json()) == 1
    assert_error(
        await client.get(f"{API}/courses", params={"language": "Spanish"}), 422, "validation_error"
    )

    # The unpublished course is invisible, as are its lessons.
    assert_error(
        await client.get(f"{API}/courses/{draft.course_id}", headers=learner), 404, "not_found"
    )
    draft_lesson = await scalar(
        database, "SELECT id::text FROM lessons WHERE course_id = :c LIMIT 1", c=draft.course_id
    )
    assert_error(
        await client.post(f"{API}/lessons/{draft_lesson}/start", headers=learner), 404, "not_found"
    )
    assert_error(
        await client.get(f"{API}/courses/{uuid.uuid4()}", headers=learner), 404, "not_found"
    )
    assert_error(await client.get(f"{API}/courses/{spanish}"), 401, "not_authenticated")


async def test_course_outline_statuses_and_etag(
    client: httpx.AsyncClient, spanish: str, learner: dict[str, str]
) -> None:
    response = await client.get(f"{API}/courses/{spanish}", headers=learner)
    course = response.json()
    etag = response.headers["etag"]
    lessons = lessons_of(course)
    assert len(lessons) == 11
    assert [lesson["status"] for lesson in lessons] == ["available"] + ["locked"] * 10
    assert lessons[0]["prerequisite_lesson_id"] is None
    for previous, lesson in itertools.pairwise(lessons):
        assert lesson["prerequisite_lesson_id"] == previous["id"]
    assert all(lesson["exercise_count"] > 0 and lesson["word_count"] > 0 for lesson in lessons)
    assert all(0 < lesson["pass_score"] <= 1 for lesson in lessons)

    again = await client.get(f"{API}/courses/{spanish}", headers={**learner, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get(
        f"{API}/courses/{spanish}", headers={**learner, "If-None-Match": '"something-else"'}
    )
    assert other.status_code == 200


# --- playing a lesson --------------------------------------------------------------------


async def test_play_a_whole_lesson(
    client: httpx.AsyncClient,
    database: Database,
    spanish: str,
    learner: dict[str, str],
    completed_events: list[LessonCompleted],
    clock: Clock,
) -> None:
    before = await client.get(f"{API}/courses/{spanish}", headers=learner)
    first, second, third = lessons_of(before.json())[:3]

    started = await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)
    assert started.status_code == 201, started.text
    attempt = started.json()
    assert attempt["lesson_id"] == first["id"] and attempt["hearts"] == 5
    exercises = attempt["exercises"]
    assert 0 < len(exercises) <= 20
    difficulties = [exercise["difficulty"] for exercise in exercises]
    assert difficulties == sorted(difficulties), "easier exercises come first"
    for exercise in exercises:
        assert not {"answers", "distractors", "audio_text"} & set(exercise)
    answers = await exercise_answers(database, [exercise["id"] for exercise in exercises])
    for exercise in exercises:  # typed exercises give nothing away
        if not exercise["choices"]:
            shown = json.dumps(exercise, ensure_ascii=False).casefold()
            for accepted in answers[exercise["id"]]:
                assert accepted.casefold() not in shown

    attempt_id = attempt["attempt_id"]
    wrong_exercise = exercises[0]
    hearts = 5
    for exercise in exercises:
        accepted = answers[exercise["id"]][0]
        if exercise is wrong_exercise:
            response = await answer(client, attempt_id, exercise["id"], "zzz qqq", learner)
            result = response.json()
            hearts -= 1
            assert result["correct"] is False and result["typo"] is False
            assert result["expected"] == accepted
            assert result["feedback"]["message"]
        else:
            # Case, outer spaces and final punctuation never matter.
            shown = f"  {accepted.upper()}. " if not exercise["choices"] else accepted
            result = (await answer(client, attempt_id, exercise["id"], shown, learner)).json()
            assert result["correct"] is True and result["typo"] is False, (exercise, result)
            assert result["feedback"] is None
        assert result["hearts_left"] == hearts
        assert result["attempt_number"] == 1

    finished = await client.post(f"{API}/attempts/{attempt_id}/finish", headers=learner)
    assert finished.status_code == 200, finished.text
    result = finished.json()
    total = len(exercises)
    assert result["passed"] is True
    assert result["score"] == pytest.approx((total - 1) / total, abs=1e-4)
    assert result["correct_count"] == total - 1 and result["exercise_count"] == total
    assert result["xp_earned"] == XP_LESSON_PASSED  # one mistake: no perfect bonus
    assert result["hearts_left"] == 4
    assert result["unlocked_lesson_ids"] == [second["id"]]
    assert result["new_achievements"] == []

    # Finishing twice: the same result, nothing more awarded.
    again = await client.post(f"{API}/attempts/{attempt_id}/finish", headers=learner)
    assert again.json() == result
    assert len(completed_events) == 1
    assert completed_events[0].passed and completed_events[0].first_pass
    progress_xp = await scalar(database, "SELECT sum(xp_earned) FROM lesson_progress")
    assert progress_xp == XP_LESSON_PASSED
    # The attempt and each question attempt are on record.
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM question_attempts WHERE attempt_id = :a AND attempt_number = 1",
            a=uuid.UUID(attempt_id),
        )
        == total
    )
    assert await scalar(
        database, "SELECT score FROM lesson_attempts WHERE id = :a", a=uuid.UUID(attempt_id)
    ) == pytest.approx(result["score"])

    # After: the next lesson is open, the one after still locked, the ETag moved on.
    after = await client.get(
        f"{API}/courses/{spanish}", headers={**learner, "If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    statuses = {lesson["id"]: lesson for lesson in lessons_of(after.json())}
    assert statuses[first["id"]]["status"] == "passed"
    assert statuses[first["id"]]["best_score"] == pytest.approx(result["score"])
    assert statuses[second["id"]]["status"] == "available"
    assert statuses[third["id"]]["status"] == "locked"
    assert (
        await client.post(f"{API}/lessons/{second['id']}/start", headers=learner)
    ).status_code == 201

    # The lesson's words are in the learner's review queue.
    lesson_words = {
        row
        for row in (
            await scalar(
                database,
                "SELECT array_agg(word_id) FROM lesson_words WHERE lesson_id = :l",
                l=uuid.UUID(first["id"]),
            )
        )
    }
    carded = await scalar(
        database,
        "SELECT array_agg(word_id) FROM srs_cards WHERE origin = 'lesson' AND word_id IS NOT NULL",
    )
    assert lesson_words and lesson_words <= set(carded)
    reviewed = await scalar(
        database, "SELECT count(*) FROM srs_review_logs WHERE source = 'lesson'"
    )
    assert reviewed > 0
    clock.advance(days=1)  # words practised today are due again tomorrow
    queue = (
        await client.get(f"{API}/progress/queue", params={"limit": 50}, headers=learner)
    ).json()
    assert {item["word_id"] for item in queue} & lesson_words, queue

    summary = (await client.get(f"{API}/me/progress/summary", headers=learner)).json()
    (course_progress,) = summary["courses"]
    assert course_progress["course_id"] == spanish
    assert course_progress["lessons_passed"] == 1 and course_progress["lessons_total"] == 11
    assert course_progress["xp"] == XP_LESSON_PASSED
    assert course_progress["words_learned"] > 0 and course_progress["words_mastered"] == 0


async def test_perfect_lesson_earns_the_bonus(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    attempt = await start_first_lesson(client, spanish, learner)
    answers = await exercise_answers(database, [e["id"] for e in attempt["exercises"]])
    for exercise in attempt["exercises"]:
        response = await answer(
            client, attempt["attempt_id"], exercise["id"], answers[exercise["id"]][-1], learner
        )
        assert response.json()["correct"] is True
    result = (
        await client.post(f"{API}/attempts/{attempt['attempt_id']}/finish", headers=learner)
    ).json()
    assert result["score"] == 1.0
    assert result["xp_earned"] == XP_LESSON_PASSED + XP_PERFECT_BONUS


async def test_typos_count_as_right_and_cost_no_heart(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    first = lessons_of(await outline(client, spanish, learner))[0]
    slips: list[tuple[str, str, dict[str, Any]]] = []
    for _ in range(4):  # new material comes first; typed exercises follow in later attempts
        attempt = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
        answers = await exercise_answers(database, [e["id"] for e in attempt["exercises"]])
        for exercise in attempt["exercises"]:
            accepted = answers[exercise["id"]][0]
            slip = None if exercise["choices"] else typo_of(accepted, exercise["answer_language"])
            if slip is not None:
                slips.append((attempt["attempt_id"], slip, exercise))
                break
            await answer(client, attempt["attempt_id"], exercise["id"], accepted, learner)
        if slips:
            break
    assert slips, "a typed exercise to slip on"
    attempt_id, slip, exercise = slips[0]
    result = (await answer(client, attempt_id, exercise["id"], slip, learner)).json()
    assert result["correct"] is True and result["typo"] is True
    assert result["hearts_left"] == 5
    assert result["feedback"]["message"] and result["feedback"]["differences"]
    assert {difference["kind"] for difference in result["feedback"]["differences"]} <= {
        "typo",
        "accent",
    }


async def test_running_out_of_hearts_fails_the_attempt(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    first, second = lessons_of(await outline(client, spanish, learner))[:2]
    attempt = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
    exercises = attempt["exercises"]
    answers = await exercise_answers(database, [e["id"] for e in exercises])
    attempt_id = attempt["attempt_id"]
    for number, exercise in enumerate(exercises[:5], start=1):
        result = (await answer(client, attempt_id, exercise["id"], "nope nope", learner)).json()
        assert result["correct"] is False and result["hearts_left"] == 5 - number

    refused = await answer(
        client, attempt_id, exercises[5]["id"], answers[exercises[5]["id"]][0], learner
    )
    assert_error(refused, 409, "out_of_hearts")
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM question_attempts WHERE attempt_id = :a",
            a=uuid.UUID(attempt_id),
        )
        == 5
    )

    result = (await client.post(f"{API}/attempts/{attempt_id}/finish", headers=learner)).json()
    assert result["passed"] is False and result["xp_earned"] == 0 and result["score"] == 0
    assert result["unlocked_lesson_ids"] == []
    locked = await client.post(f"{API}/lessons/{second['id']}/start", headers=learner)
    error = assert_error(locked, 409, "lesson_locked")
    assert error["details"]["prerequisite_lesson_id"] == first["id"]
    assert_error(
        await answer(client, attempt_id, exercises[5]["id"], "x", learner), 409, "attempt_finished"
    )
    # A retry of the lesson starts with full hearts.
    retry = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
    assert retry["hearts"] == 5


async def test_premium_learners_have_unlimited_hearts(
    client: httpx.AsyncClient,
    database: Database,
    spanish: str,
    user_factory: UserFactory,
) -> None:
    user, headers, _ = await user_factory()
    async with database.session() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(user["id"])).values(plan=Plan.PREMIUM)
        )
    first = lessons_of(await outline(client, spanish, headers))[0]
    attempt = (await client.post(f"{API}/lessons/{first['id']}/start", headers=headers)).json()
    assert attempt["hearts"] is None
    for exercise in attempt["exercises"][:7]:
        result = (await answer(client, attempt["attempt_id"], exercise["id"], "no", headers)).json()
        assert result["correct"] is False and result["hearts_left"] is None


async def test_retrying_an_exercise_counts_attempts_but_not_the_score(
    client: httpx.AsyncClient,
    database: Database,
    spanish: str,
    learner: dict[str, str],
    user_factory: UserFactory,
) -> None:
    first = lessons_of(await outline(client, spanish, learner))[0]
    attempt = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
    exercise = attempt["exercises"][0]
    answers = await exercise_answers(database, [exercise["id"]])
    wrong = (await answer(client, attempt["attempt_id"], exercise["id"], "???", learner)).json()
    right = (
        await answer(
            client, attempt["attempt_id"], exercise["id"], answers[exercise["id"]][0], learner
        )
    ).json()
    assert (wrong["attempt_number"], right["attempt_number"]) == (1, 2)
    assert right["correct"] is True and right["hearts_left"] == 4
    # Editors see the exercise's statistics: only first answers count.
    _, admin, _ = await user_factory(Role.ADMIN)
    tree = (await client.get(f"{API}/admin/courses/{spanish}", headers=admin)).json()
    stats = {
        item["id"]: (item["attempt_count"], item["error_count"])
        for unit in tree["units"]
        for lesson in unit["lessons"]
        for item in lesson["exercises"]
    }
    assert stats[exercise["id"]] == (1, 1)
    assert sum(attempts for attempts, _ in stats.values()) == 1
    result = (
        await client.post(f"{API}/attempts/{attempt['attempt_id']}/finish", headers=learner)
    ).json()
    assert result["correct_count"] == 0


async def test_attempts_choose_least_practised_exercises(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    first = lessons_of(await outline(client, spanish, learner))[0]
    published = await scalar(
        database,
        "SELECT count(*) FROM exercises WHERE lesson_id = :l AND status = 'published'",
        l=uuid.UUID(first["id"]),
    )
    assert published > 20
    one = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
    assert len(one["exercises"]) == 20
    answers = await exercise_answers(database, [e["id"] for e in one["exercises"]])
    for exercise in one["exercises"]:
        await answer(client, one["attempt_id"], exercise["id"], answers[exercise["id"]][0], learner)
    two = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
    seen = {exercise["id"] for exercise in one["exercises"]}
    fresh = [exercise for exercise in two["exercises"] if exercise["id"] not in seen]
    assert len(fresh) == min(20, published - 20)


# --- refusals ----------------------------------------------------------------------------


async def test_bad_answers_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    database: Database,
    spanish: str,
    learner: dict[str, str],
    user_factory: UserFactory,
) -> None:
    lessons = lessons_of(await outline(client, spanish, learner))
    attempt = (await client.post(f"{API}/lessons/{lessons[0]['id']}/start", headers=learner)).json()
    attempt_id, exercise = attempt["attempt_id"], attempt["exercises"][0]
    url = f"{API}/attempts/{attempt_id}/answers"

    assert_error(
        await client.post(f"{API}/lessons/{lessons[1]['id']}/start", headers=learner),
        409,
        "lesson_locked",
    )
    assert_error(
        await client.post(f"{API}/lessons/{uuid.uuid4()}/start", headers=learner), 404, "not_found"
    )
    assert_error(
        await client.post(f"{API}/lessons/not-a-uuid/start", headers=learner),
        422,
        "validation_error",
    )
    other_exercise = await scalar(
        database,
        "SELECT id::text FROM exercises WHERE lesson_id = :l LIMIT 1",
        l=uuid.UUID(lessons[5]["id"]),
    )
    assert_error(
        await answer(client, attempt_id, other_exercise, "hola", learner), 400, "not_in_attempt"
    )
    assert_error(
        await answer(client, str(uuid.uuid4()), exercise["id"], "hola", learner), 404, "not_found"
    )
    for body in (
        {"exercise_id": exercise["id"]},
        {"answer": "hola"},
        {"exercise_id": "x", "answer": "hola"},
        {"exercise_id": exercise["id"], "answer": 5},
        {"exercise_id": exercise["id"], "answer": "a" * 2001},
        {"exercise_id": exercise["id"], "answer": "hola", "used_hint": "yes"},
        {"exercise_id": exercise["id"], "answer": "hola", "time_spent_ms": -1},
        {"exercise_id": exercise["id"], "answer": "ho\u0000la"},  # PostgreSQL cannot store NUL
    ):
        assert_error(await client.post(url, json=body, headers=learner), 422, "validation_error")

    # Someone else cannot see, answer or finish this attempt.
    _, stranger, _ = await user_factory()
    assert_error(
        await answer(client, attempt_id, exercise["id"], "hola", stranger), 404, "not_found"
    )
    assert_error(
        await client.post(f"{API}/attempts/{attempt_id}/finish", headers=stranger), 404, "not_found"
    )
    assert_error(
        await client.post(f"{API}/lessons/{lessons[0]['id']}/start"), 401, "not_authenticated"
    )

    assert await scalar(database, "SELECT count(*) FROM question_attempts") == 0
    assert (
        await scalar(
            database,
            "SELECT hearts_left FROM lesson_attempts WHERE id = :a",
            a=uuid.UUID(attempt_id),
        )
        == 5
    )
    assert await scalar(database, "SELECT count(*) FROM lesson_attempts") == 1


async def test_an_attempt_of_a_withdrawn_course_cannot_be_finished(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    attempt = await start_first_lesson(client, spanish, learner)
    attempt_id = attempt["attempt_id"]
    finish = f"{API}/attempts/{attempt_id}/finish"
    assert_error(
        await client.post(f"{API}/attempts/{uuid.uuid4()}/finish", headers=learner),
        404,
        "not_found",
    )

    await execute(database, "UPDATE courses SET is_published = false")
    refused = assert_error(await client.post(finish, headers=learner), 404, "not_found")
    assert "no longer available" in refused["message"]
    assert (
        await scalar(database, "SELECT count(*) FROM lesson_attempts WHERE finished_at IS NOT NULL")
        == 0
    )
    assert await scalar(database, "SELECT count(*) FROM lesson_progress") == 0

    await execute(database, "UPDATE courses SET is_published = true")
    finished = await client.post(finish, headers=learner)
    assert finished.status_code == 200, finished.text
    # A finished attempt keeps its result, whatever happens to the course afterwards.
    await execute(database, "UPDATE courses SET is_published = false")
    again = await client.post(finish, headers=learner)
    assert again.status_code == 200 and again.json() == finished.json()


async def test_concurrent_finishes_award_once_and_answers_share_hearts(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    attempt = await start_first_lesson(client, spanish, learner)
    exercises = attempt["exercises"]
    answers = await exercise_answers(database, [e["id"] for e in exercises])
    attempt_id = attempt["attempt_id"]
    for exercise in exercises[:4]:
        await answer(client, attempt_id, exercise["id"], "wrong wrong", learner)
    # One heart left: of two simultaneous wrong answers, exactly one is accepted.
    racing = await asyncio.gather(
        *(answer(client, attempt_id, e["id"], "wrong wrong", learner) for e in exercises[4:6])
    )
    assert sorted(response.status_code for response in racing) == [200, 409]

    for exercise in exercises[6:]:
        assert_error(
            await answer(client, attempt_id, exercise["id"], answers[exercise["id"]][0], learner),
            409,
            "out_of_hearts",
        )
    finishes = await asyncio.gather(
        *(client.post(f"{API}/attempts/{attempt_id}/finish", headers=learner) for _ in range(4))
    )
    bodies = [response.json() for response in finishes]
    assert all(body == bodies[0] for body in bodies)
    assert await scalar(database, "SELECT attempts_finished FROM lesson_progress") == 1


async def test_simultaneous_answers_to_one_exercise_are_numbered_in_turn(
    client: httpx.AsyncClient, database: Database, spanish: str, learner: dict[str, str]
) -> None:
    """A double-submitted answer waits for the first one and is counted as the second try."""
    first = lessons_of(await outline(client, spanish, learner))[0]
    attempt = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
    exercise = attempt["exercises"][0]
    racing = await asyncio.gather(
        *(answer(client, attempt["attempt_id"], exercise["id"], "wrong", learner) for _ in "ab")
    )
    assert [response.status_code for response in racing] == [200, 200]
    assert sorted(response.json()["attempt_number"] for response in racing) == [1, 2]
    assert sorted(response.json()["hearts_left"] for response in racing) == [
        attempt["hearts"] - 2,
        attempt["hearts"] - 1,
    ]
    numbers = await _stored_answer_numbers(database, attempt["attempt_id"])
    assert numbers == [1, 2]


async def _stored_answer_numbers(database: Database, attempt_id: str) -> list[int]:
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT attempt_number FROM question_attempts WHERE attempt_id = :a"
                " ORDER BY attempt_number"
            ),
            {"a": uuid.UUID(attempt_id)},
        )
        return [row[0] for row in rows]


async def test_listening_exercises_play_synthesised_audio(
    client: httpx.AsyncClient, app: FastAPI, database: Database, learner: dict[str, str]
) -> None:
    tts = default_tts()
    assert tts is not None, "espeak-ng is installed by make test"
    async with database.session() as session:
        report = await import_course(
            session,
            course_spec("demo"),
            storage=storage_from_settings(app.state.settings),
            tts=tts,
        )
    course = await outline(client, str(report.course_id), learner)
    assert course["language"] == "fr"
    first = lessons_of(course)[0]
    settings = app.state.settings
    listening: list[dict[str, Any]] = []
    for _ in range(5):  # attempts rotate through the lesson's exercises
        attempt = (await client.post(f"{API}/lessons/{first['id']}/start", headers=learner)).json()
        listening += [e for e in attempt["exercises"] if e["type"] == "listening"]
        answers = await exercise_answers(database, [e["id"] for e in attempt["exercises"]])
        for exercise in attempt["exercises"]:
            await answer(
                client, attempt["attempt_id"], exercise["id"], answers[exercise["id"]][0], learner
            )
        if listening:
            break
    assert listening, f"no listening exercise within {settings.lesson_max_exercises} per attempt"
    audio = await client.get(listening[0]["audio_url"])
    assert audio.status_code == 200
    assert audio.headers["content-type"].startswith("audio/")
    assert audio.content[:4] == b"RIFF"
