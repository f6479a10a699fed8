"""The chat-model Protocol, its message and result types, and the errors adapters raise."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, get_args

Role = Literal["system", "user", "assistant"]
Engine = Literal["openai", "anthropic", "offline"]
ErrorKind = Literal[
    "timeout",
    "rate_limited",
    "server_error",
    "client_error",
    "connection",
    "invalid_response",
]

RETRYABLE: frozenset[ErrorKind] = frozenset({"timeout", "rate_limited", "server_error"})
"""Error kinds worth retrying on the same provider; any other kind moves to the next one."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in get_args(Role):
            raise ValueError(f"unknown chat role {self.role!r}")


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A complete reply and which engine produced it.

    `parsed` is the JSON object of a structured reply (when `json_schema` was given and the
    engine honoured it), else None. Token counts are those the provider reported (0 when it
    reported none, and always 0 for the offline engine).
    """

    text: str
    provider: Engine
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    parsed: dict[str, Any] | None = None


class ProviderError(Exception):
    """A provider call failed; `kind` decides whether the chain retries it."""

    def __init__(
        self,
        provider: str,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {kind}: {message}")
        self.provider = provider
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """True for timeouts, 429 and 5xx."""
        return self.kind in RETRYABLE


class LLMUnavailable(Exception):
    """Every provider failed and the chain has no offline fallback."""

    def __init__(self, errors: list[ProviderError]) -> None:
        detail = "; ".join(str(error) for error in errors) or "no provider configured"
        super().__init__(f"no language model answered ({detail})")
        self.errors = errors


class StreamInterrupted(Exception):
    """A streamed reply failed after some of its text had already been delivered."""

    def __init__(self, error: ProviderError, delivered: str) -> None:
        super().__init__(f"reply interrupted after {len(delivered)} characters: {error}")
        self.error = error
        self.delivered = delivered


@dataclass(slots=True)
class StreamInfo:
    """Out-of-band facts a stream source reports between its text deltas."""

    provider: Engine | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


class ChatStream:
    """The text deltas of one streamed reply (an `AsyncIterator[str]`).

    Once iteration has ended, `result()` gives the whole reply as a ChatResult (engine,
    model, token counts). Close it (`aclose()` or `async with`) when stopping early.
    """

    def __init__(
        self, source: AsyncIterator[str | StreamInfo], *, provider: Engine, model: str
    ) -> None:
        self._source = source
        self.provider: Engine = provider
        self.model = model
        self.input_tokens = 0
        self.output_tokens = 0
        self._parts: list[str] = []
        self.finished = False

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        while True:
            try:
                item = await self._source.__anext__()
            except StopAsyncIteration:
                self.finished = True
                raise
            if isinstance(item, StreamInfo):
                self._absorb(item)
                continue
            self._parts.append(item)
            return item

    def _absorb(self, info: StreamInfo) -> None:
        if info.provider is not None:
            self.provider = info.provider
        if info.model is not None:
            self.model = info.model
        if info.input_tokens is not None:
            self.input_tokens = info.input_tokens
        if info.output_tokens is not None:
            self.output_tokens = info.output_tokens

    @property
    def text(self) -> str:
        """The text delivered so far."""
        return "".join(self._parts)

    def result(self) -> ChatResult:
        """The reply delivered so far (the whole reply once `finished`)."""
        return ChatResult(
            text=self.text,
            provider=self.provider,
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
        )

    async def aclose(self) -> None:
        """Stop the stream and release its connection."""
        closer = getattr(self._source, "aclose", None)
        if closer is not None:
            await closer()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class ChatModel(Protocol):
    """A chat-completion engine (one provider with one model)."""

    name: Engine
    model: str

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int = 1024,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        """The whole reply; with `json_schema`, a JSON object following it (in `parsed`).

        Raises ProviderError on any failure.
        """
        ...

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int = 1024,
    ) -> ChatStream:
        """The reply as text deltas; raises ProviderError while iterating on failure."""
        ...


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a response asks to wait: `retry-after-ms`, or `retry-after` as seconds or date."""
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_kind_for_status(status: int) -> ErrorKind:
    """429 -> rate_limited, 5xx -> server_error, any other status -> client_error."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "client_error"


def parse_json_object(provider: str, text: str) -> dict[str, Any]:
    """The JSON object a structured reply holds; ProviderError(invalid_response) otherwise."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ProviderError(provider, "invalid_response", "reply is not JSON") from exc
    if not isinstance(value, dict):
        raise ProviderError(provider, "invalid_response", "reply is not a JSON object")
    return value
