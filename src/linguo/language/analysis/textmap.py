"""The learner's text as the detectors see it, with offsets back into the original."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["APOSTROPHES", "Prepared", "prepare", "sentences", "words"]

# Typographic apostrophes, unified to ' where a tool wants the ASCII one (same length).
APOSTROPHES = "\u2019\u2018\u02bc\uff07"
_TO_ASCII_APOSTROPHE = str.maketrans(dict.fromkeys(APOSTROPHES, "'"))

# A word: letters (with their combining marks), digits, and inner apostrophes or hyphens.
_WORD = re.compile(r"[^\W_](?:[\w\u0300-\u036f]|['\u2019\u02bc-](?=[^\W_]))*")
# The end of a sentence: ., !, ?, … (repeated), then spaces or the end.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u00bb\u201d)]*(?=\s|$)")


@dataclass(frozen=True, slots=True)
class Prepared:
    """`text` in Unicode NFC, as detectors see it, and the way back to the original.

    `starts[i]` and `ends[i]` are the original offsets of the character cluster that
    character i of `text` comes from (a letter with its combining accents becomes one
    character when composed). `identity` when `text` is the original itself.
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    identity: bool

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of `text[start:end]`."""
        if self.identity:
            return start, end
        length = len(self.text)
        start = min(max(start, 0), length)
        end = min(max(end, start), length)
        if start == length:
            return len(self.original), len(self.original)
        if end == start:
            return self.starts[start], self.starts[start]
        return self.starts[start], self.ends[end - 1]

    def ascii_apostrophes(self) -> str:
        """`text` with typographic apostrophes as ' (offsets unchanged)."""
        return self.text.translate(_TO_ASCII_APOSTROPHE)


def prepare(original: str) -> Prepared:
    """NFC-normalise `original`, keeping the offsets of every character."""
    if unicodedata.is_normalized("NFC", original):
        return Prepared(original, original, (), (), identity=True)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    index = 0
    length = len(original)
    while index < length:
        # A cluster: one character and the combining marks that follow it.
        end = index + 1
        while end < length and unicodedata.combining(original[end]):
            end += 1
        composed = unicodedata.normalize("NFC", original[index:end])
        pieces.append(composed)
        starts.extend([index] * len(composed))
        ends.extend([end] * len(composed))
        index = end
    return Prepared(original, "".join(pieces), tuple(starts), tuple(ends), identity=False)


def words(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the words of `text` (inner ' and - kept in words)."""
    return [match.span() for match in _WORD.finditer(text)]


def sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the sentences of `text`, ending punctuation included,
    leading and trailing spaces excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    result = []
    for begin, end in spans:
        chunk = text[begin:end]
        stripped = chunk.strip()
        if stripped:
            offset = begin + (len(chunk) - len(chunk.lstrip()))
            result.append((offset, offset + len(stripped)))
    return result
