"""Personal flashcards through HTTP: CRUD, FSRS reviews, the queue, history, export and import."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fsrs
import httpx
import pytest

from linguo.core.db import Database
from linguo.core.security import create_access_token
from linguo.models.identity import User
from linguo.models.srs import Flashcard
from tests.conftest import (
    TEST_SECRET,
    Clock,
    TestServers,
    client_for,
    make_settings,
    running_app,
    scalar,
)

API = "/api/v1"
FLASHCARDS = f"{API}/flashcards"
CSV_COLUMNS = [
    "kind",
    "word_id",
    "front",
    "back",
    "note",
    "language",
    "source_language",
    "state",
    "step",
    "due",
    "last_review",
    "stability",
    "difficulty",
    "reps",
    "lapses",
]
REVIEW_FIELDS = {
    "word_id",
    "flashcard_id",
    "state",
    "stability",
    "difficulty",
    "scheduled_days",
    "next_review",
    "reps",
    "lapses",
}
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

Headers = dict[str, str]
Row = dict[str, str]


# Helpers


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an error in the one envelope, with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return dict(error)


@dataclass
class Learner:
    """A learner's id and auth headers."""

    id: uuid.UUID
    headers: Headers


async def make_learner(database: Database, **fields: Any) -> Learner:
    """A learner stored directly with a signed access token (no password hashing: fast)."""
    async with database.session() as session:
        user = User(
            email=f"learner-{uuid.uuid4().hex[:10]}@example.com", password_hash="!", **fields
        )
        session.add(user)
        await session.flush()
        user_id = user.id
    token, _ = create_access_token(
        user_id=user_id, role="student", key=TEST_SECRET, issuer="linguo", minutes=30
    )
    return Learner(user_id, {"Authorization": f"Bearer {token}"})


async def learner(database: Database, **fields: Any) -> Headers:
    """A new learner's auth headers."""
    return (await make_learner(database, **fields)).headers


async def create(
    client: httpx.AsyncClient, headers: Headers, front: str, back: str = "back", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        FLASHCARDS, json={"front": front, "back": back, **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def review(
    client: httpx.AsyncClient, headers: Headers, flashcard_id: str, rating: int
) -> dict[str, Any]:
    response = await client.post(
        f"{FLASHCARDS}/{flashcard_id}/review", json={"rating": rating}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def review_word(
    client: httpx.AsyncClient, headers: Headers, word_id: int, rating: int
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/progress/review", json={"word_id": word_id, "rating": rating}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def read(client: httpx.AsyncClient, headers: Headers, flashcard_id: str) -> dict[str, Any]:
    response = await client.get(f"{FLASHCARDS}/{flashcard_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def events(
    client: httpx.AsyncClient, headers: Headers, flashcard_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{FLASHCARDS}/{flashcard_id}/events", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def export(client: httpx.AsyncClient, headers: Headers, **params: str) -> httpx.Response:
    response = await client.get(f"{FLASHCARDS}/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def import_file(
    client: httpx.AsyncClient, headers: Headers, content: bytes, name: str = "cards.csv"
) -> httpx.Response:
    return await client.post(
        f"{FLASHCARDS}/import", files={"file": (name, content, "text/csv")}, headers=headers
    )


def parse_csv(text: str) -> tuple[list[str], list[Row]]:
    """The header and the rows of an exported CSV."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def write_csv(header: list[str], rows: list[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[column] for column in header])
    return buffer.getvalue().encode()


def parse_anki(text: str) -> tuple[list[str], list[str], list[Row]]:
    """(file headers, columns, rows) of an Anki export: `#` lines first, then TSV."""
    lines = text.split("\n")
    headers: list[str] = []
    while lines and lines[0].startswith("#"):
        headers.append(lines.pop(0))
    columns_line = next(line for line in headers if line.startswith("#columns:"))
    columns = columns_line.removeprefix("#columns:").split("\t")
    reader = csv.reader(io.StringIO("\n".join(lines), newline=""), delimiter="\t")
    rows = [dict(zip(columns, row, strict=True)) for row in reader]
    return headers, columns, rows


def row_key(row: Row) -> tuple[str, str, str, str]:
    return (row["kind"], row["word_id"], row["language"], row["front"])


def time_or_none(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def cards_of(database: Database, who: Learner) -> int:
    return int(
        await scalar(database, "SELECT count(*) FROM srs_cards WHERE user_id = :id", id=who.id)
    )


async def flashcards_of(database: Database, who: Learner) -> int:
    return int(
        await scalar(database, "SELECT count(*) FROM flashcards WHERE user_id = :id", id=who.id)
    )


@asynccontextmanager
async def unfuzzed_client(servers: TestServers) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    """A client of an app that schedules without fuzzing, and that app's clock."""
    async with running_app(make_settings(servers, srs_fuzzing=False)) as application:
        clock = Clock(START)
        application.state.clock = clock
        async with client_for(application) as http:
            yield http, clock


# Create


async def test_create_defaults_languages_to_the_learners_and_starts_new(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database, native_language="es", target_language="de")
    card = await create(client, headers, "  der Hund ", "  el perro ")

    assert (card["front"], card["back"], card["note"]) == ("der Hund", "el perro", None)
    assert (card["language"], card["source_language"]) == ("de", "es")
    assert card["state"] == "new"
    assert card["next_review"] is None and card["last_review"] is None
    assert card["stability"] is None and card["difficulty"] is None
    assert (card["reps"], card["lapses"]) == (0, 0)
    assert await read(client, headers, card["id"]) == card

    explicit = await create(
        client, headers, "gato", "cat", note="m.", language="es", source_language="en"
    )
    assert (explicit["language"], explicit["source_language"], explicit["note"]) == (
        "es",
        "en",
        "m.",
    )
    longest = await create(client, headers, "x" * 500, "y" * 1000, note="z" * 5000)
    assert (len(longest["front"]), len(longest["back"]), len(longest["note"])) == (500, 1000, 5000)


BAD_CREATE_BODIES: list[dict[str, Any]] = [
    {"front": "", "back": "b"},
    {"front": "   ", "back": "b"},
    {"front": "a", "back": " \n "},
    {"front": "x" * 501, "back": "b"},
    {"front": "a", "back": "x" * 1001},
    {"front": "a", "back": "b", "note": "n" * 5001},
    {"front": "a"},
    {"back": "b"},
    {"front": "a", "back": "b", "colour": "red"},
    {"front": "a", "back": "b", "language": "French"},
    {"front": "a", "back": "b", "source_language": "EN"},
    {"front": None, "back": "b"},
    {"front": 12, "back": "b"},
]


async def test_create_refuses_bad_input_and_stores_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    for body in BAD_CREATE_BODIES:
        response = await client.post(FLASHCARDS, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        error = assert_error(response, 422, "validation_error")
        assert error["details"], body
    not_json = await client.post(
        FLASHCARDS, content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert_error(not_json, 422, "validation_error")
    assert await scalar(database, "SELECT count(*) FROM flashcards") == 0
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 0
    assert await scalar(database, "SELECT count(*) FROM flashcard_events") == 0


# List and search


async def test_list_is_paged_newest_first(client: httpx.AsyncClient, database: Database) -> None:
    headers = await learner(database)
    created = [await create(client, headers, f"mot {index}") for index in range(5)]
    await create(client, await learner(database), "pas à moi")

    first = (await client.get(FLASHCARDS, params={"limit": 2}, headers=headers)).json()
    second = (
        await client.get(FLASHCARDS, params={"limit": 2, "offset": 2}, headers=headers)
    ).json()
    past_end = (await client.get(FLASHCARDS, params={"offset": 9}, headers=headers)).json()
    newest_first = [card["id"] for card in reversed(created)]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert [card["id"] for card in first["items"]] == newest_first[:2]
    assert [card["id"] for card in second["items"]] == newest_first[2:4]
    assert first["items"][0] == created[-1]
    assert (past_end["items"], past_end["total"]) == ([], 5)

    for params in ({"limit": 101}, {"limit": 0}, {"offset": -1}, {"search": ""}):
        bad = await client.get(FLASHCARDS, params=params, headers=headers)
        assert_error(bad, 422, "validation_error")


async def test_search_matches_either_side_ignoring_case_and_treats_wildcards_literally(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    cat = await create(client, headers, "le Chat", "the cat")
    dog = await create(client, headers, "le chien", "the DOG")
    percent = await create(client, headers, "100% pur", "pure")
    underscore = await create(client, headers, "a_b", "ab")
    backslash = await create(client, headers, "c\\d", "cd")
    await create(client, await learner(database), "chat noir", "black cat")

    async def search(term: str) -> set[str]:
        response = await client.get(FLASHCARDS, params={"search": term}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return {card["id"] for card in page["items"]}

    assert await search("CHAT") == {cat["id"]}
    assert await search("dog") == {dog["id"]}
    assert await search("the") == {cat["id"], dog["id"]}
    assert await search("%") == {percent["id"]}
    assert await search("0% p") == {percent["id"]}
    assert await search("_") == {underscore["id"]}
    assert await search("\\") == {backslash["id"]}
    assert await search("nothing like it") == set()


# Read, edit, delete


async def test_patch_edits_fields_and_keeps_the_schedule(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database)
    card = await create(client, headers, "pomme", "apple", note="fruit")
    reviewed = await review(client, headers, card["id"], 3)
    before = await read(client, headers, card["id"])
    clock.advance(hours=1)

    response = await client.patch(
        f"{FLASHCARDS}/{card['id']}",
        json={"front": "la pomme", "back": "the apple"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert (edited["front"], edited["back"], edited["note"]) == ("la pomme", "the apple", "fruit")
    for field in ("state", "next_review", "last_review", "stability", "difficulty", "reps"):
        assert edited[field] == before[field], field
    assert edited["stability"] == reviewed["stability"]
    assert edited["state"] == "review"
    assert await read(client, headers, card["id"]) == edited


async def test_note_can_be_cleared_with_null_but_front_and_back_cannot(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    card = await create(client, headers, "maison", "house", note="la maison")
    url = f"{FLASHCARDS}/{card['id']}"

    for body in (
        {"front": None},
        {"back": None},
        {"front": ""},
        {"front": "  "},
        {"back": "x" * 1001},
        {"language": "es"},
        {"x": 1},
    ):
        response = await client.patch(url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert assert_error(response, 422, "validation_error")["details"]
    assert await read(client, headers, card["id"]) == card

    unchanged = await client.patch(url, json={}, headers=headers)
    assert unchanged.status_code == 200 and unchanged.json()["note"] == "la maison"

    cleared = await client.patch(url, json={"note": None}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["note"] is None
    assert (await read(client, headers, card["id"]))["note"] is None


async def test_a_duplicate_front_in_the_same_language_is_409_on_create_and_on_patch(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    chat = await create(client, headers, "Chat", "cat")
    chien = await create(client, headers, "chien", "dog")

    for front in ("chat", "CHAT", "  chat  "):
        response = await client.post(
            FLASHCARDS, json={"front": front, "back": "other"}, headers=headers
        )
        assert response.status_code == 409, (front, response.text)
        assert_error(response, 409, "flashcard_exists")
    assert await scalar(database, "SELECT count(*) FROM flashcards") == 2

    for front in ("cHaT", " chat "):
        patched = await client.patch(
            f"{FLASHCARDS}/{chien['id']}", json={"front": front}, headers=headers
        )
        assert patched.status_code == 409, (front, patched.text)
        assert_error(patched, 409, "flashcard_exists")
    assert await read(client, headers, chien["id"]) == chien

    # Another language, another learner, or the card's own front: no conflict.
    await create(client, headers, "chat", "gato", language="es")
    await create(client, await learner(database), "chat", "cat")
    own = await client.patch(f"{FLASHCARDS}/{chat['id']}", json={"front": "chat"}, headers=headers)
    assert own.status_code == 200 and own.json()["front"] == "chat"


async def test_a_front_taken_by_a_concurrent_request_is_409(
    client: httpx.AsyncClient, database: Database
) -> None:
    who = await make_learner(database)
    async with database.session() as session:
        # Another transaction holds the same front, uncommitted: the request does not see it
        # when it checks, then waits on the unique index until that transaction commits.
        session.add(
            Flashcard(user_id=who.id, language="fr", source_language="en", front="Vite", back="x")
        )
        await session.flush()
        request = asyncio.create_task(
            client.post(FLASHCARDS, json={"front": "vite", "back": "fast"}, headers=who.headers)
        )
        await asyncio.sleep(0.5)
        assert not request.done()
    assert_error(await request, 409, "flashcard_exists")
    assert await scalar(database, "SELECT count(*) FROM flashcards") == 1
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 0
    assert await scalar(database, "SELECT count(*) FROM flashcard_events") == 0

    slow = await create(client, who.headers, "lent", "slow")
    async with database.session() as session:
        session.add(
            Flashcard(user_id=who.id, language="fr", source_language="en", front="rapide", back="x")
        )
        await session.flush()
        request = asyncio.create_task(
            client.patch(
                f"{FLASHCARDS}/{slow['id']}", json={"front": "Rapide"}, headers=who.headers
            )
        )
        await asyncio.sleep(0.5)
        assert not request.done()
    assert_error(await request, 409, "flashcard_exists")
    assert await read(client, who.headers, slow["id"]) == slow


async def test_delete_removes_the_card_and_its_schedule(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database)
    card = await create(client, headers, "fromage", "cheese")
    keep = await create(client, headers, "pain", "bread")
    await review(client, headers, card["id"], 2)

    response = await client.delete(f"{FLASHCARDS}/{card['id']}", headers=headers)
    assert response.status_code == 204 and response.content == b""

    assert_error(await client.get(f"{FLASHCARDS}/{card['id']}", headers=headers), 404, "not_found")
    again = await client.delete(f"{FLASHCARDS}/{card['id']}", headers=headers)
    assert_error(again, 404, "not_found")
    listed = (await client.get(FLASHCARDS, headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [keep["id"]]
    assert await scalar(database, "SELECT count(*) FROM flashcards") == 1
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 1
    # Its front is free again.
    await create(client, headers, "fromage", "cheese again")


async def test_another_learners_flashcard_is_404_on_every_route(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    owner = await learner(database)
    intruder = await learner(database)
    card = await create(client, owner, "secret", "hidden", note="mine")
    url = f"{FLASHCARDS}/{card['id']}"

    attempts = [
        ("GET", url, None),
        ("PATCH", url, {"back": "stolen"}),
        ("PATCH", url, {"note": None}),
        ("DELETE", url, None),
        ("POST", f"{url}/review", {"rating": 2}),
        ("GET", f"{url}/events", None),
    ]
    for method, target, body in attempts:
        response = await client.request(method, target, json=body, headers=intruder)
        assert response.status_code == 404, (method, target, response.text)
        assert_error(response, 404, "not_found")

    assert await read(client, owner, card["id"]) == card
    assert [event["kind"] for event in await events(client, owner, card["id"])] == ["created"]
    assert await scalar(database, "SELECT count(*) FROM srs_review_logs") == 0
    assert (await client.get(FLASHCARDS, headers=intruder)).json()["total"] == 0


async def test_a_malformed_id_is_404_like_a_missing_one(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    routes = [
        ("GET", "", None),
        ("PATCH", "", {"back": "x"}),
        ("DELETE", "", None),
        ("POST", "/review", {"rating": 2}),
        ("GET", "/events", None),
    ]
    for method, suffix, body in routes:
        bad = await client.request(
            method, f"{FLASHCARDS}/not-a-uuid{suffix}", json=body, headers=headers
        )
        # Not a UUID names no flashcard; the route only matches ids, so that sibling routes
        # such as /flashcards/export answer 405 to other methods.
        assert bad.status_code == 404, (method, suffix, bad.text)
        assert_error(bad, 404, "not_found")
        missing = await client.request(
            method, f"{FLASHCARDS}/{uuid.uuid4()}{suffix}", json=body, headers=headers
        )
        assert missing.status_code == 404, (method, suffix, missing.text)
        assert_error(missing, 404, "not_found")


async def test_every_route_needs_a_token(client: httpx.AsyncClient, database: Database) -> None:
    headers = await learner(database)
    card = await create(client, headers, "clé", "key")
    routes = [
        ("GET", "", None),
        ("POST", "", {"front": "a", "back": "b"}),
        ("GET", "/export", None),
        ("POST", "/import", None),
        ("GET", "/{id}", None),
        ("PATCH", "/{id}", {"back": "x"}),
        ("DELETE", "/{id}", None),
        ("POST", "/{id}/review", {"rating": 2}),
        ("GET", "/{id}/events", None),
    ]
    for method, path, body in routes:
        url = FLASHCARDS + path.replace("{id}", card["id"])
        response = await client.request(method, url, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert_error(response, 401, "not_authenticated")
        bad_token = await client.request(
            method, url, json=body, headers={"Authorization": "Bearer not-a-token"}
        )
        assert bad_token.status_code == 401, (method, path, bad_token.text)
        assert_error(bad_token, 401, "invalid_token")
    assert await read(client, headers, card["id"]) == card
    assert await scalar(database, "SELECT count(*) FROM flashcards") == 1
    assert await scalar(database, "SELECT count(*) FROM flashcard_events") == 1


# Scheduling


async def test_reviews_are_scheduled_exactly_as_py_fsrs_and_like_words(
    servers: TestServers, database: Database, demo_vocabulary: dict[tuple[str, str], int]
) -> None:
    word_id = demo_vocabulary[("bonjour", "interjection")]
    ratings = [2, 2, 0, 2, 3, 1, 0, 2]
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    expected = fsrs.Card(due=START)
    lapses = 0
    headers = await learner(database)

    async with unfuzzed_client(servers) as (http, clock):
        card = await create(http, headers, "bonjour à tous", "hello everyone")
        for index, rating in enumerate(ratings):
            now = clock.now
            response = await http.post(
                f"{FLASHCARDS}/{card['id']}/review",
                json={"rating": rating, "response_time_ms": 1000 + index},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            result = response.json()
            word_result = await review_word(http, headers, word_id, rating)

            if rating == 0 and expected.state is fsrs.State.Review:
                lapses += 1
            expected, _ = scheduler.review_card(expected, fsrs.Rating(rating + 1), now)
            assert set(result) == REVIEW_FIELDS == set(word_result)
            assert result["flashcard_id"] == card["id"] and result["word_id"] is None
            assert result["state"] == expected.state.name.lower()
            assert result["stability"] == pytest.approx(expected.stability, rel=1e-12)
            assert result["difficulty"] == pytest.approx(expected.difficulty, rel=1e-12)
            assert datetime.fromisoformat(result["next_review"]) == expected.due
            assert result["scheduled_days"] == max((expected.due - now).days, 0)
            assert (result["reps"], result["lapses"]) == (index + 1, lapses)
            # A word reviewed with the same ratings at the same times is scheduled the same.
            assert word_result["word_id"] == word_id and word_result["flashcard_id"] is None
            for field in REVIEW_FIELDS - {"word_id", "flashcard_id"}:
                assert word_result[field] == result[field], field

            clock.now = expected.due + timedelta(hours=index)

        stored = await read(http, headers, card["id"])
        assert stored["state"] == expected.state.name.lower()
        assert stored["stability"] == pytest.approx(expected.stability, rel=1e-12)
        assert time_or_none(stored["next_review"]) == expected.due
        assert time_or_none(stored["last_review"]) == expected.last_review
        assert (stored["reps"], stored["lapses"]) == (len(ratings), 2)
        assert lapses == 2

    logs = await scalar(
        database,
        "SELECT array_agg(l.duration_ms ORDER BY l.id) FROM srs_review_logs l "
        "JOIN srs_cards c ON c.id = l.card_id WHERE c.flashcard_id = :id",
        id=card["id"],
    )
    assert logs == [1000 + index for index in range(len(ratings))]


async def test_a_bad_review_is_422_and_changes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    card = await create(client, headers, "lune", "moon")
    for body in (
        {"rating": 4},
        {"rating": -1},
        {"rating": "good"},
        {},
        {"rating": 2, "response_time_ms": -5},
        {"rating": 2, "word_id": 1},
    ):
        response = await client.post(
            f"{FLASHCARDS}/{card['id']}/review", json=body, headers=headers
        )
        assert response.status_code == 422, (body, response.text)
        assert_error(response, 422, "validation_error")
    assert await read(client, headers, card["id"]) == card
    assert await scalar(database, "SELECT count(*) FROM srs_review_logs") == 0


async def test_flashcards_join_the_queue_only_when_asked(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database, native_language="es")
    card = await create(client, headers, "la mer", "el mar")

    async def queue(include: bool) -> list[dict[str, Any]]:
        params = {"include_flashcards": "true"} if include else {}
        response = await client.get(f"{API}/progress/queue", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item for item in response.json() if item["kind"] == "flashcard"]

    assert await queue(False) == []
    [new] = await queue(True)
    assert new["flashcard_id"] == card["id"] and new["word_id"] is None
    assert (new["word"], new["language"]) == ("la mer", "fr")
    assert new["translations"] == {"es": ["el mar"]}
    assert (new["state"], new["is_new"], new["next_review"]) == ("new", True, None)

    reviewed = await review(client, headers, card["id"], 2)
    assert await queue(True) == []  # learning, due in a few minutes

    due_at = datetime.fromisoformat(reviewed["next_review"])
    clock.now = due_at + timedelta(seconds=1)
    [due] = await queue(True)
    assert due["flashcard_id"] == card["id"]
    assert (due["state"], due["is_new"]) == ("learning", False)
    assert datetime.fromisoformat(due["next_review"]) == due_at
    assert due["retrievability"] is not None
    assert await queue(False) == []

    await client.delete(f"{FLASHCARDS}/{card['id']}", headers=headers)
    assert await queue(True) == []


# History


async def test_events_list_the_history_newest_first(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database)
    card = await create(client, headers, "vent", "wind")
    url = f"{FLASHCARDS}/{card['id']}"
    clock.advance(minutes=1)
    assert (await client.patch(url, json={"back": "the wind"}, headers=headers)).status_code == 200
    clock.advance(minutes=1)
    both = await client.patch(url, json={"front": "le vent", "note": "m."}, headers=headers)
    assert both.status_code == 200
    clock.advance(minutes=1)
    same = await client.patch(
        url, json={"front": "le vent", "back": "the wind", "note": "m."}, headers=headers
    )
    assert same.status_code == 200
    clock.advance(minutes=1)
    reviewed = await review(client, headers, card["id"], 2)

    history = await events(client, headers, card["id"])
    assert [event["kind"] for event in history] == ["reviewed", "updated", "updated", "created"]
    assert history[0]["details"]["rating"] == 2
    assert history[0]["details"]["state"] == reviewed["state"] == "learning"
    assert history[1]["details"]["fields"] == ["front", "note"]
    assert history[2]["details"]["fields"] == ["back"]
    times = [datetime.fromisoformat(event["occurred_at"]) for event in history]
    assert times == [START + timedelta(minutes=minutes) for minutes in (4, 2, 1, 0)]

    page = (await client.get(f"{url}/events", params={"limit": 1}, headers=headers)).json()
    assert (page["total"], [event["kind"] for event in page["items"]]) == (4, ["reviewed"])


async def test_history_outlives_a_deleted_flashcard(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database)
    card = await create(client, headers, "neige", "snow")
    await review(client, headers, card["id"], 2)
    clock.advance(minutes=5)
    assert (await client.delete(f"{FLASHCARDS}/{card['id']}", headers=headers)).status_code == 204

    assert await scalar(database, "SELECT count(*) FROM flashcards") == 0
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 0
    kinds = await scalar(
        database,
        "SELECT array_agg(kind::text ORDER BY id) FROM flashcard_events WHERE flashcard_id = :id",
        id=card["id"],
    )
    assert kinds == ["created", "reviewed", "deleted"]
    deleted = await scalar(
        database,
        "SELECT details FROM flashcard_events WHERE flashcard_id = :id AND kind = 'deleted'",
        id=card["id"],
    )
    assert deleted["front"] == "neige"
    gone = await client.get(f"{FLASHCARDS}/{card['id']}/events", headers=headers)
    assert_error(gone, 404, "not_found")


# Export


@dataclass
class Collection:
    """A learner's cards in every state, for export and import."""

    learner: Learner
    flashcards: dict[str, dict[str, Any]]  # by front
    words: list[int]


async def build_collection(
    client: httpx.AsyncClient,
    database: Database,
    clock: Clock,
    vocabulary: dict[tuple[str, str], int],
    *,
    tricky: bool = True,
) -> Collection:
    """Flashcards new, learning, review and relearning; words new, learning and review."""
    who = await make_learner(database)
    headers = who.headers
    fronts = {
        "new": 'il a dit "bonjour", puis\nest parti' if tricky else "nouveau",
        "learning": "tab\there" if tricky else "appris",
        "review": "revu",
        "relearning": "oublié",
    }
    cards = {
        state: await create(
            client,
            headers,
            front,
            f"back, of {state}" + ("\nsecond line" if tricky else ""),
            note=(f' note "{state}",\nwith lines\n' if tricky and state != "review" else None),
        )
        for state, front in fronts.items()
    }
    await review(client, headers, cards["learning"]["id"], 2)
    await review(client, headers, cards["review"]["id"], 3)
    await review(client, headers, cards["relearning"]["id"], 3)
    learning_word = vocabulary[("bonjour", "interjection")]
    review_word_id = vocabulary[("bonsoir", "interjection")]
    await review_word(client, headers, learning_word, 2)
    await review_word(client, headers, review_word_id, 3)
    clock.advance(days=40)
    await review(client, headers, cards["relearning"]["id"], 0)
    await review_word(client, headers, review_word_id, 1)
    clock.advance(hours=1)

    packs = (await client.get(f"{API}/packs", headers=headers)).json()["items"]
    subscribed = await client.post(f"{API}/packs/{packs[0]['id']}/subscribe", headers=headers)
    assert subscribed.status_code == 201, subscribed.text

    flashcards = {}
    for card in cards.values():
        fresh = await read(client, headers, card["id"])
        flashcards[fresh["front"]] = fresh
    states = {card["state"] for card in flashcards.values()}
    assert states == {"new", "learning", "review", "relearning"}
    return Collection(who, flashcards, [learning_word, review_word_id])


async def test_csv_export_has_every_card_with_the_apis_state(
    client: httpx.AsyncClient,
    database: Database,
    clock: Clock,
    demo_vocabulary: dict[tuple[str, str], int],
) -> None:
    mine = await build_collection(client, database, clock, demo_vocabulary)
    headers = mine.learner.headers
    await create(client, await learner(database), "pas exporté", "not mine")

    response = await export(client, headers)
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and ".csv" in disposition
    header, rows = parse_csv(response.text)
    assert header == CSV_COLUMNS
    assert len(rows) == await cards_of(database, mine.learner)
    assert {row["kind"] for row in rows} == {"word", "flashcard"}

    flashcard_rows = {row["front"]: row for row in rows if row["kind"] == "flashcard"}
    assert set(flashcard_rows) == set(mine.flashcards)
    for front, card in mine.flashcards.items():
        row = flashcard_rows[front]
        assert row["word_id"] == ""
        assert (row["back"], row["note"] or None) == (card["back"], card["note"])
        assert (row["language"], row["source_language"]) == ("fr", "en")
        assert row["state"] == card["state"]
        assert time_or_none(row["due"]) == time_or_none(card["next_review"])
        assert time_or_none(row["last_review"]) == time_or_none(card["last_review"])
        for number in ("stability", "difficulty"):
            value = float(row[number]) if row[number] else None
            assert value == card[number], (front, number)
        assert (int(row["reps"]), int(row["lapses"])) == (card["reps"], card["lapses"])
    assert flashcard_rows["revu"]["step"] == ""
    assert flashcard_rows["tab\there"]["step"] == "1"

    word_rows = {int(row["word_id"]): row for row in rows if row["kind"] == "word"}
    for word_id in mine.words:
        progress = (await client.get(f"{API}/progress/{word_id}", headers=headers)).json()
        row = word_rows[word_id]
        assert row["front"] == progress["word"]
        assert row["state"] == progress["state"]
        assert float(row["stability"]) == progress["stability"]
        assert float(row["difficulty"]) == progress["difficulty"]
        assert time_or_none(row["due"]) == time_or_none(progress["next_review"])
        assert time_or_none(row["last_review"]) == time_or_none(progress["last_review"])
        assert (int(row["reps"]), int(row["lapses"])) == (progress["reps"], progress["lapses"])
    bonjour = word_rows[demo_vocabulary[("bonjour", "interjection")]]
    assert bonjour["back"].split(" | ")[0] == "hello"
    assert (bonjour["language"], bonjour["source_language"]) == ("fr", "en")
    new_words = [row for row in word_rows.values() if row["state"] == "new"]
    assert new_words and all(row["due"] == row["last_review"] == "" for row in new_words)

    _, only_flashcards = parse_csv((await export(client, headers, cards="flashcards")).text)
    _, only_words = parse_csv((await export(client, headers, cards="words")).text)
    assert only_flashcards == [row for row in rows if row["kind"] == "flashcard"]
    assert only_words == [row for row in rows if row["kind"] == "word"]
    _, explicit = parse_csv((await export(client, headers, format="csv", cards="all")).text)
    assert explicit == rows


async def test_export_refuses_unknown_formats_and_is_empty_without_cards(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    header, rows = parse_csv((await export(client, headers)).text)
    assert (header, rows) == (CSV_COLUMNS, [])
    for params in ({"format": "pdf"}, {"format": ""}, {"cards": "some"}):
        response = await client.get(f"{FLASHCARDS}/export", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert_error(response, 422, "validation_error")


async def test_anki_export_has_file_headers_stable_guids_and_quoted_fields(
    client: httpx.AsyncClient, database: Database, clock: Clock
) -> None:
    headers = await learner(database)
    tricky = await create(
        client, headers, "tab\tfront", 'back "quoted"\nsecond line', note="note\twith\ttabs\n"
    )
    plain = await create(client, headers, "simple", "plain")
    windows = await create(client, headers, "windows", "line\r\nbreak", note="cr\ronly")

    first = await export(client, headers, format="anki")
    assert first.headers["content-type"].startswith("text/tab-separated-values")
    assert first.headers["content-disposition"].startswith("attachment")
    file_headers, columns, rows = parse_anki(first.text)
    for expected in (
        "#separator:tab",
        "#html:false",
        "#notetype:Basic",
        "#guid column:1",
        "#tags column:4",
    ):
        assert expected in file_headers
    assert columns[:4] == ["GUID", "Front", "Back", "Tags"]
    assert len(rows) == 3

    by_front = {row["Front"]: row for row in rows}
    for card in (tricky, plain, windows):
        row = by_front[card["front"]]
        assert row["Back"] == card["back"]
        assert (row["Note"] or None) == card["note"]
        assert "linguo::state::new" in row["Tags"].split(" ")
        assert row["State"] == "new"
    guids = [row["GUID"] for row in rows]
    assert len(set(guids)) == 3 and all(guids)

    await review(client, headers, plain["id"], 3)
    await client.patch(f"{FLASHCARDS}/{plain['id']}", json={"back": "edited"}, headers=headers)
    _, _, again = parse_anki((await export(client, headers, format="anki")).text)
    assert {row["Front"]: row["GUID"] for row in again} == {
        row["Front"]: row["GUID"] for row in rows
    }
    edited = next(row for row in again if row["Front"] == "simple")
    assert edited["Back"] == "edited"
    assert "linguo::state::review" in edited["Tags"].split(" ")
    assert edited["State"] == "review"
    assert float(edited["Stability"]) == (await read(client, headers, plain["id"]))["stability"]


# Import


async def test_import_restores_another_learners_export_exactly(
    client: httpx.AsyncClient,
    database: Database,
    clock: Clock,
    demo_vocabulary: dict[tuple[str, str], int],
) -> None:
    source = await build_collection(client, database, clock, demo_vocabulary)
    exported = (await export(client, source.learner.headers)).text
    _, source_rows = parse_csv(exported)
    target = await make_learner(database)
    clock.advance(days=3)

    response = await import_file(client, target.headers, exported.encode())
    assert response.status_code == 200, response.text
    assert response.json() == {"created": len(source_rows), "skipped": 0}

    _, target_rows = parse_csv((await export(client, target.headers)).text)
    assert sorted(target_rows, key=row_key) == sorted(source_rows, key=row_key)

    listed = (await client.get(FLASHCARDS, headers=target.headers)).json()["items"]
    restored = {card["front"]: card for card in listed}
    assert set(restored) == set(source.flashcards)
    for front, card in source.flashcards.items():
        copy = restored[front]
        assert copy["id"] != card["id"]
        for field in (
            "back",
            "note",
            "language",
            "source_language",
            "state",
            "next_review",
            "last_review",
            "stability",
            "difficulty",
            "reps",
            "lapses",
        ):
            assert copy[field] == card[field], (front, field)
    # The source learner's cards are untouched.
    _, source_again = parse_csv((await export(client, source.learner.headers)).text)
    assert source_again == source_rows

    # Restored cards go on being scheduled exactly like the originals.
    original = source.flashcards["revu"]
    review_of_original = await review(client, source.learner.headers, original["id"], 2)
    review_of_copy = await review(client, target.headers, restored["revu"]["id"], 2)
    for field in ("state", "stability", "difficulty", "reps", "lapses"):
        assert review_of_copy[field] == review_of_original[field], field

    before = await cards_of(database, target)
    again = await import_file(client, target.headers, exported.encode())
    assert again.status_code == 200, again.text
    assert again.json() == {"created": 0, "skipped": len(source_rows)}
    assert await cards_of(database, target) == before


async def test_import_skips_fronts_the_learner_already_has(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    mine = await create(client, headers, "Soleil", "my own sun")
    rows = [
        {
            "kind": "flashcard",
            "word_id": "",
            "front": front,
            "back": "sun",
            "note": "",
            "language": "fr",
            "source_language": "en",
            "state": "new",
            "step": "",
            "due": "",
            "last_review": "",
            "stability": "",
            "difficulty": "",
            "reps": "0",
            "lapses": "0",
        }
        for front in ("soleil", "ciel", "CIEL")
    ]
    response = await import_file(client, headers, write_csv(CSV_COLUMNS, rows))
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "skipped": 2}
    assert (await read(client, headers, mine["id"]))["back"] == "my own sun"
    assert await scalar(database, "SELECT count(*) FROM flashcards") == 2


def _row_index(rows: list[Row], kind: str, state: str) -> int:
    return next(
        index for index, row in enumerate(rows) if row["kind"] == kind and row["state"] == state
    )


# (column to change, new value, kind and state of the row changed, word in the error)
BAD_CELLS = [
    ("state", "mastered", "flashcard", "review", "state"),
    ("word_id", "999999", "word", "review", "word_id"),
    ("stability", "-1", "flashcard", "review", "stability"),
    ("stability", "1e9", "word", "review", "stability"),
    ("stability", "nan", "word", "learning", "stability"),
    ("difficulty", "11", "flashcard", "learning", "difficulty"),
    ("due", "2026-04-01T12:00:00", "flashcard", "review", "due"),
    ("last_review", "yesterday", "word", "learning", "last_review"),
    ("kind", "sentence", "flashcard", "new", "kind"),
    ("language", "French", "flashcard", "new", "language"),
    ("front", "", "flashcard", "learning", "front"),
    ("step", "", "flashcard", "relearning", "step"),
    ("reps", "two", "flashcard", "review", "reps"),
    ("reps", "\u00b2", "flashcard", "review", "reps"),
    ("reps", "3000000000", "flashcard", "review", "reps"),
    ("lapses", "-1", "word", "review", "lapses"),
    ("step", "99999999999", "flashcard", "learning", "step"),
    ("word_id", "99999999999", "word", "review", "word_id"),
    ("note", "n" * 5001, "flashcard", "review", "note"),
]


async def test_a_bad_backup_is_refused_whole_naming_the_line(
    client: httpx.AsyncClient,
    database: Database,
    clock: Clock,
    demo_vocabulary: dict[tuple[str, str], int],
) -> None:
    source = await build_collection(client, database, clock, demo_vocabulary, tricky=False)
    header, rows = parse_csv((await export(client, source.learner.headers)).text)
    target = await make_learner(database)
    await create(client, target.headers, "déjà là", "already here")

    cases: list[tuple[str, bytes, int, str]] = []
    for column, value, kind, state, problem in BAD_CELLS:
        index = _row_index(rows, kind, state)
        changed = [dict(row) for row in rows]
        changed[index][column] = value
        cases.append((f"{column}={value[:20]}", write_csv(header, changed), index + 2, problem))
    without_stability = [column for column in header if column != "stability"]
    cases.append(("no stability column", write_csv(without_stability, rows), 1, "stability"))
    index = _row_index(rows, "flashcard", "review")
    marked = [dict(row) for row in rows]
    marked[index]["front"] = "MARKER"
    latin1 = write_csv(header, marked).replace(b"MARKER", b"caf\xe9")
    cases.append(("latin-1 bytes", latin1, index + 2, "UTF-8"))

    for name, content, line, problem in cases:
        response = await import_file(client, target.headers, content)
        assert response.status_code == 400, (name, response.text)
        error = assert_error(response, 400, "bad_request")
        errors = error["details"]["errors"] if error["details"] else []
        assert any(
            message.startswith(f"line {line}:") and problem in message for message in errors
        ), (name, errors)
        assert await cards_of(database, target) == 1, name
        assert await flashcards_of(database, target) == 1, name


async def test_a_file_that_is_no_backup_is_400(
    client: httpx.AsyncClient, database: Database
) -> None:
    headers = await learner(database)
    header = ",".join(CSV_COLUMNS)
    for content in (
        b"",
        b"\xef\xbb\xbf",
        b"just some text\n",
        b"kind,front\nflashcard,x\n",
        (header + '\r\nflashcard,,"open,b').encode(),
        (header + "\r\nflashcard,,a,b,,fr,en,new,,,,,,0,0,extra\r\n").encode(),
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ):
        response = await import_file(client, headers, content)
        assert response.status_code == 400, (content, response.text)
        error = assert_error(response, 400, "bad_request")
        assert error["details"]["errors"], content
    missing_file = await client.post(f"{FLASHCARDS}/import", headers=headers)
    assert_error(missing_file, 422, "validation_error")
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 0


def _backup_of_size(size: int) -> bytes:
    lines = [",".join(CSV_COLUMNS) + "\r\n"]
    total = len(lines[0])
    while total < size:
        line = f"flashcard,,mot {len(lines)} {'x' * 400},back,,fr,en,new,,,,,,0,0\r\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


async def test_a_backup_over_the_body_limit_is_refused_and_imports_nothing(
    servers: TestServers, database: Database
) -> None:
    headers = await learner(database)
    settings = make_settings(servers, max_body_bytes=256 * 1024)
    async with running_app(settings) as application, client_for(application) as http:
        fits = await import_file(http, headers, _backup_of_size(200 * 1024))
        assert fits.status_code == 200, fits.text
        cards = await scalar(database, "SELECT count(*) FROM srs_cards")
        assert cards > 0
        big = _backup_of_size(300 * 1024)
        assert_error(await import_file(http, headers, big), 413, "payload_too_large")
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == cards
