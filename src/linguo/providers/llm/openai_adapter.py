"""OpenAI Chat Completions through the official `openai` SDK.

Any OpenAI-compatible server works through `base_url`: OpenAI itself, vLLM, Ollama
(`http://localhost:11434/v1`), llama.cpp's `llama-server` (`http://localhost:8080/v1`).
Structured output uses `response_format={"type": "json_schema", ...}`; streaming asks for
the usage chunk (`stream_options.include_usage`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.shared_params import ResponseFormatJSONSchema

from linguo.providers.llm.base import (
    ChatMessage,
    ChatResult,
    ChatStream,
    Engine,
    ProviderError,
    StreamInfo,
    error_kind_for_status,
    parse_json_object,
    parse_retry_after,
)

SCHEMA_NAME = "reply"


class OpenAIChat:
    """A ChatModel speaking OpenAI's Chat Completions API."""

    name: Engine = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_seconds: float = 20.0,
        client: AsyncOpenAI | None = None,
    ) -> None:
        self.model = model
        # The SDK's own retries are off: ProviderChain retries (and then falls back).
        self.client = client or AsyncOpenAI(
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
        try:
            completion = await self.client.chat.completions.create(
                model=self.model,
                messages=_messages(messages),
                max_tokens=max_tokens,
                temperature=omit if temperature is None else temperature,
                response_format=omit if json_schema is None else _response_format(json_schema),
            )
        except Exception as exc:
            raise _provider_error(exc) from exc
        if not completion.choices:
            raise ProviderError(self.name, "invalid_response", "reply has no choices")
        message = completion.choices[0].message
        text = message.content or ""
        parsed = None
        if json_schema is not None:
            if message.refusal:
                raise ProviderError(self.name, "invalid_response", "model refused the schema")
            parsed = parse_json_object(self.name, text)
        usage = completion.usage
        return ChatResult(
            text=text,
            provider=self.name,
            model=self.model,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
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
        try:
            chunks = await self.client.chat.completions.create(
                model=self.model,
                messages=_messages(messages),
                max_tokens=max_tokens,
                temperature=omit if temperature is None else temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
        except Exception as exc:
            raise _provider_error(exc) from exc
        try:
            async for chunk in chunks:
                if chunk.usage is not None:
                    yield StreamInfo(
                        input_tokens=chunk.usage.prompt_tokens,
                        output_tokens=chunk.usage.completion_tokens,
                    )
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except Exception as exc:
            raise _provider_error(exc) from exc
        finally:
            await chunks.close()


def _messages(messages: list[ChatMessage]) -> list[ChatCompletionMessageParam]:
    converted: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message.role == "system":
            converted.append(
                ChatCompletionSystemMessageParam(role="system", content=message.content)
            )
        elif message.role == "user":
            converted.append(ChatCompletionUserMessageParam(role="user", content=message.content))
        else:
            converted.append(
                ChatCompletionAssistantMessageParam(role="assistant", content=message.content)
            )
    return converted


def _response_format(schema: dict[str, Any]) -> ResponseFormatJSONSchema:
    # OpenAI's strict mode only accepts closed objects listing every property as required;
    # other schemas are sent as guidance and the reply is still checked to be a JSON object.
    return ResponseFormatJSONSchema(
        type="json_schema",
        json_schema={"name": SCHEMA_NAME, "schema": schema, "strict": is_strict_schema(schema)},
    )


def is_strict_schema(schema: object) -> bool:
    """Whether every object in `schema` is closed and requires all its properties."""
    if isinstance(schema, list):
        return all(is_strict_schema(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if not isinstance(properties, dict) or set(schema.get("required", [])) != set(properties):
            return False
    return all(is_strict_schema(value) for value in schema.values())


def _provider_error(exc: Exception) -> ProviderError:
    """Translate an SDK or transport exception into a ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("openai", "timeout", str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("openai", "connection", str(exc))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        # An error sent inside a 200 event stream is the server's failure.
        kind = error_kind_for_status(status) if status >= 400 else "server_error"
        return ProviderError(
            "openai",
            kind,
            exc.message,
            status=status,
            retry_after=parse_retry_after(exc.response.headers),
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return ProviderError("openai", "invalid_response", str(exc))
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return ProviderError("openai", "server_error", str(exc))
    if isinstance(exc, openai.OpenAIError):
        return ProviderError("openai", "invalid_response", str(exc))
    # Anything else comes from the transport (a connection dropped mid-stream, ...).
    return ProviderError("openai", "connection", f"{type(exc).__name__}: {exc}")
