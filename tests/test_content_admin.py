"""The admin content API: courses, units, lessons, exercises, publishing, versions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from linguo.content.admin_service import exercise_problems
from linguo.content.librelingo import DEMO_COURSE_PATH, load_course
from linguo.core.db import Database
from linguo.models.content import ExerciseType
from linguo.models.identity import Role
from tests.conftest import SPANISH_COURSE, UserFactory, scalar

API = "/api/v1"
ADMIN = f"{API}/admin"
Headers = dict[str, str]
Json = dict[str, Any]

COURSE = {"title": "French for English speakers", "language": "fr", "source_language": "en"}
CARDS = {
    "type": "cards",
    "prompt": "the cat",
    "prompt_language": "en",
    "answer_language": "fr",
    "answers": ["le chat"],
    "choices": ["le chien", "le chat", "la pomme"],
    "distractors": ["le chien", "la pomme"],
}
CHIPS = {
    "type": "chips",
    "prompt": "the cat eats",
    "prompt_language": "en",
    "answer_language": "fr",
    "answers": ["Le chat mange.", "Le chat est en train de manger"],
    "choices": ["mange", "chat", "pomme", "le"],
    "distractors": ["pomme"],
    "difficulty": 3,
}
SHORT_INPUT = {
    "type": "short_input",
    "prompt": "the dog",
    "prompt_language": "en",
    "answer_language": "fr",
    "answers": ["le chien"],
}
LISTENING = {
    "type": "listening",
    "prompt_language": "fr",
    "answer_language": "fr",
    "answers": ["bonjour"],
    "audio_text": "bonjour",
}


def assert_error(response: httpx.Response, status: int, code: str) -> Json:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return dict(error)


async def content_state(database: Database) -> Json:
    """Every content row and the course cache generation: what a refused request must keep."""
    state: Json = {}
    async with database.session() as session:
        for table in ("courses", "units", "lessons", "exercises", "media_resources"):
            sql = f"SELECT coalesce(json_agg(t ORDER BY t.id), '[]') FROM {table} t"  # noqa: S608
            state[table] = (await session.execute(text(sql))).scalar()
        state["generation"] = (
            await session.execute(
                text("SELECT generation FROM cache_generations WHERE name = 'courses'")
            )
        ).scalar()
    return state


async def versions(database: Database, course_id: str) -> tuple[int, dict[str, int]]:
    """The course's content_version and each of its lessons'."""
    async with database.session() as session:
        course = (
            await session.execute(
                text("SELECT content_version FROM courses WHERE id = :id"), {"id": course_id}
            )
        ).scalar_one()
        rows = await session.execute(
            text("SELECT id::text, content_version FROM lessons WHERE course_id = :id"),
            {"id": course_id},
        )
        return int(course), {lesson_id: int(version) for lesson_id, version in rows}


class Admin:
    """An admin's HTTP calls, asserting the success status."""

    def __init__(self, client: httpx.AsyncClient, headers: Headers) -> None:
        self.client = client
        self.headers = headers

    async def call(self, method: str, path: str, status: int, body: Json | None = None) -> Any:
        response = await self.client.request(
            method, f"{ADMIN}{path}", json=body, headers=self.headers
        )
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def course(self, **fields: Any) -> Json:
        return dict(await self.call("POST", "/courses", 201, {**COURSE, **fields}))

    async def unit(self, course_id: str, **fields: Any) -> Json:
        body = {"title": f"Unit {uuid.uuid4().hex[:6]}", **fields}
        return dict(await self.call("POST", f"/courses/{course_id}/units", 201, body))

    async def lesson(self, unit_id: str, **fields: Any) -> Json:
        body = {"title": f"Lesson {uuid.uuid4().hex[:6]}", **fields}
        return dict(await self.call("POST", f"/units/{unit_id}/lessons", 201, body))

    async def exercise(self, lesson_id: str, body: Json | None = None, **fields: Any) -> Json:
        return dict(
            await self.call(
                "POST", f"/lessons/{lesson_id}/exercises", 201, {**(body or CARDS), **fields}
            )
        )

    async def tree(self, course_id: str) -> Json:
        return dict(await self.call("GET", f"/courses/{course_id}", 200))


@pytest.fixture
async def admin(client: httpx.AsyncClient, user_factory: UserFactory) -> Admin:
    _user, headers, _tokens = await user_factory(role=Role.ADMIN)
    return Admin(client, headers)


@pytest.fixture
async def playable(admin: Admin) -> Json:
    """An unpublished course with a unit, a lesson and a published cards exercise."""
    course = await admin.course()
    unit = await admin.unit(course["id"])
    lesson = await admin.lesson(unit["id"])
    exercise = await admin.exercise(lesson["id"])
    return {"course": course, "unit": unit, "lesson": lesson, "exercise": exercise}


# --------------------------------------------------------------------------- access

ROUTES = [
    ("GET", "/courses", None),
    ("POST", "/courses", COURSE),
    ("GET", "/courses/{id}", None),
    ("PATCH", "/courses/{id}", {"title": "x"}),
    ("DELETE", "/courses/{id}", None),
    ("POST", "/courses/{id}/publish", None),
    ("POST", "/courses/{id}/unpublish", None),
    ("POST", "/courses/{id}/units", {"title": "x"}),
    ("PATCH", "/units/{id}", {"title": "x"}),
    ("DELETE", "/units/{id}", None),
    ("POST", "/units/{id}/lessons", {"title": "x"}),
    ("PATCH", "/lessons/{id}", {"title": "x"}),
    ("DELETE", "/lessons/{id}", None),
    ("POST", "/lessons/{id}/exercises", CARDS),
    ("PATCH", "/exercises/{id}", {"difficulty": 2}),
    ("DELETE", "/exercises/{id}", None),
]


async def test_only_admins_reach_the_content_api(
    client: httpx.AsyncClient, user_factory: UserFactory, database: Database
) -> None:
    _user, student, _tokens = await user_factory()
    for method, path, body in ROUTES:
        url = ADMIN + path.format(id=uuid.uuid4())
        assert_error(await client.request(method, url, json=body), 401, "not_authenticated")
        assert_error(
            await client.request(method, url, json=body, headers=student), 403, "forbidden"
        )
    assert await scalar(database, "SELECT count(*) FROM courses") == 0


async def test_unknown_ids_are_404(admin: Admin, database: Database) -> None:
    for method, path, body in ROUTES:
        if "{id}" not in path:
            continue
        response = await admin.client.request(
            method, ADMIN + path.format(id=uuid.uuid4()), json=body, headers=admin.headers
        )
        assert_error(response, 404, "not_found")
    response = await admin.client.get(f"{ADMIN}/courses/not-a-uuid", headers=admin.headers)
    assert_error(response, 422, "validation_error")


# --------------------------------------------------------------------------- courses


async def test_course_crud(admin: Admin, client: httpx.AsyncClient, database: Database) -> None:
    created = await admin.course(
        description="Learn French",
        cefr_min="A1",
        cefr_max="A2",
        tags=["travel"],
        special_characters=["é", "ç"],
        license_name="CC BY-SA 4.0",
    )
    assert created["source_key"] is None
    assert created["is_published"] is False
    assert created["content_version"] == 1
    assert (created["unit_count"], created["lesson_count"], created["exercise_count"]) == (0, 0, 0)
    assert created["created_at"] and created["updated_at"]
    assert created["special_characters"] == ["é", "ç"]

    listed = await admin.call("GET", "/courses", 200)
    assert [course["id"] for course in listed["items"]] == [created["id"]]
    assert listed["total"] == 1
    # Learners never see an unpublished course.
    assert (await client.get(f"{API}/courses")).json() == []

    changed = await admin.call(
        "PATCH", f"/courses/{created['id']}", 200, {"title": "French!", "cefr_max": None}
    )
    assert changed["title"] == "French!"
    assert changed["cefr_max"] is None
    assert changed["cefr_min"] == "A1"
    assert changed["content_version"] == 2

    tree = await admin.tree(created["id"])
    assert tree["title"] == "French!"
    assert tree["units"] == []

    await admin.call("DELETE", f"/courses/{created['id']}", 204)
    assert_error(
        await client.get(f"{ADMIN}/courses/{created['id']}", headers=admin.headers),
        404,
        "not_found",
    )
    assert await scalar(database, "SELECT count(*) FROM courses") == 0


async def test_course_list_pages_and_filters(admin: Admin) -> None:
    await admin.course(title="B French")
    await admin.course(title="A Spanish", language="es")
    await admin.course(title="C French from Spanish", source_language="es")
    page = await admin.call("GET", "/courses?limit=2", 200)
    assert [item["title"] for item in page["items"]] == ["A Spanish", "B French"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    french = await admin.call("GET", "/courses?language=fr", 200)
    assert [item["title"] for item in french["items"]] == ["B French", "C French from Spanish"]
    from_spanish = await admin.call("GET", "/courses?source_language=es", 200)
    assert [item["title"] for item in from_spanish["items"]] == ["C French from Spanish"]
    response = await admin.client.get(f"{ADMIN}/courses?language=French", headers=admin.headers)
    assert_error(response, 422, "validation_error")


async def test_deleting_a_course_deletes_everything_in_it(
    admin: Admin, playable: Json, database: Database
) -> None:
    other = await admin.course(title="Other")
    await admin.unit(other["id"])
    await admin.call("DELETE", f"/courses/{playable['course']['id']}", 204)
    for table in ("units", "lessons", "exercises"):
        count = await scalar(
            database,
            f"SELECT count(*) FROM {table}",  # noqa: S608
        )
        assert count == (1 if table == "units" else 0), table


async def test_full_tree_has_every_status_and_answer_in_order(
    admin: Admin, database: Database
) -> None:
    course = await admin.course()
    second = await admin.unit(course["id"], title="Second", colour="#aabbcc", icon="star")
    first = await admin.unit(course["id"], title="First", position=1)
    lesson = await admin.lesson(first["id"], title="Greetings", introduction="Say hello")
    later = await admin.lesson(
        second["id"], lesson_type="phrases", pass_score=0.5, prerequisite_lesson_id=lesson["id"]
    )
    await admin.exercise(lesson["id"], CHIPS, status="pending_review")
    await admin.exercise(lesson["id"], LISTENING, status="archived", position=0)
    await admin.exercise(lesson["id"])

    tree = await admin.tree(course["id"])
    assert (tree["unit_count"], tree["lesson_count"], tree["exercise_count"]) == (2, 2, 3)
    assert [(unit["title"], unit["position"]) for unit in tree["units"]] == [
        ("First", 1),
        ("Second", 2),
    ]
    assert tree["units"][1]["colour"] == "#AABBCC"
    assert tree["units"][1]["icon"] == "star"
    (greetings,) = tree["units"][0]["lessons"]
    assert greetings["introduction"] == "Say hello"
    assert greetings["lesson_type"] == "mixed"
    assert greetings["pass_score"] == 0.8
    exercises = greetings["exercises"]
    assert [(item["type"], item["status"], item["position"]) for item in exercises] == [
        ("listening", "archived", 0),
        ("chips", "pending_review", 1),
        ("cards", "published", 2),
    ]
    assert exercises[1]["answers"] == CHIPS["answers"]
    assert exercises[1]["distractors"] == ["pomme"]
    assert exercises[2]["choices"] == CARDS["choices"]
    assert exercises[0]["audio_text"] == "bonjour"
    assert exercises[0]["audio_media_id"] is not None  # recorded by espeak-ng when created
    assert (exercises[0]["attempt_count"], exercises[0]["error_count"]) == (0, 0)
    (phrases,) = tree["units"][1]["lessons"]
    assert phrases["id"] == later["id"]
    assert phrases["prerequisite_lesson_id"] == lesson["id"]
    assert phrases["course_id"] == course["id"]
    assert phrases["unit_id"] == second["id"]
    assert phrases["pass_score"] == 0.5


# --------------------------------------------------------------------------- versions


async def test_every_change_bumps_versions_once_and_no_op_patches_bump_nothing(
    admin: Admin, database: Database
) -> None:
    course = await admin.course()
    course_id = course["id"]
    expected = 1
    assert (await versions(database, course_id))[0] == expected

    async def bumped(lesson_id: str | None = None, *, by: int = 1) -> None:
        nonlocal expected
        expected += by
        course_version, lesson_versions = await versions(database, course_id)
        assert course_version == expected
        if lesson_id is not None:
            lesson_expected[lesson_id] = lesson_expected.get(lesson_id, 1) + by
        assert lesson_versions == lesson_expected

    lesson_expected: dict[str, int] = {}
    unit = await admin.unit(course_id)
    await bumped()
    lesson = await admin.lesson(unit["id"])
    await bumped(lesson["id"])
    other = await admin.lesson(unit["id"])
    await bumped(other["id"])
    exercise = await admin.exercise(lesson["id"])
    await bumped(lesson["id"])

    await admin.call("PATCH", f"/exercises/{exercise['id']}", 200, {"difficulty": 2})
    await bumped(lesson["id"])
    await admin.call("PATCH", f"/lessons/{lesson['id']}", 200, {"title": "Renamed"})
    await bumped(lesson["id"])
    await admin.call("PATCH", f"/lessons/{lesson['id']}", 200, {"position": 2})
    await bumped(lesson["id"])
    await admin.call("PATCH", f"/units/{unit['id']}", 200, {"colour": "#112233"})
    await bumped()
    await admin.call("PATCH", f"/courses/{course_id}", 200, {"tags": ["food"]})
    await bumped()
    await admin.call("POST", f"/courses/{course_id}/publish", 200)
    await bumped()
    await admin.call("POST", f"/courses/{course_id}/unpublish", 200)
    await bumped()

    # Repeating stored values changes nothing.
    before = await content_state(database)
    same = [
        ("PATCH", f"/courses/{course_id}", {"tags": ["food"], "title": course["title"]}),
        ("PATCH", f"/units/{unit['id']}", {"colour": "#112233", "position": 1}),
        ("PATCH", f"/units/{unit['id']}", {"colour": "#112233".lower()}),
        ("PATCH", f"/lessons/{lesson['id']}", {"title": "Renamed", "position": 2}),
        ("PATCH", f"/lessons/{lesson['id']}", {"position": 9, "unit_id": unit["id"]}),
        ("PATCH", f"/lessons/{lesson['id']}", {"prerequisite_lesson_id": None}),
        ("PATCH", f"/exercises/{exercise['id']}", {"difficulty": 2, "answers": ["le chat"]}),
        ("PATCH", f"/exercises/{exercise['id']}", {}),
        ("POST", f"/courses/{course_id}/unpublish", None),
    ]
    for method, path, body in same:
        await admin.call(method, path, 200, body)
    assert await content_state(database) == before

    await admin.call("DELETE", f"/exercises/{exercise['id']}", 204)
    await bumped(lesson["id"])
    await admin.call("DELETE", f"/lessons/{lesson['id']}", 204)
    del lesson_expected[lesson["id"]]
    await bumped()
    await admin.call("DELETE", f"/units/{unit['id']}", 204)
    del lesson_expected[other["id"]]
    await bumped()


async def test_learners_cached_course_refreshes_after_an_admin_change(
    admin: Admin, playable: Json, client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    course_id = playable["course"]["id"]
    await admin.call("POST", f"/courses/{course_id}/publish", 200)
    _user, learner, _tokens = await user_factory()
    first = await client.get(f"{API}/courses/{course_id}", headers=learner)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    cached = await client.get(
        f"{API}/courses/{course_id}", headers={**learner, "If-None-Match": etag}
    )
    assert cached.status_code == 304

    await admin.call("PATCH", f"/lessons/{playable['lesson']['id']}", 200, {"title": "New"})
    fresh = await client.get(
        f"{API}/courses/{course_id}", headers={**learner, "If-None-Match": etag}
    )
    assert fresh.status_code == 200
    assert fresh.json()["units"][0]["lessons"][0]["title"] == "New"
    assert fresh.json()["content_version"] > first.json()["content_version"]


# --------------------------------------------------------------------------- publishing


async def test_publish_and_unpublish(
    admin: Admin, client: httpx.AsyncClient, database: Database
) -> None:
    course = await admin.course()
    course_id = course["id"]
    publish = f"{ADMIN}/courses/{course_id}/publish"

    error = assert_error(await client.post(publish, headers=admin.headers), 409, "course_empty")
    assert "empty" in error["message"]
    unit = await admin.unit(course_id)
    lesson = await admin.lesson(unit["id"])
    assert_error(await client.post(publish, headers=admin.headers), 409, "course_empty")
    exercise = await admin.exercise(lesson["id"], status="pending_review")
    before = await content_state(database)
    assert_error(await client.post(publish, headers=admin.headers), 409, "course_empty")
    assert await content_state(database) == before

    await admin.call("PATCH", f"/exercises/{exercise['id']}", 200, {"status": "published"})
    published = await admin.call("POST", f"/courses/{course_id}/publish", 200)
    assert published["is_published"] is True
    again = await admin.call("POST", f"/courses/{course_id}/publish", 200)
    assert again == published
    assert [item["id"] for item in (await client.get(f"{API}/courses")).json()] == [course_id]

    hidden = await admin.call("POST", f"/courses/{course_id}/unpublish", 200)
    assert hidden["is_published"] is False
    assert hidden["content_version"] == published["content_version"] + 1
    assert await admin.call("POST", f"/courses/{course_id}/unpublish", 200) == hidden
    assert (await client.get(f"{API}/courses")).json() == []


async def test_a_published_course_is_never_left_with_nothing_to_play(
    admin: Admin, playable: Json, database: Database
) -> None:
    course_id = playable["course"]["id"]
    await admin.call("POST", f"/courses/{course_id}/publish", 200)
    exercise_id = playable["exercise"]["id"]
    before = await content_state(database)
    refused = [
        ("PATCH", f"/exercises/{exercise_id}", {"status": "archived"}),
        ("DELETE", f"/exercises/{exercise_id}", None),
        ("DELETE", f"/lessons/{playable['lesson']['id']}", None),
        ("DELETE", f"/units/{playable['unit']['id']}", None),
    ]
    for method, path, body in refused:
        response = await admin.client.request(
            method, ADMIN + path, json=body, headers=admin.headers
        )
        assert_error(response, 409, "course_empty")
        assert await content_state(database) == before

    # With another playable lesson, or once unpublished, they go through.
    other = await admin.lesson(playable["unit"]["id"])
    await admin.exercise(other["id"])
    await admin.call("PATCH", f"/exercises/{exercise_id}", 200, {"status": "archived"})
    await admin.call("POST", f"/courses/{course_id}/unpublish", 200)
    await admin.call("DELETE", f"/units/{playable['unit']['id']}", 204)


# --------------------------------------------------------------------------- positions


async def test_unit_positions_count_from_one_and_stay_contiguous(admin: Admin) -> None:
    course_id = (await admin.course())["id"]

    async def order() -> list[tuple[str, int]]:
        return [
            (unit["title"], unit["position"]) for unit in (await admin.tree(course_id))["units"]
        ]

    for title in "ABC":
        await admin.unit(course_id, title=title)
    assert await order() == [("A", 1), ("B", 2), ("C", 3)]
    first = await admin.unit(course_id, title="Z", position=1)
    assert first["position"] == 1
    assert await order() == [("Z", 1), ("A", 2), ("B", 3), ("C", 4)]
    last = await admin.unit(course_id, title="Y", position=99)
    assert last["position"] == 5
    # 2.0 is an integer to JSON Schema, so it is taken as 2.
    moved = await admin.call("PATCH", f"/units/{last['id']}", 200, {"position": 2.0})
    assert moved["position"] == 2
    assert await order() == [("Z", 1), ("Y", 2), ("A", 3), ("B", 4), ("C", 5)]
    await admin.call("PATCH", f"/units/{first['id']}", 200, {"position": 40})
    assert await order() == [("Y", 1), ("A", 2), ("B", 3), ("C", 4), ("Z", 5)]
    await admin.call("DELETE", f"/units/{moved['id']}", 204)
    assert await order() == [("A", 1), ("B", 2), ("C", 3), ("Z", 4)]


async def test_lessons_move_within_a_unit_and_to_another_unit(
    admin: Admin, database: Database
) -> None:
    course_id = (await admin.course())["id"]
    one = await admin.unit(course_id)
    two = await admin.unit(course_id)
    a, b, c = [await admin.lesson(one["id"], title=title) for title in "abc"]
    d = await admin.lesson(two["id"], title="d")
    e = await admin.lesson(one["id"], title="e", position=2)
    assert e["position"] == 2

    async def order() -> list[list[tuple[str, int]]]:
        tree = await admin.tree(course_id)
        return [
            [(lesson["title"], lesson["position"]) for lesson in unit["lessons"]]
            for unit in tree["units"]
        ]

    assert await order() == [[("a", 1), ("e", 2), ("b", 3), ("c", 4)], [("d", 1)]]
    await admin.call("PATCH", f"/lessons/{a['id']}", 200, {"position": 3})
    assert await order() == [[("e", 1), ("b", 2), ("a", 3), ("c", 4)], [("d", 1)]]
    moved = await admin.call(
        "PATCH", f"/lessons/{b['id']}", 200, {"unit_id": two["id"], "position": 1}
    )
    assert (moved["unit_id"], moved["position"], moved["course_id"]) == (two["id"], 1, course_id)
    assert await order() == [[("e", 1), ("a", 2), ("c", 3)], [("b", 1), ("d", 2)]]
    await admin.call("PATCH", f"/lessons/{c['id']}", 200, {"unit_id": two["id"]})
    assert await order() == [[("e", 1), ("a", 2)], [("b", 1), ("d", 2), ("c", 3)]]
    await admin.call("DELETE", f"/lessons/{d['id']}", 204)
    assert await order() == [[("e", 1), ("a", 2)], [("b", 1), ("c", 2)]]
    mismatched = await scalar(
        database,
        "SELECT count(*) FROM lessons l JOIN units u ON u.id = l.unit_id "
        "WHERE l.course_id <> u.course_id",
    )
    assert mismatched == 0


async def test_exercise_positions_count_from_zero(admin: Admin, playable: Json) -> None:
    lesson_id = playable["lesson"]["id"]
    second = await admin.exercise(lesson_id, SHORT_INPUT)
    assert second["position"] == 1
    first = await admin.exercise(lesson_id, CHIPS, position=0)
    assert first["position"] == 0

    async def order() -> list[tuple[str, int]]:
        (unit,) = (await admin.tree(playable["course"]["id"]))["units"]
        return [(item["type"], item["position"]) for item in unit["lessons"][0]["exercises"]]

    assert await order() == [("chips", 0), ("cards", 1), ("short_input", 2)]
    await admin.call("PATCH", f"/exercises/{second['id']}", 200, {"position": 0})
    assert await order() == [("short_input", 0), ("chips", 1), ("cards", 2)]
    await admin.call("DELETE", f"/exercises/{first['id']}", 204)
    assert await order() == [("short_input", 0), ("cards", 1)]


# --------------------------------------------------------------------------- prerequisites


async def test_prerequisites_stay_inside_the_course_and_never_cycle(
    admin: Admin, database: Database
) -> None:
    course_id = (await admin.course())["id"]
    unit = await admin.unit(course_id)
    a = await admin.lesson(unit["id"])
    b = await admin.lesson(unit["id"], prerequisite_lesson_id=a["id"])
    c = await admin.lesson(unit["id"], prerequisite_lesson_id=b["id"])
    elsewhere = await admin.lesson((await admin.unit((await admin.course())["id"]))["id"])

    before = await content_state(database)
    for lesson_id, prerequisite in [
        (a["id"], c["id"]),  # a <- b <- c <- a
        (b["id"], c["id"]),
        (a["id"], a["id"]),
        (a["id"], elsewhere["id"]),
        (a["id"], str(uuid.uuid4())),
    ]:
        response = await admin.client.patch(
            f"{ADMIN}/lessons/{lesson_id}",
            json={"prerequisite_lesson_id": prerequisite},
            headers=admin.headers,
        )
        assert_error(response, 400, "invalid_prerequisite")
    error = assert_error(
        await admin.client.patch(
            f"{ADMIN}/lessons/{a['id']}",
            json={"prerequisite_lesson_id": c["id"]},
            headers=admin.headers,
        ),
        400,
        "invalid_prerequisite",
    )
    assert error["details"]["cycle"] == [a["id"], c["id"], b["id"], a["id"]]
    response = await admin.client.post(
        f"{ADMIN}/units/{unit['id']}/lessons",
        json={"title": "x", "prerequisite_lesson_id": elsewhere["id"]},
        headers=admin.headers,
    )
    assert_error(response, 400, "invalid_prerequisite")
    assert await content_state(database) == before

    # Re-pointing without a cycle is fine, and null clears it.
    changed = await admin.call(
        "PATCH", f"/lessons/{c['id']}", 200, {"prerequisite_lesson_id": a["id"]}
    )
    assert changed["prerequisite_lesson_id"] == a["id"]
    cleared = await admin.call(
        "PATCH", f"/lessons/{c['id']}", 200, {"prerequisite_lesson_id": None}
    )
    assert cleared["prerequisite_lesson_id"] is None


async def test_deleting_a_unit_deletes_its_lessons_and_relinks_the_lessons_after_them(
    admin: Admin, database: Database
) -> None:
    course_id = (await admin.course())["id"]
    zero, one, two = [await admin.unit(course_id) for _ in range(3)]
    z = await admin.lesson(zero["id"])
    a = await admin.lesson(one["id"], prerequisite_lesson_id=z["id"])
    b = await admin.lesson(one["id"], prerequisite_lesson_id=a["id"])
    await admin.exercise(a["id"])
    await admin.exercise(b["id"], SHORT_INPUT)
    c = await admin.lesson(two["id"], prerequisite_lesson_id=b["id"])
    _, before = await versions(database, course_id)

    await admin.call("DELETE", f"/units/{one['id']}", 204)
    tree = await admin.tree(course_id)
    assert [unit["id"] for unit in tree["units"]] == [zero["id"], two["id"]]
    assert [unit["position"] for unit in tree["units"]] == [1, 2]
    (c_now,) = tree["units"][1]["lessons"]
    assert c_now["prerequisite_lesson_id"] == z["id"]  # not unlocked by the deletion
    assert c_now["content_version"] == before[c["id"]] + 1
    ids = {"a": a["id"], "b": b["id"]}
    assert await scalar(database, "SELECT count(*) FROM lessons WHERE id IN (:a, :b)", **ids) == 0
    assert (
        await scalar(database, "SELECT count(*) FROM exercises WHERE lesson_id IN (:a, :b)", **ids)
        == 0
    )


async def test_deleting_a_lesson_relinks_the_next(admin: Admin) -> None:
    course_id = (await admin.course())["id"]
    unit = await admin.unit(course_id)
    a = await admin.lesson(unit["id"])
    b = await admin.lesson(unit["id"], prerequisite_lesson_id=a["id"])
    c = await admin.lesson(unit["id"], prerequisite_lesson_id=b["id"])
    await admin.call("DELETE", f"/lessons/{b['id']}", 204)
    lessons = (await admin.tree(course_id))["units"][0]["lessons"]
    assert [(item["id"], item["position"]) for item in lessons] == [(a["id"], 1), (c["id"], 2)]
    assert lessons[1]["prerequisite_lesson_id"] == a["id"]


# --------------------------------------------------------------------------- validation


async def _refused(
    admin: Admin,
    database: Database,
    method: str,
    path: str,
    body: Json,
    status: int = 422,
    code: str = "validation_error",
) -> Json:
    before = await content_state(database)
    response = await admin.client.request(method, ADMIN + path, json=body, headers=admin.headers)
    error = assert_error(response, status, code)
    assert await content_state(database) == before, (path, body)
    return error


COURSE_REFUSALS = [
    {"language": "French"},
    {"language": "FR"},
    {"source_language": ""},
    {"cefr_min": "D1"},
    {"cefr_min": "B2", "cefr_max": "A1"},
    {"title": "   "},
    {"title": ""},
    {"title": "x" * 201},
    {"title": "nul\u0000"},
    {"tags": ["ok", " "]},
    {"is_published": True},
    {"content_version": 5},
    {"source_key": "mine"},
]


@pytest.mark.parametrize("fields", COURSE_REFUSALS)
async def test_course_create_refusals(admin: Admin, database: Database, fields: Json) -> None:
    await _refused(admin, database, "POST", "/courses", {**COURSE, **fields})


async def test_course_patch_refusals(admin: Admin, database: Database) -> None:
    course = await admin.course(cefr_min="B1", cefr_max="B2")
    path = f"/courses/{course['id']}"
    error = await _refused(admin, database, "PATCH", path, {"cefr_max": "A2"})
    assert error["details"][0]["loc"] == ["body", "cefr_max"]
    await _refused(admin, database, "PATCH", path, {"cefr_min": "C1"})
    for field in ("title", "language", "source_language", "tags", "description"):
        error = await _refused(admin, database, "PATCH", path, {field: None})
        assert field in error["details"][0]["message"]
    await _refused(admin, database, "PATCH", path, {"language": "english"})
    await _refused(admin, database, "PATCH", path, {"is_published": True})
    # Nullable levels can be cleared.
    assert (await admin.call("PATCH", path, 200, {"cefr_min": None}))["cefr_min"] is None


async def test_course_languages_cannot_leave_its_exercises_behind(
    admin: Admin, playable: Json, database: Database
) -> None:
    path = f"/courses/{playable['course']['id']}"
    error = await _refused(admin, database, "PATCH", path, {"language": "es"}, 409, "conflict")
    assert error["details"] == {"exercise_languages": ["fr"]}
    # Swapping the two languages keeps every exercise's language in the course.
    swapped = await admin.call("PATCH", path, 200, {"language": "en", "source_language": "fr"})
    assert (swapped["language"], swapped["source_language"]) == ("en", "fr")


async def test_unit_refusals(admin: Admin, playable: Json, database: Database) -> None:
    course_path = f"/courses/{playable['course']['id']}/units"
    unit_path = f"/units/{playable['unit']['id']}"
    for body in (
        {"title": "x", "colour": "red"},
        {"title": "x", "colour": "#12345"},
        {"title": "x", "colour": "#1234567"},
        {"title": "x", "position": 0},
        {"title": "x", "position": "1"},
        {"title": "x", "position": 1.5},
        {"title": "x", "position": True},
        {"title": " "},
        {},
    ):
        await _refused(admin, database, "POST", course_path, body)
    changes: list[Json] = [{"title": None}, {"position": None}, {"colour": "blue"}, {"x": 1}]
    for change in changes:
        await _refused(admin, database, "PATCH", unit_path, change)
    cleared = await admin.call("PATCH", unit_path, 200, {"colour": None, "icon": None})
    assert (cleared["colour"], cleared["icon"]) == (None, None)


async def test_lesson_refusals(admin: Admin, playable: Json, database: Database) -> None:
    unit_path = f"/units/{playable['unit']['id']}/lessons"
    lesson_path = f"/lessons/{playable['lesson']['id']}"
    for body in (
        {"title": "x", "pass_score": 1.5},
        {"title": "x", "pass_score": -0.1},
        {"title": "x", "pass_score": True},
        {"title": "x", "pass_score": "0.5"},
        {"title": "x", "lesson_type": "poetry"},
        {"title": "x", "position": 0},
        {"title": "x", "prerequisite_lesson_id": "nope"},
    ):
        await _refused(admin, database, "POST", unit_path, body)
    for field in ("title", "introduction", "lesson_type", "pass_score", "unit_id", "position"):
        await _refused(admin, database, "PATCH", lesson_path, {field: None})
    foreign_unit = await admin.unit((await admin.course(title="Other"))["id"])
    for unit_id in (foreign_unit["id"], str(uuid.uuid4())):
        error = await _refused(admin, database, "PATCH", lesson_path, {"unit_id": unit_id})
        assert error["details"][0]["loc"] == ["body", "unit_id"]
    # pass_score accepts a JSON integer.
    assert (await admin.call("PATCH", lesson_path, 200, {"pass_score": 1}))["pass_score"] == 1.0


EXERCISE_REFUSALS: list[tuple[Json, str]] = [
    ({**CARDS, "answers": []}, "answers"),
    ({**CARDS, "answers": ["  "]}, "answers"),
    ({**CARDS, "answers": ["le chat", ""]}, "answers"),
    ({**CARDS, "answers": "le chat"}, "answers"),
    ({**CARDS, "choices": ["le chien", "la pomme"], "distractors": []}, "choices"),
    ({**CARDS, "distractors": ["le chien", "Le  chat!"]}, "distractors"),
    ({**CARDS, "distractors": ["le lapin"]}, "distractors"),
    ({**CARDS, "type": "options", "choices": []}, "choices"),
    ({**CHIPS, "choices": ["mange", "chat", "pomme"]}, "choices"),
    ({**CHIPS, "distractors": ["Le chat mange"]}, "distractors"),
    ({**SHORT_INPUT, "choices": ["le chien"]}, "choices"),
    ({**SHORT_INPUT, "distractors": ["le chat"]}, "distractors"),
    ({**LISTENING, "audio_text": None}, "audio_text"),
    ({**LISTENING, "audio_text": " "}, "audio_text"),
    ({key: value for key, value in LISTENING.items() if key != "audio_text"}, "audio_text"),
    ({**CARDS, "difficulty": 0}, "difficulty"),
    ({**CARDS, "difficulty": 6}, "difficulty"),
    ({**CARDS, "difficulty": 2.5}, "difficulty"),
    ({**CARDS, "difficulty": True}, "difficulty"),
    ({**CARDS, "difficulty": "2"}, "difficulty"),
    ({**CARDS, "prompt_language": "de"}, "prompt_language"),
    ({**CARDS, "answer_language": "es"}, "answer_language"),
    ({**CARDS, "answer_language": "French"}, "answer_language"),
    ({**CARDS, "type": "essay"}, "type"),
    ({**CARDS, "status": "draft"}, "status"),
    ({**CARDS, "position": -1}, "position"),
    ({**CARDS, "attempt_count": 3}, "attempt_count"),
]


@pytest.mark.parametrize(("body", "field"), EXERCISE_REFUSALS)
async def test_exercise_create_refusals(
    admin: Admin, playable: Json, database: Database, body: Json, field: str
) -> None:
    path = f"/lessons/{playable['lesson']['id']}/exercises"
    error = await _refused(admin, database, "POST", path, body)
    assert field in [detail["loc"][1] for detail in error["details"]], error


async def test_exercise_patch_refusals(admin: Admin, playable: Json, database: Database) -> None:
    path = f"/exercises/{playable['exercise']['id']}"
    for field in ("type", "status", "prompt", "answers", "choices", "difficulty", "position"):
        await _refused(admin, database, "PATCH", path, {field: None})
    # The stored exercise and the change are checked together.
    for body in (
        {"type": "short_input"},  # a typed exercise with choices
        {"answers": ["le lapin"]},  # no longer among the choices
        {"answers": ["le chat", "le chien"]},  # a distractor becomes accepted
        {"choices": ["le chat"]},  # distractors no longer among the choices
        {"prompt_language": "it"},
        {"type": "listening", "choices": [], "distractors": []},  # without audio_text
    ):
        await _refused(admin, database, "PATCH", path, body)
    changed = await admin.call(
        "PATCH",
        path,
        200,
        {"type": "short_input", "choices": [], "distractors": [], "status": "pending_review"},
    )
    assert (changed["type"], changed["choices"], changed["status"]) == (
        "short_input",
        [],
        "pending_review",
    )


async def test_admin_made_listening_exercises_are_recorded(
    admin: Admin, playable: Json, database: Database, client: httpx.AsyncClient, app: FastAPI
) -> None:
    exercise = await admin.exercise(playable["lesson"]["id"], LISTENING)
    other = await admin.exercise(playable["lesson"]["id"], LISTENING)
    assert exercise["status"] == "published"
    media_id = exercise["audio_media_id"]
    assert media_id is not None and other["audio_media_id"] == media_id  # one recording
    count = "SELECT reference_count FROM media_resources WHERE id = :id"
    assert await scalar(database, count, id=uuid.UUID(media_id)) == 2
    key = await scalar(
        database, "SELECT storage_key FROM media_resources WHERE id = :id", id=uuid.UUID(media_id)
    )
    audio = await client.get(f"/api/v1/media/{key}")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"

    path = f"/exercises/{exercise['id']}"
    unchanged = await admin.call("PATCH", path, 200, {"audio_text": "bonjour", "difficulty": 3})
    assert unchanged["audio_media_id"] == media_id  # same text: the recording still fits
    changed = await admin.call(
        "PATCH", path, 200, {"audio_text": "bonsoir", "answers": ["bonsoir"]}
    )
    assert changed["audio_media_id"] not in (None, media_id)  # recorded again, new words
    assert (
        await scalar(
            database,
            "SELECT transcript FROM media_resources WHERE id = :id",
            id=uuid.UUID(changed["audio_media_id"]),
        )
        == "bonsoir"
    )
    assert await scalar(database, count, id=uuid.UUID(media_id)) == 1
    await admin.call("DELETE", f"/exercises/{other['id']}", 204)
    assert await scalar(database, count, id=uuid.UUID(media_id)) == 0

    # With no speech engine, a listening exercise cannot be played: it waits for review.
    engine, app.state.tts = app.state.tts, None
    try:
        silent = await admin.exercise(
            playable["lesson"]["id"], LISTENING, audio_text="à demain", answers=["à demain"]
        )
    finally:
        app.state.tts = engine
    assert silent["audio_media_id"] is None and silent["status"] == "pending_review"


# --------------------------------------------------------------------------- imported courses


@pytest.mark.parametrize("path", [DEMO_COURSE_PATH, SPANISH_COURSE], ids=["demo", "spanish"])
def test_every_imported_exercise_meets_the_admin_rules(path: Any) -> None:
    """Editing an imported exercise is held to rules that its generated form already meets."""
    course = load_course(path)
    checked = 0
    for lesson in course.lessons():
        for spec in lesson.exercises:
            problems = exercise_problems(
                type=ExerciseType(spec.type),
                answers=spec.answers,
                choices=spec.choices,
                distractors=spec.distractors,
                audio_text=spec.audio_text,
                prompt_language=spec.prompt_language,
                answer_language=spec.answer_language,
                language=course.language,
                source_language=course.source_language,
            )
            assert problems == [], (spec.key, problems)
            checked += 1
    assert checked > 100
