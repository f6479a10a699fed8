"""ProviderChain: retries with backoff, then the next provider, then the offline responder.

Per provider: up to `1 + max_retries` attempts. Timeouts, 429 and 5xx are retried after
an exponential backoff with full jitter (`uniform(0, min(max, base * 2**n))`), or after
the response's Retry-After when it sends one (capped at `backoff_max_seconds`). Any other
failure (another 4xx, a refused connection, a reply that breaks the requested schema)
moves straight to the next provider. When every provider has failed, the `fallback`
callable answers (the conversation domain passes its offline tutor), so a learner always
gets a reply; without a fallback the chain raises LLMUnavailable.

Streaming: a failure before the first text delta is handled like a failed call (retry,
next provider, fallback). Once text has been delivered, a failure raises StreamInterrupted
(carrying the text delivered so far) instead of ending quietly: a quietly truncated reply
would be stored as if complete, and starting over elsewhere would repeat what the learner
already saw. The caller decides what to do (e.g. keep the partial reply and mark it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from time import monotonic
from typing import Any

import structlog

from linguo.providers.llm.base import (
    ChatMessage,
    ChatModel,
    ChatResult,
    ChatStream,
    Engine,
    LLMUnavailable,
    ProviderError,
    StreamInfo,
    StreamInterrupted,
)
from linguo.providers.llm.metrics import record_failure, record_success

logger = structlog.get_logger("linguo.llm")

Fallback = Callable[[list[ChatMessage]], Awaitable[ChatResult]]
"""The offline responder: answers from the messages alone, with provider "offline"."""


class ProviderChain:
    """Primary then secondary provider (any number, in order), then the offline fallback."""

    def __init__(
        self,
        providers: Sequence[ChatModel],
        *,
        fallback: Fallback | None = None,
        timeout_seconds: float = 20.0,
        max_retries: int = 2,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.providers: tuple[ChatModel, ...] = tuple(providers)
        self.fallback = fallback
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._sleep = sleep
        self._jitter = jitter

    def with_fallback(self, fallback: Fallback | None) -> ProviderChain:
        """The same providers and retry settings with another fallback (None: raise instead)."""
        return ProviderChain(
            self.providers,
            fallback=fallback,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
            sleep=self._sleep,
            jitter=self._jitter,
        )

    @property
    def engine(self) -> Engine:
        """The engine expected to answer: the first provider's name, or "offline"."""
        return self.providers[0].name if self.providers else "offline"

    async def aclose(self) -> None:
        """Close the providers' HTTP connections (those that have an `aclose`)."""
        for provider in self.providers:
            closer = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()

    def backoff_delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max_seconds)
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2.0**retry)
        return self._jitter() * ceiling

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int = 1024,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        """The reply of the first provider that answers, else of the fallback.

        With `json_schema`, a provider's reply must be a JSON object (in `parsed`); the
        fallback is not given the schema, so its `parsed` may be None. Raises LLMUnavailable
        when every provider failed and there is no fallback.
        """
        errors: list[ProviderError] = []
        for provider in self.providers:
            for attempt in range(self.max_retries + 1):
                started = monotonic()
                try:
                    async with asyncio.timeout(self.timeout_seconds):
                        result = await provider.complete(
                            messages,
                            temperature=temperature,
                            max_tokens=max_tokens,
                            json_schema=json_schema,
                        )
                except TimeoutError:
                    error = self._timed_out(provider)
                except ProviderError as exc:
                    error = exc
                else:
                    record_success(
                        provider.name,
                        monotonic() - started,
                        input_tokens=result.input_tokens,
                        output_tokens=result.output_tokens,
                    )
                    return result
                errors.append(error)
                if not await self._after_failure(provider, error, attempt, started):
                    break
        return await self._fall_back(messages, errors)

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int = 1024,
    ) -> ChatStream:
        """The reply as text deltas from the first provider that starts answering.

        Falls back like `complete` until the first delta (the fallback's reply comes as
        one delta); `result()` on the stream tells which engine answered. A failure after
        the first delta raises StreamInterrupted.
        """
        source = self._stream_events(messages, temperature=temperature, max_tokens=max_tokens)
        model = self.providers[0].model if self.providers else "offline"
        return ChatStream(source, provider=self.engine, model=model)

    async def _stream_events(
        self, messages: list[ChatMessage], *, temperature: float | None, max_tokens: int
    ) -> AsyncIterator[str | StreamInfo]:
        errors: list[ProviderError] = []
        for provider in self.providers:
            for attempt in range(self.max_retries + 1):
                started = monotonic()
                stream = provider.stream(messages, temperature=temperature, max_tokens=max_tokens)
                first: str | None = None
                try:
                    try:
                        async with asyncio.timeout(self.timeout_seconds):
                            first = await anext(stream)
                    except StopAsyncIteration:
                        first = None  # an empty reply
                    except TimeoutError:
                        raise self._timed_out(provider) from None
                except ProviderError as error:
                    await stream.aclose()
                    errors.append(error)
                    if not await self._after_failure(provider, error, attempt, started):
                        break
                    continue
                # Text reaches the learner from here on: no more retries or fallbacks.
                delivered: list[str] = []
                try:
                    yield StreamInfo(provider=provider.name, model=provider.model)
                    if first is not None:
                        delivered.append(first)
                        yield first
                        async for delta in self._rest(provider, stream):
                            delivered.append(delta)
                            yield delta
                except ProviderError as error:
                    record_failure(provider.name, error.kind, monotonic() - started)
                    logger.warning(
                        "llm_stream_interrupted",
                        provider=provider.name,
                        kind=error.kind,
                        error=str(error),
                    )
                    raise StreamInterrupted(error, "".join(delivered)) from error
                finally:
                    await stream.aclose()
                record_success(
                    provider.name,
                    monotonic() - started,
                    input_tokens=stream.input_tokens,
                    output_tokens=stream.output_tokens,
                )
                yield StreamInfo(
                    input_tokens=stream.input_tokens, output_tokens=stream.output_tokens
                )
                return
        result = await self._fall_back(messages, errors)
        yield StreamInfo(
            provider=result.provider,
            model=result.model,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )
        if result.text:
            yield result.text

    async def _rest(self, provider: ChatModel, stream: ChatStream) -> AsyncIterator[str]:
        """The deltas after the first, each within the timeout (a stalled stream fails)."""
        while True:
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    delta = await anext(stream)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise self._timed_out(provider) from None
            yield delta

    def _timed_out(self, provider: ChatModel) -> ProviderError:
        return ProviderError(
            provider.name, "timeout", f"no answer within {self.timeout_seconds:g} s"
        )

    async def _after_failure(
        self, provider: ChatModel, error: ProviderError, attempt: int, started: float
    ) -> bool:
        """Count the failure; wait and return True when the same provider should retry."""
        record_failure(provider.name, error.kind, monotonic() - started)
        retry = error.retryable and attempt < self.max_retries
        logger.warning(
            "llm_call_failed",
            provider=provider.name,
            model=provider.model,
            kind=error.kind,
            status=error.status,
            attempt=attempt + 1,
            retrying=retry,
            error=str(error),
        )
        if retry:
            await self._sleep(self.backoff_delay(attempt, error.retry_after))
        return retry

    async def _fall_back(
        self, messages: list[ChatMessage], errors: list[ProviderError]
    ) -> ChatResult:
        if self.fallback is None:
            raise LLMUnavailable(errors)
        started = monotonic()
        result = await self.fallback(messages)
        if result.provider != "offline":
            result = replace(result, provider="offline")
        record_success("offline", monotonic() - started)
        return result
