"""The learner's message through the language analysers, as the turn needs it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from linguo.language.analysis import Reviewer, analyse_async


@dataclass(frozen=True, slots=True)
class FoundError:
    """An error in the learner's text at [start, end)."""

    code: str
    category: str
    message: str
    start: int
    end: int
    suggestion: str | None
    severity: str
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, kept with the message."""
        return asdict(self)


async def analyse_message(
    text: str, language: str, native_language: str, *, reviewer: Reviewer | None = None
) -> list[FoundError]:
    """Errors in `text` (in `language`), explained in `native_language`, in text order.

    The offline analysers always run; `reviewer` (an LLM) adds what it finds.
    """
    result = await analyse_async(text, language, native_language, reviewer=reviewer)
    return [
        FoundError(
            code=error.code,
            category=str(error.category),
            message=error.message,
            start=error.span[0],
            end=error.span[1],
            suggestion=error.suggestion,
            severity=str(error.severity),
            explanation=error.explanation,
        )
        for error in sorted(result.errors, key=lambda error: error.span)
    ]
