"""An LLM as one more error detector, when a language model is configured.

The model is asked for structured output: each mistake as the exact words quoted from the
learner's text, a category, a suggestion and an explanation in the learner's language.
Quotes are located in the text here (models are poor at counting characters); a quote not
found in the text is dropped. The offline detectors win where both found something at the
same place (`language.analysis.merge`). A failing or unavailable model is ignored: the
chain has no offline fallback here, so analysis answers with the offline detectors alone.
"""

from __future__ import annotations

from typing import Any

import structlog

from linguo.language.analysis import (
    REVIEW_DETECTOR,
    ErrorCategory,
    Finding,
    LanguageError,
    Severity,
)
from linguo.language.analysis.messages import render
from linguo.providers.llm.base import ChatMessage, LLMUnavailable
from linguo.providers.llm.chain import ProviderChain

logger = structlog.get_logger("linguo.conversation.review")

CATEGORIES = [category.value for category in ErrorCategory]

REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "quote": {"type": "string"},
                    "suggestion": {"type": "string"},
                    "category": {"type": "string", "enum": CATEGORIES},
                    "explanation": {"type": "string"},
                },
                "required": ["quote", "suggestion", "category", "explanation"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["errors"],
    "additionalProperties": False,
}


class LLMReviewer:
    """Finds a learner's mistakes with the configured language models (no fallback)."""

    def __init__(self, chain: ProviderChain) -> None:
        self.chain = chain.with_fallback(None)

    async def review(self, text: str, language: str, native_language: str) -> list[LanguageError]:
        """The mistakes the model finds in `text`, located by their quotes."""
        prompt = (
            f"You check a language learner's message written in '{language}'. List each real "
            "mistake (grammar, agreement, conjugation, articles and gender, prepositions, word "
            "order, vocabulary, spelling, punctuation); list nothing for a correct message. "
            "For each: `quote`, the wrong words copied exactly from the message; `suggestion`, "
            f"what to write instead; `category`; `explanation`, one short sentence in "
            f"'{native_language}' for the learner."
        )
        try:
            result = await self.chain.complete(
                [
                    ChatMessage(role="system", content=prompt),
                    ChatMessage(role="user", content=text),
                ],
                temperature=0,
                max_tokens=800,
                json_schema=REVIEW_SCHEMA,
            )
        except LLMUnavailable:
            logger.warning("llm_review_unavailable")
            return []
        return located_errors(
            text, (result.parsed or {}).get("errors", []), language, native_language
        )


def located_errors(
    text: str, items: list[Any], language: str, native_language: str
) -> list[LanguageError]:
    """The model's findings as errors with spans, dropping any whose quote is not in the text."""
    errors: list[LanguageError] = []
    searched_from = 0
    for item in items:
        if not isinstance(item, dict):
            continue
        quote = str(item.get("quote") or "").strip()
        category_name = str(item.get("category") or "other")
        if not quote or category_name not in CATEGORIES:
            continue
        start = text.find(quote, searched_from)
        if start < 0:
            start = text.find(quote)
        if start < 0:
            continue
        end = start + len(quote)
        searched_from = end
        suggestion = item.get("suggestion")
        category = ErrorCategory(category_name)
        finding = Finding(
            code=f"{category.value}.general",
            category=category,
            span=(start, end),
            suggestion=str(suggestion) if suggestion else None,
        )
        message, explanation = render(finding, quote, language, native_language)
        given = str(item.get("explanation") or "").strip()
        errors.append(
            LanguageError(
                code=f"review.{category.value}",
                category=category,
                message=message,
                span=(start, end),
                suggestion=finding.suggestion,
                severity=Severity.MINOR
                if category in (ErrorCategory.PUNCTUATION, ErrorCategory.SPELLING)
                else Severity.MAJOR,
                explanation=given or explanation,
                detector=REVIEW_DETECTOR,
            )
        )
    return errors
