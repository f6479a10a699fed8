"""Spelling: hunspell dictionaries (Debian `hunspell-en-us`, `hunspell-fr`, `hunspell-es`)
through PyPI `chunspell` (a compiled binding that bundles libhunspell; module `hunspell`).

What is checked: every word of the text, except numbers and words with digits, URLs,
e-mail addresses, @mentions and #hashtags, words in capitals (acronyms), capitalised words
inside a sentence (names: "Paris", "Kevin"), and a few chat words the dictionaries lack
("ok", "email"). A capitalised word that starts a sentence is checked (hunspell accepts
"Maison" for "maison") but only reported when hunspell has a close suggestion, so that
names starting a sentence pass. French elisions ("l'école") and hyphenated compounds are
looked up whole, then part by part; only an unknown part is reported.

Each unknown word gets hunspell's first suggestion, which also decides the code: a
difference in accents only is `spelling.accent`, in case only `spelling.capital` or
`spelling.lowercase`, a missing apostrophe ("dont") `punctuation.apostrophe`, anything
else `spelling.unknown_word`.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein

from linguo.language.analysis.loading import DetectorUnavailable, Lazy
from linguo.language.analysis.model import ErrorCategory, Finding
from linguo.language.analysis.textmap import sentences, words
from linguo.language.text import fold

__all__ = ["HUNSPELL_DICTIONARIES", "HUNSPELL_PATHS", "HunspellDetector"]

# Dictionaries per language (file names without .dic/.aff) and where to look for them.
# The first is required; the others, when installed, add their words (British spellings
# such as "colour" from Debian hunspell-en-gb).
HUNSPELL_DICTIONARIES = {"en": ("en_US", "en_GB"), "fr": ("fr",), "es": ("es_ES",)}
HUNSPELL_PATHS = ("/usr/share/hunspell", "/usr/share/myspell", "/usr/share/myspell/dicts")

# Words learners type in chats that the dictionaries lack (compared lower-cased).
_CHAT_WORDS = frozenset(
    {
        "ok",
        "okay",
        "email",
        "e-mail",
        "emails",
        "online",
        "wifi",
        "app",
        "apps",
        "selfie",
        "smartphone",
        "haha",
        "jaja",
        "lol",
        "mdr",
    }
)
_SKIP = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|[@#][\w-]+")
_OPENING = "\"'\u00ab\u201c\u2018([¿¡-\u2014\u2013 \t\n"
# A capitalised word starting a sentence is reported only within this distance of its
# suggestion (so "Tambien" -> "También" is, "Mathilde" -> "Mathieu" is not).
_SENTENCE_START_MAX_DISTANCE = 2
# Among hunspell's first suggestions, one differing only in case, accents or an
# apostrophe is preferred.
_SLIGHT_CHANGE_WINDOW = 6
# Suggestions are slow-ish (0.05-0.25 s each in French): at most this many per text.
_MAX_SUGGESTIONS = 12


class _Dictionary:
    """A language's hunspell dictionaries, safe to share between threads (calls are
    serialised). A word is known when any of them knows it; suggestions come from the
    first."""

    def __init__(self, checkers: list[Any]) -> None:
        self._checkers = checkers
        self._lock = threading.Lock()

    @lru_cache(maxsize=65536)  # noqa: B019  # one instance per language, for the process
    def known(self, word: str) -> bool:
        with self._lock:
            return any(checker.spell(word) for checker in self._checkers)

    @lru_cache(maxsize=8192)  # noqa: B019
    def suggestions(self, word: str) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._checkers[0].suggest(word))


def _load(language: str, paths: tuple[str, ...]) -> _Dictionary:
    try:
        hunspell = importlib.import_module("hunspell")  # PyPI chunspell (untyped)
    except ImportError as exc:
        raise DetectorUnavailable(f"PyPI chunspell is not installed ({exc})") from exc
    required, *optional = HUNSPELL_DICTIONARIES[language]
    checkers = []
    for name in (required, *optional):
        folder = next(
            (
                folder
                for folder in paths
                if (Path(folder) / f"{name}.dic").is_file()
                and (Path(folder) / f"{name}.aff").is_file()
            ),
            None,
        )
        if folder is not None:
            checkers.append(hunspell.Hunspell(name, hunspell_data_dir=folder))
        elif name == required:
            raise DetectorUnavailable(
                f"hunspell dictionary {name} not found in {', '.join(paths)} "
                f"(Debian package hunspell-{'en-us' if language == 'en' else language})"
            )
    return _Dictionary(checkers)


class HunspellDetector:
    """Unknown words, with hunspell's suggestion."""

    name = "hunspell"

    def __init__(self, paths: Iterable[str] = HUNSPELL_PATHS) -> None:
        folders = tuple(paths)
        self._dictionaries = {
            language: Lazy(f"hunspell:{language}", partial(_load, language, folders))
            for language in HUNSPELL_DICTIONARIES
        }

    def supports(self, language: str) -> bool:
        """Whether there is a dictionary for `language` (installed or not)."""
        return language in self._dictionaries

    def load(self, language: str) -> None:
        """Load the dictionary now (`DetectorUnavailable` if it is missing)."""
        self._dictionaries[language].get()

    def detect(self, text: str, language: str) -> list[Finding]:
        """Unknown words of `text` (NFC, ASCII apostrophes)."""
        dictionary = self._dictionaries[language].get()
        skipped = [match.span() for match in _SKIP.finditer(text)]
        starts = {start for start, _ in sentences(text)}
        findings: list[Finding] = []
        budget = _MAX_SUGGESTIONS
        for start, end in words(text):
            if any(begin <= start < stop for begin, stop in skipped):
                continue
            word = text[start:end]
            sentence_start = start in starts or _after_opening(text, start, starts)
            if not _checkable(word, sentence_start) or dictionary.known(word):
                continue
            for part_start, part_end in _unknown_parts(dictionary, text, start, end):
                part = text[part_start:part_end]
                if not _checkable(part, sentence_start and part_start == start):
                    continue
                suggestion = None
                if budget > 0:
                    budget -= 1
                    suggestion = _best_suggestion(dictionary.suggestions(part), part)
                if sentence_start and part[0].isupper() and not _close(part, suggestion):
                    continue  # a name starting the sentence, most likely
                findings.append(_finding(part, (part_start, part_end), suggestion))
        return findings


def _after_opening(text: str, start: int, starts: set[int]) -> bool:
    """Whether only opening punctuation separates `start` from a sentence start."""
    index = start
    while index > 0 and text[index - 1] in _OPENING:
        index -= 1
        if index in starts:
            return True
    return index == 0


def _checkable(word: str, sentence_start: bool) -> bool:
    if any(char.isdigit() for char in word) or word.lower() in _CHAT_WORDS:
        return False
    letters = [char for char in word if char.isalpha()]
    if len(letters) > 1 and all(char.isupper() for char in letters):
        return False  # an acronym
    return not (word[0].isupper() and not sentence_start)  # a name inside a sentence


def _unknown_parts(
    dictionary: _Dictionary, text: str, start: int, end: int
) -> list[tuple[int, int]]:
    """The unknown word itself, or only its unknown parts for elisions and compounds."""
    word = text[start:end]
    if "'" not in word and "-" not in word:
        return [(start, end)]
    parts: list[tuple[int, int]] = []
    offset = start
    for piece in re.split(r"(['-])", word):
        if piece in ("'", "-"):
            offset += 1
            continue
        known = dictionary.known(piece) or dictionary.known(piece + "'")
        if piece and not known:
            parts.append((offset, offset + len(piece)))
        offset += len(piece)
    return parts


def _best_suggestion(suggestions: tuple[str, ...], word: str) -> str | None:
    """Hunspell's first suggestion, unless one of its first few only changes case,
    accents or an apostrophe ("dont" -> "don't", though hunspell puts "font" first)."""
    candidates = [
        suggestion.replace("\u2019", "'")
        for suggestion in suggestions
        if suggestion != word and " " not in suggestion
    ]
    if not candidates:
        return None
    slight = [
        candidate
        for candidate in candidates[:_SLIGHT_CHANGE_WINDOW]
        if candidate.lower() == word.lower()
        or fold(candidate) == fold(word)
        or candidate.replace("'", "") == word.replace("'", "")
    ]
    best = slight[0] if slight else candidates[0]
    if word[0].isupper() and best[0].islower():
        best = best[0].upper() + best[1:]
    return best


def _close(word: str, suggestion: str | None) -> bool:
    if suggestion is None:
        return False
    distance = DamerauLevenshtein.distance(word.lower(), suggestion.lower())
    return distance <= _SENTENCE_START_MAX_DISTANCE


def _finding(word: str, span: tuple[int, int], suggestion: str | None) -> Finding:
    code, category = "spelling.unknown_word", ErrorCategory.SPELLING
    if suggestion is not None:
        if suggestion.lower() == word.lower():
            code = "spelling.capital" if suggestion[0].isupper() else "spelling.lowercase"
        elif fold(suggestion) == fold(word):
            code = "spelling.accent"
        elif suggestion.replace("'", "") == word.replace("'", ""):
            code, category = "punctuation.apostrophe", ErrorCategory.PUNCTUATION
    return Finding(code=code, category=category, span=span, suggestion=suggestion)
