"""Prometheus metrics of language-model calls, on the process registry of core.metrics.

Each attempt counts once (a call retried twice is three calls). `provider` is "openai",
"anthropic" or "offline" (the fallback responder).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from linguo.core.metrics import registry
from linguo.providers.llm.base import ErrorKind

LLM_CALLS = Counter(
    "linguo_llm_calls_total",
    "Language-model calls (each attempt), by provider and outcome (ok or error).",
    ["provider", "outcome"],
    registry=registry,
)
LLM_ERRORS = Counter(
    "linguo_llm_errors_total",
    "Failed language-model calls, by provider and kind "
    "(timeout, rate_limited, server_error, client_error, connection, invalid_response).",
    ["provider", "kind"],
    registry=registry,
)
LLM_LATENCY = Histogram(
    "linguo_llm_call_duration_seconds",
    "Time of one language-model call (to the end of the stream when streaming), by provider.",
    ["provider"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0),
    registry=registry,
)
LLM_TOKENS = Counter(
    "linguo_llm_tokens_total",
    "Tokens the providers reported, by provider and direction (input or output).",
    ["provider", "direction"],
    registry=registry,
)


def record_success(
    provider: str, seconds: float, *, input_tokens: int = 0, output_tokens: int = 0
) -> None:
    """Count a call that answered."""
    LLM_CALLS.labels(provider, "ok").inc()
    LLM_LATENCY.labels(provider).observe(seconds)
    if input_tokens:
        LLM_TOKENS.labels(provider, "input").inc(input_tokens)
    if output_tokens:
        LLM_TOKENS.labels(provider, "output").inc(output_tokens)


def record_failure(provider: str, kind: ErrorKind, seconds: float) -> None:
    """Count a call that failed."""
    LLM_CALLS.labels(provider, "error").inc()
    LLM_ERRORS.labels(provider, kind).inc()
    LLM_LATENCY.labels(provider).observe(seconds)
