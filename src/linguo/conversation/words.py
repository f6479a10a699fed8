"""Which target words a learner's message uses, by lemma (simplemma), and where.

"chats" uses *chat*, "je suis allée" uses *aller*: words are compared by their lemmas, with
case and accents folded, never by string equality. A multi-word entry ("s'il vous plaît")
is used when its words appear in order.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import simplemma

from linguo.language.text import fold

_APOSTROPHE = "\u2019"  # typographic apostrophe, as in l\u2019école
_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*", re.UNICODE)
# simplemma knows these; anything else is compared by its folded form only.
_LEMMATISED = frozenset(
    {"de", "en", "es", "fr", "it", "pt", "nl", "pl", "ru", "sv", "da", "fi", "cs", "el", "tr"}
)


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the text, its span, and its comparable forms."""

    start: int
    end: int
    forms: frozenset[str]


@functools.lru_cache(maxsize=65536)
def _forms(word: str, language: str) -> frozenset[str]:
    forms = {fold(word)}
    if language in _LEMMATISED:
        forms.add(fold(simplemma.lemmatize(word.lower(), lang=language)))
    return frozenset(form for form in forms if form)


def tokens(text: str, language: str) -> list[Token]:
    """The words of `text` with their spans; elided forms ("l'école") count as their word."""
    result = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        start = match.start()
        head, apostrophe, tail = word.replace(_APOSTROPHE, "'").partition("'")
        if apostrophe and len(head) <= 2 and tail:  # French/Italian elision: l'école, j'ai
            start += len(head) + 1
            word = tail
        result.append(Token(start, match.end(), _forms(word, language)))
    return result


def find_word(
    text_tokens: list[Token], word: str, lemma: str, language: str
) -> tuple[int, int] | None:
    """The span in the text where the word (or a form of it) is used, or None."""
    parts = [_forms(part, language) | {fold(part)} for part in word.split()]
    if len(parts) == 1:
        wanted = parts[0] | _forms(lemma, language) | {fold(lemma)}
        for token in text_tokens:
            if token.forms & wanted:
                return token.start, token.end
        return None
    for index in range(len(text_tokens) - len(parts) + 1):
        window = text_tokens[index : index + len(parts)]
        if all(token.forms & part for token, part in zip(window, parts, strict=True)):
            return window[0].start, window[-1].end
    return None
