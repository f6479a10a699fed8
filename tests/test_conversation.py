"""Conversation sessions with the offline tutor, over REST and WebSocket.

WebSocket tests run real uvicorn servers on loopback: two clients on one session, and two
app instances sharing Redis where a message sent to one reaches a client of the other.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection

from linguo.app import create_app
from linguo.conversation.service import HISTORY_MESSAGES, ConversationTurnCompleted
from linguo.core.db import Database
from linguo.core.events import events
from tests.conftest import (
    TestServers,
    UserFactory,
    client_for,
    make_settings,
    running_app,
    scalar,
)
from tests.services import free_port
from tests.test_llm_providers import FakeServer, Reply

API = "/api/v1"
Vocabulary = dict[tuple[str, str], int]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return dict(error)


async def new_session(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/sessions", json={"planned_duration_minutes": 15, **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def say(
    client: httpx.AsyncClient, session_id: str, headers: dict[str, str], content: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/sessions/{session_id}/messages", json={"content": content, **body}, headers=headers
    )


@pytest.fixture
def turns_seen() -> Any:
    seen: list[ConversationTurnCompleted] = []

    async def remember(_session: Any, event: ConversationTurnCompleted) -> None:
        seen.append(event)

    events.subscribe(ConversationTurnCompleted)(remember)
    yield seen
    events._handlers[ConversationTurnCompleted].remove(remember)


# --- REST --------------------------------------------------------------------------------


async def test_a_conversation_with_the_offline_tutor(
    client: httpx.AsyncClient,
    database: Database,
    user_factory: UserFactory,
    demo_vocabulary: Vocabulary,
    turns_seen: list[ConversationTurnCompleted],
) -> None:
    _, headers, _ = await user_factory(
        target_language="fr", native_language="en", proficiency_level="A2"
    )
    created = await new_session(client, headers, topic="food", conversation_style="travel")
    session = created["session"]
    assert session["status"] == "in_progress" and session["language"] == "fr"
    assert session["conversation_style"] == "travel" and session["level"] == "A2"
    greeting = created["assistant_turn"]
    assert greeting["message"]["role"] == "assistant"
    assert greeting["message"]["engine"] == "offline"
    assert greeting["message"]["content"].strip()
    targets = greeting["targets"]
    assert 1 <= len(targets) <= 2
    assert all(target["word"] in greeting["message"]["content"] for target in targets)

    # The learner uses the first target word, with an article error elsewhere.
    word = targets[0]["word"]
    content = f"J'aime {word} et je mange avec la chien."
    response = await say(client, session["id"], headers, content)
    assert response.status_code == 200, response.text
    turn = response.json()
    assert turn["user_message"]["content"] == content and turn["user_message"]["role"] == "user"
    errors = turn["error_feedback"]["errors"]
    assert errors, turn["error_feedback"]
    for error in errors:
        start, end = error["span"]["start"], error["span"]["end"]
        assert 0 <= start < end <= len(content)
        assert error["explanation"] and error["category"]
    assert any(
        "chien" in content[e["span"]["start"] : e["span"]["end"]]
        or content[e["span"]["start"] : e["span"]["end"]] == "la"
        for e in errors
    )
    feedback = {item["word_id"]: item for item in turn["word_feedback"]}
    used = feedback[targets[0]["word_id"]]
    assert used["was_used"] is True and used["had_error"] is False and used["rating"] == 2
    if len(targets) > 1:
        assert feedback[targets[1]["word_id"]]["was_used"] is False, (targets, content)
    assert turn["xp_awarded"] == 2 + 1  # a real turn, one word used well, not error-free
    assert turn["assistant_turn"]["message"]["engine"] == "offline"
    assert turn["session"]["turn_count"] == 1 and turn["session"]["xp_earned"] == 3
    # The word's use was logged as a spaced-repetition review from the conversation.
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM srs_review_logs l JOIN srs_cards c ON c.id = l.card_id "
            "WHERE l.source = 'conversation' AND c.word_id = :w",
            w=targets[0]["word_id"],
        )
        == 1
    )
    assert len(turns_seen) == 1 and turns_seen[0].xp_awarded == 3

    # The same error again: the error memory counts it, and it becomes a focus point.
    again = (await say(client, session["id"], headers, "Je parle avec la chien.")).json()
    assert again["error_feedback"]["errors"]
    occurrences = await scalar(database, "SELECT max(occurrences) FROM learner_error_memory")
    assert occurrences >= 2

    # A clean third turn: the tutor brings the recurring mistake back as a focus point.
    remembered = await scalar(
        database, "SELECT explanation FROM learner_error_memory ORDER BY occurrences DESC LIMIT 1"
    )
    clean = (await say(client, session["id"], headers, "Bonjour, je suis ici.")).json()
    assert clean["error_feedback"]["errors"] == [], clean["error_feedback"]
    assert remembered in clean["assistant_turn"]["message"]["content"]

    page = (
        await client.get(
            f"{API}/sessions/{session['id']}/messages", params={"limit": 3}, headers=headers
        )
    ).json()
    assert page["total"] == 7  # greeting + 3 x (learner, tutor)
    assert [m["role"] for m in page["items"]] == ["assistant", "user", "assistant"]

    summary = (await client.get(f"{API}/sessions/{session['id']}/summary", headers=headers)).json()
    assert summary["turns"] == 3 and summary["accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert summary["xp"] == turn["session"]["xp_earned"] + again["xp_awarded"] + clean["xp_awarded"]
    assert [w["word_id"] for w in summary["words_practised"]] == [targets[0]["word_id"]]
    assert summary["top_errors"] and summary["top_errors"][0]["occurrences"] >= 2


async def test_a_repeated_message_earns_no_xp_however_long_the_session(
    client: httpx.AsyncClient, user_factory: UserFactory, demo_vocabulary: Vocabulary
) -> None:
    """Saying a message again (case and accents aside) earns nothing, even once it has left
    the tutor's history window."""
    _, headers, _ = await user_factory(target_language="fr", native_language="en")
    session_id = (await new_session(client, headers))["session"]["id"]
    first = "Je mange une pomme rouge ce matin."
    opening = (await say(client, session_id, headers, first)).json()
    assert opening["xp_awarded"] > 0
    again = (await say(client, session_id, headers, "JE MANGE une pomme rouge ce matin.")).json()
    assert again["xp_awarded"] == 0 and again["session"]["turn_count"] == 2
    for number in range(HISTORY_MESSAGES // 2):  # push the first message out of the window
        said = await say(client, session_id, headers, f"Le train numéro {number} part bientôt.")
        assert said.json()["xp_awarded"] > 0, said.text
    late = (await say(client, session_id, headers, first)).json()
    assert late["xp_awarded"] == 0 and late["session"]["turn_count"] == 3 + HISTORY_MESSAGES // 2


async def test_explanations_are_in_the_learners_language(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory(target_language="fr", native_language="es")
    session = (await new_session(client, headers, generate_greeting=False))["session"]
    turn = (await say(client, session["id"], headers, "Je mange avec la chien.")).json()
    explanations = " ".join(e["explanation"] for e in turn["error_feedback"]["errors"])
    assert explanations
    assert any(word in explanations.lower() for word in (" el ", " la ", " es ", "masculino"))


async def test_status_changes_and_closed_sessions(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory()
    session = (await new_session(client, headers, generate_greeting=False))["session"]
    url = f"{API}/sessions/{session['id']}"
    paused = await client.patch(url, json={"status": "paused"}, headers=headers)
    assert paused.json()["status"] == "paused"
    # A message resumes a paused session.
    assert (await say(client, session["id"], headers, "Bonjour, ça va bien ?")).status_code == 200
    assert (await client.get(url, headers=headers)).json()["status"] == "in_progress"
    completed = (await client.patch(url, json={"status": "completed"}, headers=headers)).json()
    assert completed["status"] == "completed" and completed["ended_at"]
    again = await client.patch(url, json={"status": "completed"}, headers=headers)
    assert again.status_code == 200  # idempotent
    assert_error(
        await client.patch(url, json={"status": "in_progress"}, headers=headers),
        409,
        "session_closed",
    )
    assert_error(
        await say(client, session["id"], headers, "Encore un message"), 409, "session_closed"
    )
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM conversation_messages WHERE session_id = :s",
            s=uuid.UUID(session["id"]),
        )
        == 2
    )


async def test_bad_requests_are_refused_and_change_nothing(
    client: httpx.AsyncClient, database: Database, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory()
    for body in (
        {"planned_duration_minutes": 15, "conversation_style": "karaoke"},
        {"planned_duration_minutes": 4},
        {"planned_duration_minutes": 181},
        {"planned_duration_minutes": "15"},
        {"planned_duration_minutes": 15, "topic": ""},
        {"planned_duration_minutes": 15, "colour": "red"},
        {},
    ):
        assert_error(
            await client.post(f"{API}/sessions", json=body, headers=headers),
            422,
            "validation_error",
        )
    assert await scalar(database, "SELECT count(*) FROM conversation_sessions") == 0

    session = (await new_session(client, headers, generate_greeting=False))["session"]
    bad_messages: list[dict[str, Any]] = [
        {"content": ""},
        {"content": "x" * 2001},
        {"content": "hola", "suggested_word_ids": ["1"]},
        {"content": "hola", "suggested_word_ids": [0]},
        {},
    ]
    for body in bad_messages:
        response = await client.post(
            f"{API}/sessions/{session['id']}/messages", json=body, headers=headers
        )
        assert_error(response, 422, "validation_error")
    assert_error(
        await client.patch(
            f"{API}/sessions/{session['id']}", json={"status": "sleeping"}, headers=headers
        ),
        422,
        "validation_error",
    )
    _, stranger, _ = await user_factory()
    for method, path in (
        ("GET", ""),
        ("GET", "/messages"),
        ("GET", "/summary"),
    ):
        assert_error(
            await client.request(method, f"{API}/sessions/{session['id']}{path}", headers=stranger),
            404,
            "not_found",
        )
    assert_error(await say(client, session["id"], stranger, "Bonjour"), 404, "not_found")
    assert_error(await say(client, str(uuid.uuid4()), headers, "Bonjour"), 404, "not_found")
    assert await scalar(database, "SELECT count(*) FROM conversation_messages") == 0


@pytest.mark.parametrize(
    "style",
    ["tutor", "casual", "travel", "business", "roleplay", "storytelling", "debate", "interviewer"],
)
async def test_every_style_greets(
    client: httpx.AsyncClient, user_factory: UserFactory, style: str
) -> None:
    _, headers, _ = await user_factory(target_language="es", native_language="en")
    created = await new_session(client, headers, conversation_style=style)
    assert created["assistant_turn"]["message"]["content"].strip()


# --- WebSocket ---------------------------------------------------------------------------


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve the app with uvicorn on a free loopback port; yields its ws:// base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_level="warning",
            ws="websockets-sansio",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}{API}"
    finally:
        server.should_exit = True
        await task


async def receive(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of a type, skipping others (deltas, typing...)."""
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == kind:
                return dict(message)


async def received_types(socket: ClientConnection, until: str) -> list[str]:
    kinds = []
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await socket.recv())
            kinds.append(message["type"])
            if message["type"] == until:
                return kinds


@pytest.fixture
async def ws_app(servers: TestServers) -> AsyncIterator[str]:
    async with serving(create_app(make_settings(servers))) as url:
        yield url


def socket_url(base: str, session_id: str, token: str) -> str:
    return f"{base}/sessions/{session_id}/ws?token={token}"


async def test_two_clients_share_a_session(
    client: httpx.AsyncClient, user_factory: UserFactory, ws_app: str
) -> None:
    user, headers, tokens = await user_factory(target_language="fr")
    session = (await new_session(client, headers, generate_greeting=False))["session"]
    url = socket_url(ws_app, session["id"], tokens["access_token"])
    async with websockets.connect(url) as first, websockets.connect(url) as second:
        ready = await receive(first, "session_ready")
        assert ready["data"]["session"]["id"] == session["id"]
        assert ready["data"]["active_user_ids"] == [user["id"]]
        await receive(second, "session_ready")

        await first.send(json.dumps({"type": "typing", "is_typing": True}))
        typing = await receive(second, "typing")
        assert typing["data"] == {"user_id": user["id"], "is_typing": True}

        await first.send(json.dumps({"type": "user_message", "content": "Bonjour, je suis Ana."}))
        for socket in (first, second):
            kinds = await received_types(socket, "turn_result")
            assert "assistant_delta" in kinds and kinds[-1] == "turn_result"
        # The typing notice went to the other connection only.
        await first.send(json.dumps({"type": "heartbeat"}))
        beat = json.loads(await first.recv())
        assert beat["type"] == "heartbeat" and beat["data"]["server_time"]

        # A turn taken over REST reaches the sockets too.
        http_base = ws_app.replace("ws://", "http://")
        async with httpx.AsyncClient(base_url=http_base) as http:
            response = await http.post(
                f"/sessions/{session['id']}/messages",
                json={"content": "Et toi, tu vas bien ?"},
                headers=headers,
            )
            assert response.status_code == 200, response.text
        pushed = await receive(second, "turn_result")
        assert pushed["data"]["user_message"]["content"] == "Et toi, tu vas bien ?"

    messages = (
        await client.get(f"{API}/sessions/{session['id']}/messages", headers=headers)
    ).json()
    assert [m["role"] for m in messages["items"]] == ["user", "assistant"] * 2


async def test_bad_payloads_keep_the_socket_open(
    client: httpx.AsyncClient, user_factory: UserFactory, ws_app: str
) -> None:
    _, headers, tokens = await user_factory()
    session = (await new_session(client, headers, generate_greeting=False))["session"]
    async with websockets.connect(socket_url(ws_app, session["id"], tokens["access_token"])) as ws:
        await receive(ws, "session_ready")
        for bad in (
            "not json",
            json.dumps({"type": "dance"}),
            json.dumps({"type": "user_message"}),
            json.dumps({"type": "user_message", "content": ""}),
            json.dumps({"type": "typing", "is_typing": "yes"}),
            json.dumps([1, 2]),
        ):
            await ws.send(bad)
            error = await receive(ws, "error")
            assert error["data"]["code"] == "validation_error" and error["data"]["detail"]
        await ws.send(json.dumps({"type": "heartbeat"}))
        assert (await receive(ws, "heartbeat"))["data"]["server_time"]
        # A closed session refuses messages on the socket too, and the socket stays open.
        await client.patch(
            f"{API}/sessions/{session['id']}", json={"status": "completed"}, headers=headers
        )
        await ws.send(json.dumps({"type": "user_message", "content": "Encore ?"}))
        assert (await receive(ws, "error"))["data"]["code"] == "session_closed"
        await ws.send(json.dumps({"type": "heartbeat"}))
        await receive(ws, "heartbeat")


@pytest.mark.parametrize("case", ["no token", "bad token", "someone else's", "no session"])
async def test_unauthorised_sockets_close_with_1008(
    client: httpx.AsyncClient, user_factory: UserFactory, ws_app: str, case: str
) -> None:
    _, headers, tokens = await user_factory()
    _, _, stranger = await user_factory()
    session = (await new_session(client, headers, generate_greeting=False))["session"]
    urls: dict[str, str] = {
        "no token": f"{ws_app}/sessions/{session['id']}/ws",
        "bad token": socket_url(ws_app, session["id"], "not-a-token"),
        "someone else's": socket_url(ws_app, session["id"], stranger["access_token"]),
        "no session": socket_url(ws_app, str(uuid.uuid4()), tokens["access_token"]),
    }
    async with websockets.connect(urls[case]) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_two_api_instances_share_sessions_through_redis(
    client: httpx.AsyncClient, user_factory: UserFactory, servers: TestServers
) -> None:
    user, headers, tokens = await user_factory()
    session = (await new_session(client, headers, generate_greeting=False))["session"]
    settings = make_settings(servers, redis_url=servers.redis_url)
    async with (
        serving(create_app(settings)) as one,
        serving(create_app(settings)) as two,
        websockets.connect(socket_url(one, session["id"], tokens["access_token"])) as first,
    ):
        await receive(first, "session_ready")
        async with websockets.connect(
            socket_url(two, session["id"], tokens["access_token"])
        ) as second:
            ready = await receive(second, "session_ready")
            assert ready["data"]["active_user_ids"] == [user["id"]]  # seen from the other replica
            await first.send(json.dumps({"type": "typing", "is_typing": True}))
            assert (await receive(second, "typing"))["data"]["is_typing"] is True
            await first.send(json.dumps({"type": "user_message", "content": "Salut, ça va ?"}))
            result = await receive(second, "turn_result")
            assert result["data"]["user_message"]["content"] == "Salut, ça va ?"
            assert result["data"]["assistant_turn"]["message"]["engine"] == "offline"


# --- with a language model ---------------------------------------------------------------


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[FakeServer]:
    server = FakeServer("openai")
    server.start()
    yield server
    server.stop()


@asynccontextmanager
async def llm_client(servers: TestServers, fake: FakeServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        servers,
        llm_primary="openai",
        llm_openai_base_url=fake.base_url,
        llm_openai_model="tutor-model",
        llm_timeout_seconds=5,
        llm_max_retries=0,
    )
    async with running_app(settings) as app, client_for(app) as http:
        yield http


async def test_a_configured_model_reviews_and_replies(
    servers: TestServers, user_factory: UserFactory, openai_fake: FakeServer
) -> None:
    openai_fake.reset()
    _, headers, _ = await user_factory(target_language="fr", native_language="en")
    review = {
        "errors": [
            # Tense: the offline analysers miss it, the model finds it.
            {
                "quote": "je mange",
                "suggestion": "j'ai mangé",
                "category": "conjugation",
                "explanation": "Use the passé composé for a finished action.",
            },
            {  # not in the text: dropped
                "quote": "il pleut",
                "suggestion": "il pleuvait",
                "category": "conjugation",
                "explanation": "?",
            },
        ]
    }
    openai_fake.script(Reply(text=json.dumps(review)), Reply(text="Ah, une pomme ! Et ce soir ?"))
    content = "Hier je mange une pomme."
    async with llm_client(servers, openai_fake) as http:
        session = (await new_session(http, headers, generate_greeting=False))["session"]
        turn = (await say(http, session["id"], headers, content)).json()
    (error,) = turn["error_feedback"]["errors"]
    assert error["code"] == "review.conjugation" and error["suggestion"] == "j'ai mangé"
    assert content[error["span"]["start"] : error["span"]["end"]] == "je mange"
    reply = turn["assistant_turn"]["message"]
    assert reply["engine"] == "openai" and reply["content"] == "Ah, une pomme ! Et ce soir ?"
    assert openai_fake.models == ["tutor-model", "tutor-model"]
    system = openai_fake.requests[1].body["messages"][0]
    assert system["role"] == "system" and "French" in system["content"]
    assert "A1" in system["content"]  # the learner's level
    assert openai_fake.requests[1].body["messages"][-1]["content"] == content


async def test_a_failing_model_falls_back_to_the_offline_tutor(
    servers: TestServers, user_factory: UserFactory, openai_fake: FakeServer
) -> None:
    openai_fake.reset(default=Reply(status=500))
    _, headers, _ = await user_factory(target_language="fr", native_language="en")
    async with llm_client(servers, openai_fake) as http:
        created = await new_session(http, headers)
        assert created["assistant_turn"]["message"]["engine"] == "offline"
        turn = (
            await say(http, created["session"]["id"], headers, "Je mange avec la chien.")
        ).json()
    assert turn["assistant_turn"]["message"]["engine"] == "offline"
    assert turn["error_feedback"]["errors"]  # the offline analysers still answered
    assert len(openai_fake.requests) == 3  # greeting, review, reply: one try each
