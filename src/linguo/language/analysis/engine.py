"""Running the detectors, explaining their findings, and merging them.

Merging (`merge`): errors whose spans overlap are one mistake seen twice; one of them is
kept, chosen in this order:
1. the more specific category: agreement, article_gender, conjugation, preposition and
   word_order (grammar) before vocabulary, before spelling, punctuation and other;
2. the more specific detector: the grammar detectors (grammalecte, harper, spacy_es,
   learner_rules) before hunspell, before a reviewer (an LLM);
3. the shorter span (the more precise);
4. the earlier span.
The kept errors are returned in text order and never overlap. Two errors that only
touch (one ends where the other starts) both stay.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

import structlog

from linguo.language.analysis.loading import DetectorUnavailable
from linguo.language.analysis.messages import language_code, render, severity_for
from linguo.language.analysis.model import AnalysisResult, ErrorCategory, Finding, LanguageError
from linguo.language.analysis.review import REVIEW_DETECTOR, Reviewer
from linguo.language.analysis.textmap import Prepared, prepare

__all__ = [
    "MAX_TEXT_LENGTH",
    "Analyser",
    "Detector",
    "analyse",
    "analyse_async",
    "default_analyser",
    "merge",
]

logger = structlog.get_logger("linguo.language.analysis")

# Longer texts are analysed in their first MAX_TEXT_LENGTH characters (a chat message is
# far shorter; this bounds the work a pasted essay costs).
MAX_TEXT_LENGTH = 5000

_CATEGORY_RANK = {
    ErrorCategory.AGREEMENT: 3,
    ErrorCategory.ARTICLE_GENDER: 3,
    ErrorCategory.CONJUGATION: 3,
    ErrorCategory.PREPOSITION: 3,
    ErrorCategory.WORD_ORDER: 3,
    ErrorCategory.VOCABULARY: 2,
    ErrorCategory.SPELLING: 1,
    ErrorCategory.PUNCTUATION: 1,
    ErrorCategory.OTHER: 1,
}
_DETECTOR_RANK = {"hunspell": 1, REVIEW_DETECTOR: 0}
_GRAMMAR_DETECTOR_RANK = 2


class Detector(Protocol):
    """One source of findings for some languages."""

    name: str

    def supports(self, language: str) -> bool:
        """Whether the detector knows `language` (ISO 639-1), installed or not."""
        ...

    def load(self, language: str) -> None:
        """Load models now; `DetectorUnavailable` when a dependency is missing."""
        ...

    def detect(self, text: str, language: str) -> list[Finding]:
        """Findings in `text` (NFC); `DetectorUnavailable` when a dependency is missing."""
        ...


def _rank(error: LanguageError) -> tuple[int, int, int, int]:
    detector_rank = _DETECTOR_RANK.get(error.detector, _GRAMMAR_DETECTOR_RANK)
    start, end = error.span
    return (-_CATEGORY_RANK[error.category], -detector_rank, end - start, start)


def merge(errors: Iterable[LanguageError]) -> list[LanguageError]:
    """The errors without overlaps, by the rule of this module's docstring, in text order."""
    kept: list[LanguageError] = []
    for error in sorted(errors, key=_rank):
        start, end = error.span
        if all(end <= other.span[0] or other.span[1] <= start for other in kept):
            kept.append(error)
    return sorted(kept, key=lambda error: (error.span, error.code))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without its leading and trailing spaces."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class Analyser:
    """Runs its detectors on a text and returns their merged, explained errors.

    Safe to share between threads: detectors load their models once, on first use (or
    on `warm_up`), and serialise calls into libraries that are not thread-safe.
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)

    @classmethod
    def offline(cls) -> Analyser:
        """Every offline detector: hunspell, Grammalecte, Harper, spaCy (es), the rules."""
        from linguo.language.analysis.english import HarperDetector
        from linguo.language.analysis.french import GrammalecteDetector
        from linguo.language.analysis.rules import LearnerRulesDetector
        from linguo.language.analysis.spanish import SpanishAgreementDetector
        from linguo.language.analysis.spelling import HunspellDetector

        return cls(
            [
                HunspellDetector(),
                GrammalecteDetector(),
                HarperDetector(),
                SpanishAgreementDetector(),
                LearnerRulesDetector(),
            ]
        )

    def languages(self) -> frozenset[str]:
        """The languages at least one detector knows."""
        return frozenset(
            language
            for language in ("en", "fr", "es", "de", "it", "pt")
            if any(detector.supports(language) for detector in self.detectors)
        )

    def warm_up(self, languages: Iterable[str] = ("en", "fr", "es")) -> dict[str, list[str]]:
        """Load every detector's models for `languages` now; the unavailable ones by language."""
        missing: dict[str, list[str]] = {}
        for language in languages:
            code = language_code(language)
            for detector in self.detectors:
                if not detector.supports(code):
                    continue
                try:
                    detector.load(code)
                except DetectorUnavailable:
                    missing.setdefault(code, []).append(detector.name)
        return missing

    def analyse(self, text: str, language: str, native_language: str) -> AnalysisResult:
        """The errors of `text`, written in `language`, explained in `native_language`.

        Blocking (models may load on first use and analysis takes milliseconds to a
        second): from async code use `analyse_async`. A language no detector knows
        gives an empty result with `supported=False`.
        """
        code = language_code(language)
        detectors = [detector for detector in self.detectors if detector.supports(code)]
        if not detectors:
            return AnalysisResult(text, code, native_language, [], [], [], supported=False)
        prepared = prepare(text[:MAX_TEXT_LENGTH])
        errors: list[LanguageError] = []
        ran: list[str] = []
        unavailable: list[str] = []
        for detector in detectors:
            if not prepared.text.strip():
                break
            try:
                findings = detector.detect(prepared.text, code)
            except DetectorUnavailable:
                unavailable.append(detector.name)
                continue
            except Exception:
                logger.exception("analysis_detector_failed", detector=detector.name, language=code)
                unavailable.append(detector.name)
                continue
            ran.append(detector.name)
            for finding in findings:
                error = self._explain(finding, detector.name, prepared, code, native_language)
                if error is not None:
                    errors.append(error)
        return AnalysisResult(
            text, code, native_language, merge(errors), ran, unavailable, supported=True
        )

    async def analyse_async(
        self,
        text: str,
        language: str,
        native_language: str,
        *,
        reviewer: Reviewer | None = None,
    ) -> AnalysisResult:
        """`analyse` in a worker thread (never blocking the event loop), then, when a
        `reviewer` is given, its review merged in (the offline errors win overlaps)."""
        result = await asyncio.to_thread(self.analyse, text, language, native_language)
        if reviewer is None or not result.supported or not text.strip():
            return result
        try:
            reviewed = await reviewer.review(text, result.language, native_language)
        except Exception:
            logger.warning("analysis_review_failed", language=result.language, exc_info=True)
            return result
        valid = [error for error in reviewed if 0 <= error.span[0] < error.span[1] <= len(text)]
        return AnalysisResult(
            result.text,
            result.language,
            result.native_language,
            merge([*result.errors, *valid]),
            [*result.detectors, REVIEW_DETECTOR],
            result.unavailable,
            supported=True,
        )

    @staticmethod
    def _explain(
        finding: Finding, detector: str, prepared: Prepared, language: str, native: str
    ) -> LanguageError | None:
        start, end = _trim(prepared.text, *finding.span)
        if start >= end or end > len(prepared.text):
            return None
        start, end = prepared.to_original(start, end)
        word = finding.params.get("word") or prepared.original[start:end]
        message, explanation = render(finding, word, language, native)
        return LanguageError(
            code=finding.code,
            category=finding.category,
            message=message,
            span=(start, end),
            suggestion=finding.suggestion,
            severity=severity_for(finding, word),
            explanation=explanation,
            detector=detector,
            detail=finding.detail,
        )


_default: Analyser | None = None
_default_lock = threading.Lock()


def default_analyser() -> Analyser:
    """The process's offline analyser (created on first use; models load lazily)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Analyser.offline()
    return _default


def analyse(text: str, language: str, native_language: str) -> AnalysisResult:
    """The errors of `text` with the offline analyser (see `Analyser.analyse`)."""
    return default_analyser().analyse(text, language, native_language)


async def analyse_async(
    text: str, language: str, native_language: str, *, reviewer: Reviewer | None = None
) -> AnalysisResult:
    """`analyse` off the event loop, with an optional reviewer (see `Analyser.analyse_async`)."""
    return await default_analyser().analyse_async(
        text, language, native_language, reviewer=reviewer
    )
