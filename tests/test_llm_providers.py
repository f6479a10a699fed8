"""The LLM providers against local servers speaking the OpenAI and Anthropic protocols.

Each fake server runs in a thread (Starlette + uvicorn on 127.0.0.1, a free port) and plays
a script of replies: success, 429 with Retry-After, 5xx, 4xx, a delay longer than the
timeout, a stream that stalls or breaks. It records every request, so the tests can count
the attempts and check what each provider was sent. No database is needed.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from linguo.config import Settings
from linguo.core.metrics import registry
from linguo.providers.llm import (
    ChatMessage,
    ChatResult,
    LLMUnavailable,
    ProviderChain,
    StreamInterrupted,
    build_chain,
)

Flavor = Literal["openai", "anthropic"]
TIMEOUT = 0.4  # seconds; a scripted delay of SLOW always exceeds it
SLOW = 1.0
OPENAI_MODEL = "gpt-test-mini"
ANTHROPIC_MODEL = "claude-test-haiku"
REPLY = "Très bien ! Qu'est-ce que tu as acheté au marché ?"
MESSAGES = [
    ChatMessage("system", "You are a patient French tutor."),
    ChatMessage("user", "Je suis allé au marché hier."),
]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "corrected": {"type": "string"},
        "errors": {"type": "integer"},
    },
    "required": ["corrected", "errors"],
    "additionalProperties": False,
}


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Override conftest's database and Redis cleanup: these tests need neither."""
    yield


# --- fake servers -----------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    text: str = REPLY
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the response starts
    stall: float = 0.0  # streaming: after the headers, before the first delta
    fail_after: int | None = None  # streaming: break the stream after this many deltas
    pause_after: int | None = None  # streaming: go silent for SLOW after this many deltas
    tool_input: dict[str, Any] | None = None  # Anthropic structured output
    input_tokens: int = 17


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def pieces(text: str) -> list[str]:
    """The deltas a server streams for `text` (a word and its trailing space each)."""
    return re.findall(r"\S+\s*", text)


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One Server-Sent Event."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class FakeServer:
    """A scriptable server speaking the OpenAI or the Anthropic protocol."""

    def __init__(self, flavor: Flavor) -> None:
        self.flavor = flavor
        self.requests: list[Seen] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self._lock = threading.Lock()
        path = "/v1/chat/completions" if flavor == "openai" else "/v1/messages"
        app = Starlette(routes=[Route(path, self.handle, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        """Serve in the background until `stop`."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "fake server did not start"
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Shut the server down."""
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        """The base URL the SDK is given."""
        root = f"http://127.0.0.1:{self.port}"
        return f"{root}/v1" if self.flavor == "openai" else root

    def reset(self, default: Reply | None = None) -> None:
        """Forget requests and scripted replies."""
        with self._lock:
            self.requests.clear()
            self.replies.clear()
            self.default = default or Reply()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, then with `default`."""
        with self._lock:
            self.replies.extend(replies)

    @property
    def models(self) -> list[str]:
        """The model name of every request received."""
        return [seen.body["model"] for seen in self.requests]

    async def handle(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(Seen(request.url.path, dict(request.headers), body))
            reply = self.replies.popleft() if self.replies else self.default
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(self.error_body(reply.status), reply.status, reply.headers)
        if body.get("stream"):
            events = self.openai_events if self.flavor == "openai" else self.anthropic_events
            return StreamingResponse(
                events(body, reply), media_type="text/event-stream", headers=reply.headers
            )
        make = self.openai_completion if self.flavor == "openai" else self.anthropic_message
        return JSONResponse(make(body, reply), headers=reply.headers)

    def error_body(self, status: int) -> dict[str, Any]:
        if self.flavor == "openai":
            kind = "rate_limit_exceeded" if status == 429 else "server_error"
            return {"error": {"message": f"status {status}", "type": kind, "code": None}}
        kinds = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
        kind = kinds.get(status, "overloaded_error" if status == 529 else "api_error")
        return {"type": "error", "error": {"type": kind, "message": f"status {status}"}}

    # OpenAI /v1/chat/completions

    def openai_completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": len(pieces(reply.text)),
                "total_tokens": reply.input_tokens + len(pieces(reply.text)),
            },
        }

    async def openai_events(self, body: dict[str, Any], reply: Reply) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return sse(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": body["model"],
                    "choices": [choice],
                }
            )

        if reply.stall:
            await asyncio.sleep(reply.stall)
        yield chunk({"role": "assistant", "content": ""})
        for number, piece in enumerate(pieces(reply.text)):
            if reply.fail_after is not None and number == reply.fail_after:
                raise ConnectionResetError("the fake server drops the connection")
            if reply.pause_after is not None and number == reply.pause_after:
                await asyncio.sleep(SLOW)
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        usage = {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": len(pieces(reply.text)),
            "total_tokens": reply.input_tokens + len(pieces(reply.text)),
        }
        yield sse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": body["model"],
                "choices": [],
                "usage": usage,
            }
        )
        yield sse("[DONE]")

    # Anthropic /v1/messages

    def anthropic_message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        if reply.tool_input is not None:
            tool = body["tool_choice"]["name"]
            content: list[dict[str, Any]] = [
                {"type": "tool_use", "id": "toolu_1", "name": tool, "input": reply.tool_input}
            ]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": reply.text}]
            stop = "end_turn"
        return {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": len(pieces(reply.text))},
        }

    async def anthropic_events(self, body: dict[str, Any], reply: Reply) -> AsyncIterator[bytes]:
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
        }
        if reply.stall:
            await asyncio.sleep(reply.stall)
        yield sse({"type": "message_start", "message": message}, "message_start")
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        yield sse(block, "content_block_start")
        yield sse({"type": "ping"}, "ping")
        for number, piece in enumerate(pieces(reply.text)):
            if reply.fail_after is not None and number == reply.fail_after:
                error = {"type": "overloaded_error", "message": "Overloaded"}
                yield sse({"type": "error", "error": error}, "error")
                return
            if reply.pause_after is not None and number == reply.pause_after:
                await asyncio.sleep(SLOW)
            delta = {"type": "text_delta", "text": piece}
            yield sse(
                {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
            )
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        yield sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(pieces(reply.text))},
            },
            "message_delta",
        )
        yield sse({"type": "message_stop"}, "message_stop")


@pytest.fixture(scope="module")
def fake_servers() -> Iterator[dict[Flavor, FakeServer]]:
    """One OpenAI and one Anthropic fake server for the module."""
    started: dict[Flavor, FakeServer] = {
        "openai": FakeServer("openai"),
        "anthropic": FakeServer("anthropic"),
    }
    for server in started.values():
        server.start()
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def openai_server(fake_servers: dict[Flavor, FakeServer]) -> FakeServer:
    """The OpenAI fake server, reset."""
    fake_servers["openai"].reset()
    return fake_servers["openai"]


@pytest.fixture
def anthropic_server(fake_servers: dict[Flavor, FakeServer]) -> FakeServer:
    """The Anthropic fake server, reset."""
    fake_servers["anthropic"].reset()
    return fake_servers["anthropic"]


@pytest.fixture
def fake(openai_server: FakeServer, anthropic_server: FakeServer) -> dict[Flavor, FakeServer]:
    """Both fake servers by provider name, reset."""
    return {"openai": openai_server, "anthropic": anthropic_server}


OFFLINE_TEXT = "Très bien ! Et qu'est-ce que tu as mangé ?"


class OfflineTutor:
    """A stand-in for the conversation domain's offline tutor; remembers its calls."""

    def __init__(self) -> None:
        self.calls: list[list[ChatMessage]] = []

    async def __call__(self, messages: list[ChatMessage]) -> ChatResult:
        self.calls.append(messages)
        return ChatResult(text=OFFLINE_TEXT, provider="offline", model="offline-tutor")


def llm_settings(
    fake: dict[Flavor, FakeServer],
    primary: Flavor | None = "openai",
    secondary: Flavor | None = "anthropic",
    **overrides: Any,
) -> Settings:
    """Settings pointing each provider at its fake server, with tiny timeouts and backoff."""
    values: dict[str, Any] = {
        "llm_primary": primary,
        "llm_secondary": secondary,
        "llm_openai_api_key": "sk-openai-test",
        "llm_openai_base_url": fake["openai"].base_url,
        "llm_openai_model": OPENAI_MODEL,
        "llm_anthropic_api_key": "sk-ant-test",
        "llm_anthropic_base_url": fake["anthropic"].base_url,
        "llm_anthropic_model": ANTHROPIC_MODEL,
        "llm_timeout_seconds": TIMEOUT,
        "llm_max_retries": 2,
        "llm_backoff_base_seconds": 0.01,
        "llm_backoff_max_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


ChainFactory = Callable[..., ProviderChain]


@pytest.fixture
async def make_chain(fake: dict[Flavor, FakeServer]) -> AsyncIterator[ChainFactory]:
    """Build chains from `llm_settings(fake, ...)`; their connections close after the test."""
    chains: list[ProviderChain] = []

    def make(
        primary: Flavor | None = "openai",
        secondary: Flavor | None = "anthropic",
        fallback: Callable[[list[ChatMessage]], Awaitable[ChatResult]] | None = None,
        **overrides: Any,
    ) -> ProviderChain:
        chain = build_chain(llm_settings(fake, primary, secondary, **overrides), fallback)
        chains.append(chain)
        return chain

    yield make
    for chain in chains:
        await chain.aclose()


def other(flavor: Flavor) -> Flavor:
    """The other provider."""
    return "anthropic" if flavor == "openai" else "openai"


async def collect(stream: AsyncIterator[str]) -> list[str]:
    """Every delta of a stream."""
    return [delta async for delta in stream]


def sample(name: str, **labels: str) -> float:
    """A metric's current value (0 when never set)."""
    return registry.get_sample_value(name, labels) or 0.0


# --- plain completions ------------------------------------------------------------------


async def test_openai_completion_sends_its_model_key_and_conversation(
    make_chain: ChainFactory, openai_server: FakeServer
) -> None:
    chain = make_chain("openai", None)
    result = await chain.complete(MESSAGES, temperature=0.3, max_tokens=200)
    assert result == ChatResult(
        text=REPLY,
        provider="openai",
        model=OPENAI_MODEL,
        input_tokens=17,
        output_tokens=len(pieces(REPLY)),
    )
    [seen] = openai_server.requests
    assert seen.headers["authorization"] == "Bearer sk-openai-test"
    assert seen.body["model"] == OPENAI_MODEL
    assert seen.body["messages"] == [
        {"role": "system", "content": "You are a patient French tutor."},
        {"role": "user", "content": "Je suis allé au marché hier."},
    ]
    assert seen.body["temperature"] == 0.3
    assert seen.body["max_tokens"] == 200
    assert "response_format" not in seen.body


async def test_anthropic_completion_sends_the_system_prompt_as_its_own_parameter(
    make_chain: ChainFactory, anthropic_server: FakeServer
) -> None:
    chain = make_chain("anthropic", None)
    result = await chain.complete([*MESSAGES, ChatMessage("assistant", "Ah bon ?")])
    assert result.text == REPLY
    assert result.provider == "anthropic"
    assert result.model == ANTHROPIC_MODEL
    assert (result.input_tokens, result.output_tokens) == (17, len(pieces(REPLY)))
    assert result.parsed is None
    [seen] = anthropic_server.requests
    # (older SDKs send the key as x-api-key, newer ones as a bearer token)
    sent_keys = (seen.headers.get("x-api-key"), seen.headers.get("authorization"))
    assert "sk-ant-test" in sent_keys or "Bearer sk-ant-test" in sent_keys
    assert seen.body["model"] == ANTHROPIC_MODEL
    assert seen.body["system"] == "You are a patient French tutor."
    assert seen.body["messages"] == [
        {"role": "user", "content": "Je suis allé au marché hier."},
        {"role": "assistant", "content": "Ah bon ?"},
    ]
    assert seen.body["max_tokens"] == 1024
    # Sampling parameters are sent only when asked for (recent models reject them).
    assert "temperature" not in seen.body
    assert "tools" not in seen.body


async def test_anthropic_temperature_is_sent_when_given(
    make_chain: ChainFactory, anthropic_server: FakeServer
) -> None:
    await make_chain("anthropic", None).complete(MESSAGES, temperature=0.2)
    assert anthropic_server.requests[0].body["temperature"] == 0.2


async def test_without_a_primary_every_reply_comes_from_the_offline_tutor(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    tutor = OfflineTutor()
    chain = make_chain(None, None, tutor)
    assert chain.engine == "offline"
    assert chain.providers == ()
    result = await chain.complete(MESSAGES)
    assert (result.text, result.provider) == (OFFLINE_TEXT, "offline")
    stream = chain.stream(MESSAGES)
    assert await collect(stream) == [OFFLINE_TEXT]
    assert stream.result().provider == "offline"
    assert tutor.calls == [MESSAGES, MESSAGES]
    assert fake["openai"].requests == fake["anthropic"].requests == []


# --- streaming --------------------------------------------------------------------------


async def test_openai_stream_delivers_the_reply_in_pieces_with_its_usage(
    make_chain: ChainFactory, openai_server: FakeServer
) -> None:
    stream = make_chain("openai", None).stream(MESSAGES, temperature=0.5)
    deltas = await collect(stream)
    assert deltas == pieces(REPLY)
    assert stream.finished
    assert stream.result() == ChatResult(
        text=REPLY,
        provider="openai",
        model=OPENAI_MODEL,
        input_tokens=17,
        output_tokens=len(pieces(REPLY)),
    )
    [seen] = openai_server.requests
    assert seen.body["stream"] is True
    assert seen.body["stream_options"] == {"include_usage": True}
    assert seen.body["model"] == OPENAI_MODEL


async def test_anthropic_stream_delivers_the_reply_in_pieces_with_its_usage(
    make_chain: ChainFactory, anthropic_server: FakeServer
) -> None:
    async with make_chain("anthropic", None).stream(MESSAGES) as stream:
        deltas = await collect(stream)
    assert deltas == pieces(REPLY)
    assert stream.result() == ChatResult(
        text=REPLY,
        provider="anthropic",
        model=ANTHROPIC_MODEL,
        input_tokens=17,
        output_tokens=len(pieces(REPLY)),
    )
    [seen] = anthropic_server.requests
    assert seen.body["stream"] is True
    assert seen.body["system"] == "You are a patient French tutor."
    assert seen.body["model"] == ANTHROPIC_MODEL


@pytest.mark.parametrize("flavor", ["openai", "anthropic"])
async def test_stream_failing_before_its_first_delta_is_retried(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer], flavor: Flavor
) -> None:
    fake[flavor].script(Reply(status=500), Reply(stall=SLOW))  # an error, then silence
    stream = make_chain(flavor, None).stream(MESSAGES)
    assert "".join(await collect(stream)) == REPLY
    assert stream.result().provider == flavor
    assert len(fake[flavor].requests) == 3


async def test_stream_that_never_starts_falls_back_to_the_secondary_then_offline(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["openai"].reset(Reply(status=503))
    stream = make_chain("openai", "anthropic").stream(MESSAGES)
    assert "".join(await collect(stream)) == REPLY
    assert stream.result().provider == "anthropic"
    assert stream.result().model == ANTHROPIC_MODEL
    assert len(fake["openai"].requests) == 3

    fake["anthropic"].reset(Reply(status=529))
    tutor = OfflineTutor()
    stream = make_chain("openai", "anthropic", tutor).stream(MESSAGES)
    assert await collect(stream) == [OFFLINE_TEXT]
    assert stream.result().provider == "offline"
    assert tutor.calls == [MESSAGES]


@pytest.mark.parametrize("flavor", ["openai", "anthropic"])
async def test_stream_breaking_after_text_was_delivered_raises_without_retrying(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer], flavor: Flavor
) -> None:
    # Anthropic sends an `error` event (overloaded); OpenAI's server drops the connection.
    fake[flavor].script(Reply(fail_after=2))
    tutor = OfflineTutor()
    stream = make_chain(flavor, other(flavor), tutor).stream(MESSAGES)
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        async for delta in stream:
            received.append(delta)
    assert received == pieces(REPLY)[:2]
    assert caught.value.delivered == "".join(received)
    assert caught.value.error.provider == flavor
    assert caught.value.error.kind in {"server_error", "connection"}
    assert len(fake[flavor].requests) == 1
    assert fake[other(flavor)].requests == []
    assert tutor.calls == []


async def test_stream_stalling_after_some_text_is_interrupted_by_the_timeout(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["openai"].script(Reply(pause_after=3))
    stream = make_chain("openai", "anthropic").stream(MESSAGES)
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(StreamInterrupted) as caught:
        async for delta in stream:
            received.append(delta)
    assert time.monotonic() - started < SLOW
    assert received == pieces(REPLY)[:3]
    assert caught.value.error.kind == "timeout"
    assert fake["anthropic"].requests == []


async def test_a_slow_reader_does_not_count_as_a_stalled_stream(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    received: list[str] = []
    async for delta in make_chain("anthropic", None).stream(MESSAGES):
        received.append(delta)
        if len(received) == 2:
            await asyncio.sleep(TIMEOUT * 1.5)  # e.g. a learner's slow WebSocket
    assert "".join(received) == REPLY


# --- structured output ------------------------------------------------------------------


async def test_openai_structured_output_is_parsed(
    make_chain: ChainFactory, openai_server: FakeServer
) -> None:
    answer = {"corrected": "Je suis allée au marché hier.", "errors": 1}
    openai_server.script(Reply(text=json.dumps(answer)))
    result = await make_chain("openai", None).complete(MESSAGES, json_schema=SCHEMA)
    assert result.parsed == answer
    assert result.provider == "openai"
    sent = openai_server.requests[0].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"] == SCHEMA
    assert sent["json_schema"]["strict"] is True


async def test_openai_open_schema_is_not_sent_as_strict(
    make_chain: ChainFactory, openai_server: FakeServer
) -> None:
    schema = {"type": "object", "properties": {"corrected": {"type": "string"}}}
    openai_server.script(Reply(text='{"corrected": "Bonjour"}'))
    result = await make_chain("openai", None).complete(MESSAGES, json_schema=schema)
    assert result.parsed == {"corrected": "Bonjour"}
    assert openai_server.requests[0].body["response_format"]["json_schema"]["strict"] is False


async def test_anthropic_structured_output_comes_from_a_forced_tool_call(
    make_chain: ChainFactory, anthropic_server: FakeServer
) -> None:
    answer = {"corrected": "Je suis allée au marché hier.", "errors": 1}
    anthropic_server.script(Reply(tool_input=answer))
    result = await make_chain("anthropic", None).complete(MESSAGES, json_schema=SCHEMA)
    assert result.parsed == answer
    assert json.loads(result.text) == answer
    assert result.provider == "anthropic"
    body = anthropic_server.requests[0].body
    [tool] = body["tools"]
    assert tool["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": tool["name"]}


async def test_structured_reply_that_is_not_json_moves_to_the_next_provider(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["openai"].script(Reply(text="Sure! Here is the correction: ..."))
    fake["anthropic"].script(Reply(tool_input={"corrected": "Bonjour", "errors": 0}))
    result = await make_chain("openai", "anthropic").complete(MESSAGES, json_schema=SCHEMA)
    assert result.provider == "anthropic"
    assert result.parsed == {"corrected": "Bonjour", "errors": 0}
    assert len(fake["openai"].requests) == 1  # not retried: the same model would do it again


# --- retries, fallback, offline ---------------------------------------------------------

TRANSIENT = {
    "429": Reply(status=429, headers={"retry-after": "0"}),
    "500": Reply(status=500),
    "503": Reply(status=503),
    "timeout": Reply(delay=SLOW),
}


@pytest.mark.parametrize("failure", list(TRANSIENT))
@pytest.mark.parametrize("flavor", ["openai", "anthropic"])
async def test_transient_failures_are_retried_until_the_provider_answers(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer], flavor: Flavor, failure: str
) -> None:
    fake[flavor].script(TRANSIENT[failure], TRANSIENT[failure])
    result = await make_chain(flavor, other(flavor)).complete(MESSAGES)
    assert result.text == REPLY
    assert result.provider == flavor
    assert len(fake[flavor].requests) == 3  # two failures, then the answer
    assert fake[other(flavor)].requests == []


@pytest.mark.parametrize("status", [400, 401, 404])
@pytest.mark.parametrize("flavor", ["openai", "anthropic"])
async def test_client_errors_are_not_retried_and_the_secondary_answers(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer], flavor: Flavor, status: int
) -> None:
    fake[flavor].reset(Reply(status=status))
    result = await make_chain(flavor, other(flavor)).complete(MESSAGES)
    assert result.provider == other(flavor)
    assert result.text == REPLY
    assert len(fake[flavor].requests) == 1
    assert len(fake[other(flavor)].requests) == 1


async def test_exhausted_primary_falls_back_to_the_secondary_with_its_own_model(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["openai"].reset(Reply(status=500))
    result = await make_chain("openai", "anthropic").complete(MESSAGES)
    assert (result.provider, result.model) == ("anthropic", ANTHROPIC_MODEL)
    assert fake["openai"].models == [OPENAI_MODEL] * 3  # 1 attempt + 2 retries
    assert fake["anthropic"].models == [ANTHROPIC_MODEL]


async def test_when_both_providers_fail_the_offline_tutor_answers(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["anthropic"].reset(Reply(status=429, headers={"retry-after": "0"}))
    fake["openai"].reset(Reply(delay=SLOW))
    tutor = OfflineTutor()
    result = await make_chain("anthropic", "openai", tutor).complete(MESSAGES)
    assert result == ChatResult(text=OFFLINE_TEXT, provider="offline", model="offline-tutor")
    assert tutor.calls == [MESSAGES]
    assert fake["anthropic"].models == [ANTHROPIC_MODEL] * 3
    assert fake["openai"].models == [OPENAI_MODEL] * 3


async def test_without_an_offline_fallback_the_failure_is_raised(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["openai"].reset(Reply(status=401))
    fake["anthropic"].reset(Reply(status=503))
    with pytest.raises(LLMUnavailable) as caught:
        await make_chain("openai", "anthropic", llm_max_retries=1).complete(MESSAGES)
    kinds = [(error.provider, error.kind, error.status) for error in caught.value.errors]
    assert kinds == [
        ("openai", "client_error", 401),
        ("anthropic", "server_error", 503),
        ("anthropic", "server_error", 503),
    ]


async def test_retry_after_is_honoured(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["openai"].script(Reply(status=429, headers={"retry-after": "0.4"}))
    chain = make_chain("openai", None, llm_backoff_max_seconds=5)
    started = time.monotonic()
    result = await chain.complete(MESSAGES)
    assert result.provider == "openai"
    assert time.monotonic() - started >= 0.4


async def test_retry_after_is_capped(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    fake["anthropic"].script(Reply(status=429, headers={"retry-after": "3600"}))
    chain = make_chain("anthropic", None, llm_backoff_max_seconds=0.05)
    started = time.monotonic()
    result = await chain.complete(MESSAGES)
    assert result.provider == "anthropic"
    assert time.monotonic() - started < 2
    assert len(fake["anthropic"].requests) == 2


def test_backoff_grows_exponentially_with_full_jitter_and_is_capped() -> None:
    def chain(jitter: float) -> ProviderChain:
        return ProviderChain(
            [], backoff_base_seconds=0.5, backoff_max_seconds=3.0, jitter=lambda: jitter
        )

    assert [chain(1.0).backoff_delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [chain(0.5).backoff_delay(n) for n in range(3)] == [0.25, 0.5, 1.0]
    assert chain(0.0).backoff_delay(3) == 0.0
    assert chain(1.0).backoff_delay(0, retry_after=2.5) == 2.5
    assert chain(1.0).backoff_delay(0, retry_after=60) == 3.0


# --- metrics ----------------------------------------------------------------------------


async def test_metrics_count_calls_errors_latency_and_tokens(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    def snapshot() -> dict[str, float]:
        return {
            "openai_ok": sample("linguo_llm_calls_total", provider="openai", outcome="ok"),
            "openai_error": sample("linguo_llm_calls_total", provider="openai", outcome="error"),
            "anthropic_ok": sample("linguo_llm_calls_total", provider="anthropic", outcome="ok"),
            "offline_ok": sample("linguo_llm_calls_total", provider="offline", outcome="ok"),
            "rate_limited": sample(
                "linguo_llm_errors_total", provider="openai", kind="rate_limited"
            ),
            "timeout": sample("linguo_llm_errors_total", provider="openai", kind="timeout"),
            "client_error": sample(
                "linguo_llm_errors_total", provider="anthropic", kind="client_error"
            ),
            "latency": sample("linguo_llm_call_duration_seconds_count", provider="openai"),
            "openai_in": sample("linguo_llm_tokens_total", provider="openai", direction="input"),
            "openai_out": sample("linguo_llm_tokens_total", provider="openai", direction="output"),
            "anthropic_in": sample(
                "linguo_llm_tokens_total", provider="anthropic", direction="input"
            ),
        }

    before = snapshot()
    fake["openai"].script(Reply(status=429, headers={"retry-after": "0"}), Reply(delay=SLOW))
    await make_chain("openai", "anthropic").complete(MESSAGES)
    fake["openai"].reset(Reply(status=500))
    fake["anthropic"].reset(Reply(status=400))
    await make_chain("openai", "anthropic", OfflineTutor()).complete(MESSAGES)
    after = snapshot()
    moved = {key: after[key] - before[key] for key in before}
    assert moved == {
        "openai_ok": 1,
        "openai_error": 2 + 3,
        "anthropic_ok": 0,
        "offline_ok": 1,
        "rate_limited": 1,
        "timeout": 1,
        "client_error": 1,
        "latency": 1 + 2 + 3,
        "openai_in": 17,
        "openai_out": len(pieces(REPLY)),
        "anthropic_in": 0,
    }
    server_errors = sample("linguo_llm_errors_total", provider="openai", kind="server_error")
    assert server_errors >= 3


async def test_streamed_tokens_are_counted(
    make_chain: ChainFactory, fake: dict[Flavor, FakeServer]
) -> None:
    before = sample("linguo_llm_tokens_total", provider="anthropic", direction="output")
    await collect(make_chain("anthropic", None).stream(MESSAGES))
    after = sample("linguo_llm_tokens_total", provider="anthropic", direction="output")
    assert after - before == len(pieces(REPLY))


# --- settings ---------------------------------------------------------------------------


def test_a_provider_needs_a_key_or_a_base_url() -> None:
    settings = Settings(_env_file=None, llm_primary="anthropic")
    with pytest.raises(ValueError, match="LINGUO_LLM_ANTHROPIC_API_KEY"):
        build_chain(settings)
    # A self-hosted OpenAI-compatible server (Ollama, vLLM, llama.cpp) may need no key.
    local = Settings(
        _env_file=None, llm_primary="openai", llm_openai_base_url="http://127.0.0.1:11434/v1"
    )
    chain = build_chain(local)
    assert chain.engine == "openai"
    assert [provider.model for provider in chain.providers] == ["gpt-4o-mini"]


def test_llm_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINGUO_LLM_PRIMARY", "anthropic")
    monkeypatch.setenv("LINGUO_LLM_SECONDARY", "")
    monkeypatch.setenv("LINGUO_LLM_ANTHROPIC_API_KEY", "sk-ant-env")
    monkeypatch.setenv("LINGUO_LLM_OPENAI_API_KEY", " ")
    monkeypatch.setenv("LINGUO_LLM_TIMEOUT_SECONDS", "7.5")
    settings = Settings(_env_file=None)
    assert settings.llm_primary == "anthropic"
    assert settings.llm_secondary is None
    assert settings.llm_openai_api_key is None
    assert settings.llm_anthropic_api_key is not None
    assert settings.llm_anthropic_api_key.get_secret_value() == "sk-ant-env"
    assert "sk-ant-env" not in repr(settings)
    assert settings.llm_timeout_seconds == 7.5
    chain = build_chain(settings)
    assert [(p.name, p.model) for p in chain.providers] == [("anthropic", "claude-haiku-4-5")]

    monkeypatch.setenv("LINGUO_LLM_PRIMARY", "mistral")
    with pytest.raises(ValidationError, match="llm_primary"):
        Settings(_env_file=None)
