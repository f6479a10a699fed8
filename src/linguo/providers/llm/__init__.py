"""Language models behind the ChatModel Protocol: OpenAI-compatible and Anthropic adapters
on the official SDKs, a ProviderChain (retries, backoff, fallback to the next provider and
then to an offline responder) and Prometheus metrics. The adapters (and their SDKs) are
imported only when a provider is configured: `openai_adapter.OpenAIChat`,
`anthropic_adapter.AnthropicChat`.

    chain = build_chain(settings, fallback=offline_tutor)
    result = await chain.complete([ChatMessage("system", prompt), ChatMessage("user", text)])
    result.provider  # "openai" | "anthropic" | "offline"

    async with chain.stream(messages) as stream:
        async for delta in stream:
            ...
    stream.result()  # the whole reply, its engine, model and token counts
"""

from linguo.providers.llm.base import (
    ChatMessage,
    ChatModel,
    ChatResult,
    ChatStream,
    Engine,
    ErrorKind,
    LLMUnavailable,
    ProviderError,
    Role,
    StreamInterrupted,
)
from linguo.providers.llm.chain import Fallback, ProviderChain
from linguo.providers.llm.factory import build_chain, build_provider

__all__ = [
    "ChatMessage",
    "ChatModel",
    "ChatResult",
    "ChatStream",
    "Engine",
    "ErrorKind",
    "Fallback",
    "LLMUnavailable",
    "ProviderChain",
    "ProviderError",
    "Role",
    "StreamInterrupted",
    "build_chain",
    "build_provider",
]
