"""Anthropic's Messages API through the official `anthropic` SDK.

System messages travel as the `system` parameter. Structured output forces one tool call
(`tools=[{"name": "reply", "input_schema": ...}]`, `tool_choice={"type": "tool", ...}`)
whose input is the JSON object. `temperature` goes through `extra_body` and only when set:
SDK 1.0 dropped it from the typed signature and recent models reject it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
from anthropic import AsyncAnthropic, omit
from anthropic.types import MessageParam, TextBlock, ToolChoiceToolParam, ToolParam, ToolUseBlock

from linguo.providers.llm.base import (
    ChatMessage,
    ChatResult,
    ChatStream,
    Engine,
    ProviderError,
    StreamInfo,
    error_kind_for_status,
    parse_retry_after,
)

TOOL_NAME = "reply"


class AnthropicChat:
    """A ChatModel speaking Anthropic's Messages API."""

    name: Engine = "anthropic"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_seconds: float = 20.0,
        client: AsyncAnthropic | None = None,
    ) -> None:
        self.model = model
        # The SDK's own retries are off: ProviderChain retries (and then falls back).
        self.client = client or AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=0
        )

    async def aclose(self) -> None:
        """Close the HTTP connections of the SDK client."""
        await self.client.close()

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int = 1024,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        """See ChatModel.complete."""
        system, conversation = _split(messages)
        try:
            reply = await self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=conversation,
                system=system or omit,
                tools=omit if json_schema is None else [_tool(json_schema)],
                tool_choice=(
                    omit
                    if json_schema is None
                    else ToolChoiceToolParam(type="tool", name=TOOL_NAME)
                ),
                extra_body=_sampling(temperature),
            )
        except Exception as exc:
            raise _provider_error(exc) from exc
        parsed = None
        if json_schema is None:
            text = "".join(block.text for block in reply.content if isinstance(block, TextBlock))
        else:
            calls = [
                block
                for block in reply.content
                if isinstance(block, ToolUseBlock) and block.name == TOOL_NAME
            ]
            if not calls or not isinstance(calls[0].input, dict):
                raise ProviderError(self.name, "invalid_response", "reply has no tool input")
            parsed = dict(calls[0].input)
            text = json.dumps(parsed, ensure_ascii=False)
        return ChatResult(
            text=text,
            provider=self.name,
            model=self.model,
            input_tokens=reply.usage.input_tokens,
            output_tokens=reply.usage.output_tokens,
            parsed=parsed,
        )

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int = 1024,
    ) -> ChatStream:
        """See ChatModel.stream."""
        source = self._deltas(messages, temperature=temperature, max_tokens=max_tokens)
        return ChatStream(source, provider=self.name, model=self.model)

    async def _deltas(
        self, messages: list[ChatMessage], *, temperature: float | None, max_tokens: int
    ) -> AsyncIterator[str | StreamInfo]:
        system, conversation = _split(messages)
        try:
            events = await self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=conversation,
                system=system or omit,
                extra_body=_sampling(temperature),
                stream=True,
            )
        except Exception as exc:
            raise _provider_error(exc) from exc
        try:
            async for event in events:
                if event.type == "message_start":
                    usage = event.message.usage
                    yield StreamInfo(
                        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens
                    )
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    if event.delta.text:
                        yield event.delta.text
                elif event.type == "message_delta":
                    yield StreamInfo(
                        input_tokens=event.usage.input_tokens,
                        output_tokens=event.usage.output_tokens,
                    )
        except Exception as exc:
            raise _provider_error(exc) from exc
        finally:
            await events.close()


def _split(messages: list[ChatMessage]) -> tuple[str, list[MessageParam]]:
    """The system prompt (system messages joined) and the user/assistant turns."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    conversation: list[MessageParam] = []
    for message in messages:
        if message.role == "user":
            conversation.append({"role": "user", "content": message.content})
        elif message.role == "assistant":
            conversation.append({"role": "assistant", "content": message.content})
    return system, conversation


def _tool(schema: dict[str, Any]) -> ToolParam:
    return ToolParam(
        name=TOOL_NAME,
        description="Give the reply as this JSON object.",
        input_schema=schema,
    )


def _sampling(temperature: float | None) -> dict[str, object] | None:
    return None if temperature is None else {"temperature": temperature}


def _provider_error(exc: Exception) -> ProviderError:
    """Translate an SDK or transport exception into a ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderError("anthropic", "timeout", str(exc))
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError("anthropic", "connection", str(exc))
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status >= 400:
            kind = error_kind_for_status(status)
        else:  # an `error` event inside a 200 event stream (overloaded, rate limited...)
            kind = "rate_limited" if _error_type(exc.body) == "rate_limit_error" else "server_error"
        return ProviderError(
            "anthropic",
            kind,
            exc.message,
            status=status,
            retry_after=parse_retry_after(exc.response.headers),
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return ProviderError("anthropic", "invalid_response", str(exc))
    if isinstance(exc, anthropic.APIError):
        return ProviderError("anthropic", "server_error", str(exc))
    if isinstance(exc, anthropic.AnthropicError):
        return ProviderError("anthropic", "invalid_response", str(exc))
    # Anything else comes from the transport (a connection dropped mid-stream, ...).
    return ProviderError("anthropic", "connection", f"{type(exc).__name__}: {exc}")


def _error_type(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            kind = error.get("type")
            return kind if isinstance(kind, str) else None
    return None
