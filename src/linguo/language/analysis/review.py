"""The optional review by another analyser (an LLM, later), behind a small Protocol.

The conversation domain can pass a `Reviewer` to `analyse_async`: its errors are merged
with the offline detectors' (which win where both found something at the same place, see
`engine.merge`). Nothing here calls an LLM; no reviewer is used by default.
"""

from __future__ import annotations

from typing import Protocol

from linguo.language.analysis.model import LanguageError

__all__ = ["REVIEW_DETECTOR", "Reviewer"]

# The `detector` of errors a reviewer returns.
REVIEW_DETECTOR = "review"


class Reviewer(Protocol):
    """Finds errors in a learner's text, e.g. an LLM asked for structured output.

    Returned errors must have spans into `text` as given, explanations in
    `native_language`, and `detector` set to `REVIEW_DETECTOR` (or their own name).
    Errors with spans outside the text are dropped; a failing reviewer is logged and
    ignored, so that analysis always answers.
    """

    async def review(self, text: str, language: str, native_language: str) -> list[LanguageError]:
        """The errors in `text` (written in `language`)."""
        ...
