"""The analysis's data: error categories, severities, errors and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorCategory(StrEnum):
    """What kind of mistake an error is, for learners and statistics."""

    SPELLING = "spelling"
    AGREEMENT = "agreement"
    CONJUGATION = "conjugation"
    ARTICLE_GENDER = "article_gender"
    PREPOSITION = "preposition"
    WORD_ORDER = "word_order"
    VOCABULARY = "vocabulary"
    PUNCTUATION = "punctuation"
    OTHER = "other"


class Severity(StrEnum):
    """How much an error matters.

    - `minor`: the meaning and the grammar are intact: accents, capitals, punctuation,
      apostrophes, hyphens, a one-letter slip in a word, a repeated word;
    - `major`: everything else (agreement, conjugation, articles and gender, prepositions,
      word order, word choice, words misspelt beyond a slip).
    """

    MINOR = "minor"
    MAJOR = "major"


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector reports, before it is explained in the learner's language.

    `code` is "<category>.<kind>" (see `messages.py`); `params` fill the explanation's
    templates: `word` (the text at `span`, set by the analyser), `suggestion`, `other`
    (the word it must agree with), `gender` ("masc"/"fem"), `number` ("sing"/"plur"),
    `person` ("1"/"2"/"3"). `span` indexes the text the detector was given.
    """

    code: str
    category: ErrorCategory
    span: tuple[int, int]
    suggestion: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    severity: Severity | None = None  # None: the code's default (see `messages.severity_for`)
    detail: str | None = None  # the tool's own message, in whatever language it writes


@dataclass(frozen=True, slots=True)
class LanguageError:
    """One mistake in the learner's text.

    `span` is (start, end) in code points of the text given to `analyse`, as typed (before
    any normalisation): `text[start:end]` is the mistaken part. `message` (one short line)
    and `explanation` (why, and how to fix it) are in the learner's native language;
    `suggestion` replaces `text[start:end]` when known. `detector` names what found it;
    `detail` keeps that tool's own message (in its language), for tutors and logs.
    """

    code: str
    category: ErrorCategory
    message: str
    span: tuple[int, int]
    suggestion: str | None
    severity: Severity
    explanation: str
    detector: str
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "category": str(self.category),
            "message": self.message,
            "span": {"start": self.span[0], "end": self.span[1]},
            "suggestion": self.suggestion,
            "severity": str(self.severity),
            "explanation": self.explanation,
            "detector": self.detector,
        }


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Every error found in one text, in text order, without overlapping spans.

    `detectors` lists the detectors that ran on the text; `unavailable` those that would
    have run but could not (a missing dictionary or package: see the warning log).
    `supported` is False for a language no detector knows (then `errors` is empty).
    """

    text: str
    language: str
    native_language: str
    errors: list[LanguageError]
    detectors: list[str]
    unavailable: list[str]
    supported: bool
