"""Build the ProviderChain the settings describe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from linguo.providers.llm.base import ChatModel
from linguo.providers.llm.chain import Fallback, ProviderChain

if TYPE_CHECKING:
    from linguo.config import Settings

# Sent as the key to servers that need none (a local vLLM, Ollama or llama.cpp server).
NO_KEY = "no-key"


def build_provider(settings: Settings, name: Literal["openai", "anthropic"]) -> ChatModel:
    """The adapter for one provider with its own key, base URL and model name.

    Raises ValueError when the provider has neither an API key nor a base URL (the
    official service needs a key; a self-hosted compatible server may need none).
    """
    if name == "openai":
        from linguo.providers.llm.openai_adapter import OpenAIChat

        key, base_url = settings.llm_openai_api_key, settings.llm_openai_base_url
        if key is None and base_url is None:
            raise ValueError(
                "LINGUO_LLM_OPENAI_API_KEY (or LINGUO_LLM_OPENAI_BASE_URL) is required "
                "when openai is a configured LLM provider"
            )
        return OpenAIChat(
            model=settings.llm_openai_model,
            api_key=key.get_secret_value() if key else NO_KEY,
            base_url=base_url,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    from linguo.providers.llm.anthropic_adapter import AnthropicChat

    key, base_url = settings.llm_anthropic_api_key, settings.llm_anthropic_base_url
    if key is None and base_url is None:
        raise ValueError(
            "LINGUO_LLM_ANTHROPIC_API_KEY (or LINGUO_LLM_ANTHROPIC_BASE_URL) is required "
            "when anthropic is a configured LLM provider"
        )
    return AnthropicChat(
        model=settings.llm_anthropic_model,
        api_key=key.get_secret_value() if key else NO_KEY,
        base_url=base_url,
        timeout_seconds=settings.llm_timeout_seconds,
    )


def build_chain(settings: Settings, fallback: Fallback | None = None) -> ProviderChain:
    """The chain primary -> secondary -> `fallback`.

    With no provider configured the chain has none and every call goes straight to the
    fallback (its `engine` is "offline"). Naming the same provider twice uses it once.
    """
    names: list[Literal["openai", "anthropic"]] = []
    for name in (settings.llm_primary, settings.llm_secondary):
        if name is not None and name not in names:
            names.append(name)
    return ProviderChain(
        [build_provider(settings, name) for name in names],
        fallback=fallback,
        timeout_seconds=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        backoff_base_seconds=settings.llm_backoff_base_seconds,
        backoff_max_seconds=settings.llm_backoff_max_seconds,
    )
