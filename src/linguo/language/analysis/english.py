"""English grammar: PyPI `harper-py` (Harper, an offline grammar checker, compiled).

Harper's spell check is off (hunspell does spelling for every language, see
`spelling.py`), and so are its style, readability, formatting, regional-variety and
"enhancement" lints (long sentences, Oxford commas, dashes, "very good" -> "excellent"):
a learner's plain sentence is not wrong for them. Lints are mapped to our codes by
Harper's rule name where it says more than its kind (`AnA`, `DidPast`,
`RegularIrregulars`, `ItsContraction`, `AdjectiveDoubleDegree`...), else by its kind
(Agreement, Capitalization, Punctuation, WordChoice...). A redundancy whose removed
part is a preposition ("discussed about") is `preposition.not_needed`.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any

from linguo.language.analysis.loading import DetectorUnavailable, Lazy
from linguo.language.analysis.model import ErrorCategory, Finding

__all__ = ["HarperDetector"]

# Rules switched off in Harper's configuration.
_RULES_OFF = (
    "SpellCheck",
    "LongSentences",
    "Spaces",
    "OxfordComma",
    "NoOxfordComma",
    "Dashes",
    "EllipsisLength",
    "UseEllipsisCharacter",
    "QuoteSpacing",
    "NoFrenchSpaces",
    "NumericRangeEnDash",
    "SpelledNumbers",
    "BoringWords",
    "Excellent",
)
# Lint kinds that are about style or layout, not mistakes.
_KINDS_OFF = frozenset(
    {"Style", "Enhancement", "Readability", "Formatting", "Regionalism", "Spelling"}
)
_PREPOSITIONS = frozenset(
    [
        "about",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "off",
        "on",
        "onto",
        "over",
        "to",
        "toward",
        "towards",
        "under",
        "up",
        "upon",
        "with",
    ]
)
_CATEGORY_OF_CODE_PREFIX = {category.value: category for category in ErrorCategory}

# Harper rule name -> our code, where the rule says more than its kind.
_RULE_CODES = {
    "AnA": "article_gender.a_an",
    "DidPast": "conjugation.after_did",
    "ItsContraction": "punctuation.apostrophe",
    "AdjectiveDoubleDegree": "other.double_comparative",
    "RepeatedWords": "other.repeated_word",
    "CapitalizePersonalPronouns": "spelling.capital",
    "SentenceCapitalization": "spelling.capital",
}
# Harper lint kind -> our code.
_KIND_CODES = {
    "Agreement": "conjugation.subject_verb",
    "Capitalization": "spelling.capital",
    "Punctuation": "punctuation.general",
    "Redundancy": "vocabulary.redundant",
    "Repetition": "other.repeated_word",
    "WordChoice": "vocabulary.confusion",
    "Usage": "vocabulary.confusion",
    "Eggcorn": "vocabulary.confusion",
    "Malapropism": "vocabulary.confusion",
    "Typo": "vocabulary.confusion",
    "BoundaryError": "spelling.general",
    "Nonstandard": "vocabulary.general",
    "Grammar": "other.general",
    "Miscellaneous": "other.general",
}
_CONFUSION_RULE_HINTS = ("To", "Their", "There", "Its", "Your", "Were", "Where", "Then", "Than")


@dataclass(slots=True)
class _Linter:
    linter: Any  # harper.Linter: not thread-safe, so calls are serialised
    lock: threading.Lock

    def lint(self, text: str) -> dict[str, list[Any]]:
        with self.lock:
            return dict(self.linter.organized_lints(text, language="plaintext"))


def _load() -> _Linter:
    try:
        harper = importlib.import_module("harper")  # optional: imported only when used
    except ImportError as exc:
        raise DetectorUnavailable(f"PyPI harper-py is not installed ({exc})") from exc
    linter = harper.Linter(harper.Dialect.AMERICAN)
    config: dict[str, bool | None] = dict(linter.get_lint_config())
    config.update({rule: False for rule in _RULES_OFF if rule in config})
    linter.set_lint_config(config)
    return _Linter(linter, threading.Lock())


class HarperDetector:
    """English grammar, word confusions, articles, capitals, apostrophes."""

    name = "harper"

    def __init__(self) -> None:
        self._linter = Lazy("harper", _load)

    def supports(self, language: str) -> bool:
        """English only."""
        return language == "en"

    def load(self, language: str) -> None:
        """Build Harper's linter now (about a second)."""
        self._linter.get()

    def detect(self, text: str, language: str) -> list[Finding]:
        """Harper's lints in `text`, style and spelling left out."""
        linter = self._linter.get()
        findings = []
        for rule, lints in linter.lint(text).items():
            for lint in lints:
                finding = _finding(text, rule, lint)
                if finding is not None:
                    findings.append(finding)
        return findings


def _finding(text: str, rule: str, lint: Any) -> Finding | None:
    kind = str(lint.lint_kind)
    if kind in _KINDS_OFF and rule not in _RULE_CODES:
        return None
    start, end = int(lint.span.start), int(lint.span.end)
    word = text[start:end]
    suggestion: str | None = None
    for candidate in lint.suggestions:
        suggestion = str(candidate.replacement_text).strip() if int(candidate.kind) == 0 else ""
        break
    code = _RULE_CODES.get(rule) or _code_for(rule, kind, word, suggestion)
    if code == "spelling.capital" and suggestion and suggestion[:1].islower():
        code = "spelling.lowercase"
    category = _CATEGORY_OF_CODE_PREFIX[code.split(".")[0]]
    return Finding(
        code=code,
        category=category,
        span=(start, end),
        suggestion=suggestion,
        detail=str(lint.message) or None,
    )


def _code_for(rule: str, kind: str, word: str, suggestion: str | None) -> str:
    if rule == "RegularIrregulars":
        return "conjugation.irregular" if word.lower().endswith("ed") else "spelling.irregular"
    if kind in ("Redundancy", "Usage") and suggestion is not None:
        removed = _removed_words(word, suggestion)
        if removed and all(part in _PREPOSITIONS for part in removed):
            return "preposition.not_needed"
        if kind == "Redundancy":
            return "vocabulary.redundant"
    if kind == "Agreement" and "Verb" not in rule and "Inflection" not in rule:
        return "agreement.general"
    if kind == "Grammar" and any(hint in rule for hint in _CONFUSION_RULE_HINTS):
        return "vocabulary.confusion"
    return _KIND_CODES.get(kind, "other.general")


def _removed_words(word: str, suggestion: str) -> list[str]:
    """The words of `word` that `suggestion` drops, when it only drops some."""
    words = word.lower().split()
    kept = suggestion.lower().split()
    if len(kept) >= len(words):
        return []
    remaining = list(words)
    for part in kept:
        if part not in remaining:
            return []
        remaining.remove(part)
    return remaining
