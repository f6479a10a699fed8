"""Checking a learner's typed answer against a course's accepted answers.

The checker is deliberately forgiving about everything that is not what an exercise tests
(case, spacing, punctuation, quote styles, Unicode forms, missing accents, a missing
apostrophe, one slip of the fingers in a long word) and strict about what changes the
meaning: a different, missing or extra word, a slip that makes another real word
("perro" -> "pero"), French elision ("je ai" for "j'ai").

How an answer is compared with one accepted answer:

1. Both are split into words by `_words`: NFC, typographic apostrophes, quotes and hyphens
   unified, punctuation dropped (apostrophes and hyphens are kept inside words), and
   lower-cased for comparison (`normalise`).
2. The two word lists are aligned by a small edit-distance dynamic programme over words
   (`_align`). Besides "same word", "missing word", "extra word" and "different word",
   its steps know that several typed words may stand for one accepted word or the reverse
   ("j ai" / "j'ai", "alot" / "a lot", "a el" / "al", "do not" / "don't", "he's not" /
   "he isn't"), so that a difference of that kind costs one step, not a cascade of
   wrong words. difflib's or rapidfuzz's opcodes on word lists cannot do this, because
   they compare words only for equality.
3. Each aligned pair of words is classified by `_compare_words`: equal, accent (equal
   once accents are folded), form (equal once apostrophes, hyphens and spaces are
   ignored), typo (Damerau-Levenshtein distance exactly 1 on a 4+ letter word, where the
   typed word is not itself a real word nor an inflection of the accepted one) or wrong.

An answer is correct when the alignment has no missing, extra or wrong word and at most
`max(1, words // 4)` typos. Among the accepted answers, the closest one is reported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import wordfreq
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

from linguo.language.text import fold

__all__ = [
    "REAL_WORD_MIN_ZIPF",
    "SHORT_REAL_WORD_MIN_ZIPF",
    "AnswerCheck",
    "WordDiff",
    "check_answer",
    "is_real_word",
    "normalise",
    "warm_up",
]

DiffKind = Literal["missing", "extra", "wrong", "typo", "accent"]

# A typed word at least this frequent (Zipf scale: 3.0 = once per million words, about the
# 30,000-35,000 most frequent words of English, Spanish or French) counts as a real word.
# Lower thresholds pull in the web's own misspellings: "gatto" is 2.04 in Spanish, "hous"
# 2.31, "recieve" 2.75, "definately" 2.87 and "thier" 2.99 in English, and those must stay
# typos. Rare inflections that the threshold misses ("gatas", 2.94) are caught by
# `_INFLECTION_ENDINGS` instead.
REAL_WORD_MIN_ZIPF = 3.0
# Words of up to 3 letters must be more frequent: the lists abound in short abbreviations
# and names ("gto" 3.05, "pao" 3.10 in Spanish; "lon" 3.15 in English) that a dropped
# letter produces ("gto" for "gato") and that learners do not mean.
SHORT_REAL_WORD_MIN_ZIPF = 3.5
_SHORT_WORD_LENGTH = 3

# Minimum length (in letters) of an accepted word that may contain a typo.
_TYPO_MIN_LENGTH = 4
# One typo is allowed per this many words of the accepted answer (at least one).
_WORDS_PER_TYPO = 4
# Typed words beyond this many more than the accepted answer's are all extra words: this
# bounds the alignment's cost for pasted essays.
_MAX_EXTRA_WORDS = 30

# Alignment costs. Substituting a wrong word is cheaper than a missing plus an extra word,
# so that a wrong word is reported as such; a typo is cheaper than a wrong word.
_COST_EQUAL = 0
_COST_ACCENT = 1
_COST_FORM = 1
_COST_CONTRACTION = 2
_COST_TYPO = 3
_COST_WRONG = 8
_COST_MISSING = 10
_COST_EXTRA = 10

_APOSTROPHE_LIKE = "\u2019\u2018\u02bc\u00b4`\u2032\u201b\uff07"
_QUOTE_LIKE = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e\uff02"
_HYPHEN_LIKE = "\u2010\u2011"
_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys(_APOSTROPHE_LIKE, "'"),
        **dict.fromkeys(_QUOTE_LIKE, '"'),
        **dict.fromkeys(_HYPHEN_LIKE, "-"),
    }
)
# Letters that Unicode does not decompose but that learners type without their "accent".
_FOLD_EXTRA = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
# Kept inside words only: apostrophes (j'ai), hyphens (t-shirt), Catalan's middle dot.
_JOINERS = frozenset("'-\u00b7")
_SEPARATORS = re.compile(r"['\-\u00b7]")

# Spanish: "a el" -> "al", "de el" -> "del" (the learner should see it, but it is accepted).
_SPANISH_CONTRACTIONS = {("a", "el"): "al", ("de", "el"): "del"}

# French elided forms and the words they stand for; "je ai" for "j'ai" is wrong.
_FRENCH_ELISIONS: dict[str, frozenset[str]] = {
    "j": frozenset({"je"}),
    "l": frozenset({"le", "la"}),
    "d": frozenset({"de"}),
    "m": frozenset({"me"}),
    "t": frozenset({"te"}),
    "s": frozenset({"se", "si"}),
    "n": frozenset({"ne"}),
    "c": frozenset({"ce"}),
    "qu": frozenset({"que"}),
    "jusqu": frozenset({"jusque"}),
    "lorsqu": frozenset({"lorsque"}),
    "puisqu": frozenset({"puisque"}),
    "quoiqu": frozenset({"quoique"}),
}

# A one-letter slip at the end of a word that changes number or gender is a grammar
# mistake, not a typo, even when the resulting form is too rare for the word list.
_INFLECTION_ENDINGS: dict[str, frozenset[str]] = {
    "en": frozenset({"s"}),
    "es": frozenset({"s"}),
    "fr": frozenset({"s", "x", "e"}),
}
_INFLECTION_SWAPS: dict[str, frozenset[tuple[str, str]]] = {
    "es": frozenset({("a", "o"), ("o", "a")}),
}

# English contractions, expanded to full words. "'s" and "'d" are ambiguous: an element
# "is|has" matches either word.
_EN_NOT_SPECIAL = {"can't": ("can", "not"), "won't": ("will", "not"), "shan't": ("shall", "not")}
_EN_SUFFIXES = (
    ("'re", "are"),
    ("'ve", "have"),
    ("'ll", "will"),
    ("'d", "would|had"),
    ("'m", "am"),
    ("'s", "is|has"),
)
_EN_WHOLE = {"cannot": ("can", "not"), "let's": ("let", "us"), "ain't": ("ain't",)}
# Contractions typed without their apostrophe ("dont", "Im"), by their bare form, so that
# they count as slips also when the accepted answer has the full form ("do not").
_EN_BARE_CONTRACTIONS = {
    f"{word}{suffix}".replace("'", "").lower(): f"{word}{suffix}"
    for words, suffixes in (
        (("I",), ("'m", "'ve", "'ll", "'d")),
        (("you", "we", "they"), ("'re", "'ve", "'ll", "'d")),
        (("he", "she", "it"), ("'s", "'ll", "'d")),
        (("that", "there", "what", "who", "where", "here", "how", "let"), ("'s",)),
        (("could", "should", "would"), ("'ve",)),
        (
            # "ca" and "wo" make "can't" and "won't".
            ("do", "does", "did", "is", "are", "was", "were", "ca", "wo", "would", "should"),
            ("n't",),
        ),
        (("could", "have", "has", "had", "must", "need"), ("n't",)),
    )
    for word in words
    for suffix in suffixes
}


@dataclass(frozen=True, slots=True)
class WordDiff:
    """One word-level difference between the learner's answer and an accepted answer."""

    kind: DiffKind
    expected: str | None  # the word of the closest accepted answer (None for extra)
    given: str | None  # the learner's word (None for missing)
    position: int  # index of the word in the closest accepted answer (or where it would go)


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    """The verdict on one typed answer."""

    correct: bool  # True also when only typos/accents were wrong
    typo: bool  # correct, but with slips the learner should see
    expected: str  # the closest accepted answer, as written in the course
    message: str | None  # short English explanation; None when exactly right
    diff: list[WordDiff]  # differences to the closest accepted answer; empty when exactly right


# --- Normalising -----------------------------------------------------------------------


def _language_code(language: str) -> str:
    return language.strip().lower().replace("_", "-").split("-")[0]


def _lower(word: str, language: str) -> str:
    if language in ("tr", "az"):
        # Turkish and Azerbaijani pair dotted and dotless i: I -> dotless i, İ -> i.
        word = word.replace("I", "\u0131").replace("İ", "i")
    return word.lower()


def _words(text: str) -> tuple[str, ...]:
    """The words of `text` as written (case kept), with punctuation and noise removed."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    kept: list[str] = []
    last = len(text) - 1
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        previous = kept[-1] if kept else " "
        if char in _JOINERS:
            following = text[index + 1] if index < last else " "
            attached = previous.isalnum() or unicodedata.category(previous)[0] == "M"
            kept.append(char if attached and following.isalnum() else " ")
        elif category[0] == "P" or category == "Cc" or char == "|":  # "|" marks alternatives
            kept.append(" ")
        elif category == "Cf":
            continue  # zero-width spaces and joiners, soft hyphens, byte-order marks
        elif category[0] == "M":
            # A combining mark with no letter before it (stray marks in course data, or
            # after punctuation that was dropped) would otherwise glue onto a space.
            if previous.isalnum() or unicodedata.category(previous)[0] == "M":
                kept.append(char)
        else:
            kept.append(char)
    return tuple(unicodedata.normalize("NFC", "".join(kept)).split())


def normalise(text: str, language: str) -> str:
    """The comparison form of `text`: what two answers must share to count as identical.

    - Unicode NFC (so NFD input compares equal), stray combining marks removed;
    - typographic apostrophes (right and left single quotation marks, modifier-letter
      apostrophe, acute and grave accents, prime) become ', typographic quotes (curly
      double quotes, guillemets, double prime) become " and are then dropped with all
      other punctuation (. , ; : ! ? ¡ ¿ … etc.);
    - apostrophes, hyphens and middle dots are kept only between two letters or digits
      (j'ai, aujourd'hui, t-shirt, col·legi);
    - words lower-cased (dotted/dotless i for "tr" and "az") and joined by single spaces.

    Accents are kept: "café" and "cafe" have different comparison forms (the checker
    accepts the latter as a slip). `language` is the language of `text`.
    """
    code = _language_code(language)
    return " ".join(_lower(word, code) for word in _words(text))


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """Lower-case, accent-free form of a normalised word: "École" -> "ecole", ß -> ss."""
    return fold(word).translate(_FOLD_EXTRA)


@lru_cache(maxsize=65536)
def _skeleton(word: str) -> str:
    """The folded word without apostrophes, hyphens and middle dots."""
    return _SEPARATORS.sub("", _fold(word))


# --- Real words ------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _real_words(language: str) -> frozenset[str]:
    if language not in wordfreq.available_languages():
        return frozenset()
    # wordfreq buckets words by frequency in centibels: bucket i holds the words of
    # frequency 10 ** (-i / 100), i.e. of Zipf value 9 - i / 100.
    last_bucket = round((9 - REAL_WORD_MIN_ZIPF) * 100)
    last_short_bucket = round((9 - SHORT_REAL_WORD_MIN_ZIPF) * 100)
    # Read past wordfreq's own cache, which would keep the whole list (about 17 MiB a
    # language) for the life of the process next to the set built from it.
    buckets = wordfreq.get_frequency_list.__wrapped__(language)[: last_bucket + 1]
    return frozenset(
        folded
        for index, bucket in enumerate(buckets)
        for word in bucket
        if len(folded := _fold(word)) > _SHORT_WORD_LENGTH or index <= last_short_bucket
    )


def warm_up(languages: Iterable[str] = ("en", "fr", "es")) -> None:
    """Load the real-word lists of `languages` now (about 0.1 s each), not at the first
    answer checked in each."""
    for language in languages:
        _real_words(_language_code(language))


def is_real_word(word: str, language: str) -> bool:
    """Whether `word` is a word of `language` of Zipf frequency >= `REAL_WORD_MIN_ZIPF`
    (`SHORT_REAL_WORD_MIN_ZIPF` for words of up to 3 letters).

    The test ignores case and accents. Languages that wordfreq lacks have no real words,
    so every slip in them is treated as a typo.
    """
    return _fold(word.lower()) in _real_words(_language_code(language))


# --- Comparing words -------------------------------------------------------------------

# Word comparison results: (kind, cost). Kinds: "equal", "accent", "form", "typo", "wrong".
_Result = tuple[str, int]
_EQUAL: _Result = ("equal", _COST_EQUAL)
_ACCENT: _Result = ("accent", _COST_ACCENT)
_FORM: _Result = ("form", _COST_FORM)
_TYPO: _Result = ("typo", _COST_TYPO)
_WRONG: _Result = ("wrong", _COST_WRONG)


def _is_inflection(given: str, expected: str, language: str) -> bool:
    """Whether a one-letter slip only changes an ending: gato/gatos, gatos/gatas."""
    longer, shorter = (given, expected) if len(given) > len(expected) else (expected, given)
    if len(longer) == len(shorter) + 1 and longer.startswith(shorter):
        ending = longer[-1]
        # "gatoss" for "gatos" is a typo: the ending is already there.
        return ending in _INFLECTION_ENDINGS.get(language, ()) and not shorter.endswith(ending)
    if len(given) == len(expected) > 1 and given[-1] == expected[-1] == "s":
        given, expected = given[:-1], expected[:-1]  # gatas for gatos
    if len(given) == len(expected) and given[:-1] == expected[:-1]:
        return (given[-1], expected[-1]) in _INFLECTION_SWAPS.get(language, ())
    return False


@lru_cache(maxsize=65536)
def _compare_words(given: str, expected: str, language: str) -> _Result:
    """Classify one typed word against one accepted word (both normalised)."""
    if given == expected:
        return _EQUAL
    if "|" in expected or "|" in given:  # alternatives from an expanded contraction
        return min(
            (
                _compare_words(one, other, language)
                for one in given.split("|")
                for other in expected.split("|")
            ),
            key=lambda result: result[1],
        )
    folded_given, folded_expected = _fold(given), _fold(expected)
    if folded_given == folded_expected:
        return _ACCENT
    if _skeleton(given) == _skeleton(expected):
        return _FORM
    given_parts = _SEPARATORS.split(folded_given)
    expected_parts = _SEPARATORS.split(folded_expected)
    if len(given_parts) != len(expected_parts):
        return _WRONG
    slips = [(g, e) for g, e in zip(given_parts, expected_parts, strict=True) if g != e]
    if len(slips) != 1:
        return _WRONG
    slipped, intended = slips[0]
    if (
        len(intended) < _TYPO_MIN_LENGTH
        or any(char.isdigit() for char in slipped + intended)
        or DamerauLevenshtein.distance(slipped, intended, score_cutoff=1) != 1
        or slipped in _real_words(language)
        or _is_inflection(slipped, intended, language)
    ):
        return _WRONG
    return _TYPO


@lru_cache(maxsize=8192)
def _expand(word: str) -> tuple[str, ...]:
    """An English word with its contraction expanded: "don't" -> ("do", "not")."""
    if word in _EN_WHOLE:
        return _EN_WHOLE[word]
    if "'" not in word:
        return (word,)
    if word in _EN_NOT_SPECIAL:
        return _EN_NOT_SPECIAL[word]
    if word.endswith("n't") and len(word) > 3:
        return (word[:-3], "not")
    for suffix, full in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return (word[: -len(suffix)], full)
    return (word,)


# --- Aligning answers ------------------------------------------------------------------

# Step kinds that still make a correct answer. Besides the word comparison kinds, a step
# can be "contraction" (Spanish "a el" for "al", accepted), "elision" (French "je ai" for
# "j'ai", wrong), "missing" or "extra".
_ACCEPTABLE = frozenset({"equal", "accent", "form", "typo", "contraction"})
_DIFF_KIND: dict[str, DiffKind] = {
    "accent": "accent",
    "form": "typo",
    "typo": "typo",
    "contraction": "typo",
    "elision": "wrong",
    "wrong": "wrong",
    "missing": "missing",
    "extra": "extra",
}
_SPECIAL_COSTS = {"form": _COST_FORM, "contraction": _COST_CONTRACTION, "elision": _COST_WRONG}
_ELIDED_FULL_FORMS = frozenset().union(*_FRENCH_ELISIONS.values())
_UNREACHED = 1 << 30


@dataclass(frozen=True, slots=True)
class _Tokens:
    """A text split into words and prepared for alignment."""

    text: str
    display: tuple[str, ...]  # the words as written (case and accents kept)
    words: tuple[str, ...]  # their comparison forms
    skeletons: tuple[str, ...]  # the words without accents, apostrophes and hyphens
    parts: tuple[str, ...]  # the words, English contractions expanded: what is aligned
    starts: tuple[int, ...]  # index in `parts` of each word's first part, then len(parts)
    origin: tuple[int, ...]  # index of the word that each part comes from
    key: str  # normalise(text)
    folded_parts: tuple[str, ...]  # accent-free parts, for rapidfuzz's word similarity
    folded: str  # accent-free text, for rapidfuzz's character similarity


def _tokenise(text: str, language: str) -> _Tokens:
    display = _words(text)
    words = tuple(_lower(word, language) for word in display)
    parts: list[str] = []
    starts: list[int] = []
    origin: list[int] = []
    for index, word in enumerate(words):
        starts.append(len(parts))
        expansion = _expand(word) if language == "en" else (word,)
        parts.extend(expansion)
        origin.extend([index] * len(expansion))
    starts.append(len(parts))
    return _Tokens(
        text=text,
        display=display,
        words=words,
        skeletons=tuple(map(_skeleton, words)),
        parts=tuple(parts),
        starts=tuple(starts),
        origin=tuple(origin),
        key=" ".join(words),
        folded_parts=tuple(_fold(part.split("|")[0]) for part in parts),
        folded=" ".join(map(_fold, words)),
    )


_accepted_tokens = lru_cache(maxsize=8192)(_tokenise)


@dataclass(frozen=True, slots=True)
class _Step:
    """Accepted parts [i, i + di) aligned with typed parts [j, j + dj)."""

    i: int
    j: int
    di: int
    dj: int
    kind: str  # "equal" or a key of _DIFF_KIND
    typos: int  # slips that count towards the answer's typo budget


def _pair_kind(first: str, second: str, expected: str, language: str) -> str | None:
    """What two typed words are to one accepted word: Spanish contraction, French elision."""
    if language == "es":
        return "contraction" if _SPANISH_CONTRACTIONS.get((first, second)) == expected else None
    if language == "fr" and "'" in expected and _fold(first) in _ELIDED_FULL_FORMS:
        prefix, rest = expected.split("'", 1)
        if _fold(first) in _FRENCH_ELISIONS.get(_fold(prefix), ()) and _fold(second) == _fold(rest):
            return "elision"
    return None


def _special_steps(
    given: _Tokens, expected: _Tokens, language: str
) -> dict[tuple[int, int], list[tuple[int, int, str]]]:
    """Steps (di, dj, kind) between blocks of whole words, keyed by where they start (in parts).

    - several typed words for one accepted word, or one for several, equal once accents,
      apostrophes, hyphens and spaces are ignored: "j ai"/"j'ai", "alot"/"a lot", and
      "dont"/"don't" where the contraction was expanded;
    - Spanish "a el"/"de el" for "al"/"del"; French "je ai" for "j'ai".
    """
    steps: dict[tuple[int, int], list[tuple[int, int, str]]] = {}

    def add(i: int, di: int, j: int, dj: int, kind: str) -> None:
        start_i, start_j = expected.starts[i], given.starts[j]
        di, dj = expected.starts[i + di] - start_i, given.starts[j + dj] - start_j
        steps.setdefault((start_i, start_j), []).append((di, dj, kind))

    n, m = len(expected.words), len(given.words)
    expected_by_skeleton: dict[str, list[int]] = {}
    for i, skeleton in enumerate(expected.skeletons):
        expected_by_skeleton.setdefault(skeleton, []).append(i)
    for j in range(m):
        joined = ""
        for dj in range(1, min(4, m - j) + 1):
            joined += given.skeletons[j + dj - 1]
            for i in expected_by_skeleton.get(joined, ()):
                one_part_each = (
                    expected.starts[i + 1] - expected.starts[i] == 1
                    and given.starts[j + 1] - given.starts[j] == 1
                )
                if dj > 1 or not one_part_each:  # else _compare_words sees it
                    add(i, 1, j, dj, "form")
    given_by_skeleton: dict[str, list[int]] = {}
    for j, skeleton in enumerate(given.skeletons):
        given_by_skeleton.setdefault(skeleton, []).append(j)
    for i in range(n):
        joined = expected.skeletons[i]
        for di in range(2, min(4, n - i) + 1):
            joined += expected.skeletons[i + di - 1]
            for j in given_by_skeleton.get(joined, ()):
                add(i, di, j, 1, "form")
    if language == "en":
        for j, word in enumerate(given.words):
            contraction = _EN_BARE_CONTRACTIONS.get(word)
            if contraction is None:
                continue
            expansion = _expand(contraction.lower())
            for i in range(n):
                start, end = expected.starts[i], expected.starts[i] + len(expansion)
                if end in expected.starts and all(
                    _compare_words(part, wanted, language)[0] == "equal"
                    for part, wanted in zip(expansion, expected.parts[start:end], strict=False)
                ):
                    steps.setdefault((start, given.starts[j]), []).append(
                        (end - start, given.starts[j + 1] - given.starts[j], "form")
                    )
    if language in ("es", "fr"):
        for j in range(m - 1):
            first, second = given.words[j], given.words[j + 1]
            if (first, second) not in _SPANISH_CONTRACTIONS and first not in _ELIDED_FULL_FORMS:
                continue
            for i, word in enumerate(expected.words):
                kind = _pair_kind(first, second, word, language)
                if kind is not None:
                    add(i, 1, j, 2, kind)
    return steps


def _align(given: _Tokens, expected: _Tokens, language: str) -> tuple[int, list[_Step]]:
    """Align typed with accepted parts at the least cost; returns (cost, steps).

    Word-level Levenshtein distance whose substitutions are priced by `_compare_words`,
    plus the steps of `_special_steps`.
    """
    typed, wanted = given.parts, expected.parts
    n, m = len(wanted), len(typed)
    width = m + 1
    cost = [_UNREACHED] * ((n + 1) * width)
    # Back-pointers as (di, dj, kind, typos): tuples are much cheaper to make than _Step.
    back: list[tuple[int, int, str, int] | None] = [None] * ((n + 1) * width)
    cost[0] = 0
    specials = _special_steps(given, expected, language)
    missing = (1, 0, "missing", 0)
    extra = (0, 1, "extra", 0)
    for i in range(n + 1):
        wanted_word = wanted[i] if i < n else ""
        for j in range(m + 1):
            here = i * width + j
            base = cost[here]
            # Ties go to the first step tried: a word for a word, then missing, then extra.
            if i < n:
                if j < m:
                    kind, step_cost = _compare_words(typed[j], wanted_word, language)
                    there = here + width + 1
                    if base + step_cost < cost[there]:
                        cost[there] = base + step_cost
                        back[there] = (1, 1, kind, kind == "typo")
                there = here + width
                if base + _COST_MISSING < cost[there]:
                    cost[there] = base + _COST_MISSING
                    back[there] = missing
            if j < m:
                there = here + 1
                if base + _COST_EXTRA < cost[there]:
                    cost[there] = base + _COST_EXTRA
                    back[there] = extra
            if specials:
                for di, dj, kind in specials.get((i, j), ()):
                    there = here + di * width + dj
                    step_cost = _SPECIAL_COSTS[kind]
                    if base + step_cost < cost[there]:
                        cost[there] = base + step_cost
                        back[there] = (di, dj, kind, 0)

    steps: list[_Step] = []
    i, j = n, m
    while i or j:
        taken = back[i * width + j]
        assert taken is not None  # every cell is reachable through missing and extra steps
        di, dj, kind, typos = taken
        i, j = i - di, j - dj
        steps.append(_Step(i, j, di, dj, kind, typos))
    steps.reverse()
    return cost[n * width + m], steps


def _diagonal(given: _Tokens, expected: _Tokens, language: str) -> tuple[int, list[_Step]] | None:
    """The word-for-word alignment when it is acceptable, else None.

    When it is, the answer is correct against `expected` and the full alignment would
    find nothing better worth reporting, so `_align` is not needed.
    """
    if len(given.parts) != len(expected.parts):
        return None
    cost = 0
    steps: list[_Step] = []
    for index, (typed, wanted) in enumerate(zip(given.parts, expected.parts, strict=True)):
        kind, step_cost = _compare_words(typed, wanted, language)
        if kind == "wrong":
            return None
        cost += step_cost
        steps.append(_Step(index, index, 1, 1, kind, int(kind == "typo")))
    if sum(step.typos for step in steps) > _typo_budget(len(expected.words)):
        return None
    return cost, steps


# --- Checking answers ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One accepted answer's alignment with the typed answer."""

    accepted: _Tokens
    index: int
    steps: list[_Step]
    cost: int
    correct: bool
    over_budget: bool
    word_similarity: float  # rapidfuzz, on accent-free words
    char_similarity: float  # rapidfuzz, on accent-free text


def _typo_budget(word_count: int) -> int:
    return max(1, word_count // _WORDS_PER_TYPO)


def _candidate(
    given: _Tokens, accepted: _Tokens, index: int, cost: int, steps: list[_Step]
) -> _Candidate:
    acceptable = all(step.kind in _ACCEPTABLE for step in steps)
    over_budget = sum(step.typos for step in steps) > _typo_budget(len(accepted.words))
    return _Candidate(
        accepted=accepted,
        index=index,
        steps=steps,
        cost=cost,
        correct=acceptable and not over_budget,
        over_budget=over_budget,
        word_similarity=Levenshtein.normalized_similarity(
            given.folded_parts, accepted.folded_parts
        ),
        char_similarity=fuzz.ratio(given.folded, accepted.folded),
    )


def _closest(given: _Tokens, accepted: Sequence[_Tokens], language: str) -> _Candidate:
    """The accepted answer that `given` is closest to, with their alignment."""
    # Most answers are right but for slips, word for word: then there is no need to run
    # the full alignment against every accepted answer.
    quick = [
        _candidate(given, candidate, index, *diagonal)
        for index, candidate in enumerate(accepted)
        if (diagonal := _diagonal(given, candidate, language)) is not None
    ]
    if quick:
        return min(quick, key=_rank)
    limit = max(len(candidate.words) for candidate in accepted) + _MAX_EXTRA_WORDS
    aligned = given
    if len(given.words) > limit:
        # Pasted essays: align the first words, the rest are all extra.
        aligned = _tokenise(" ".join(given.display[:limit]), language)
    candidates = []
    for index, candidate in enumerate(accepted):
        cost, steps = _align(aligned, candidate, language)
        for j in range(len(aligned.parts), len(given.parts)):
            steps.append(_Step(len(candidate.parts), j, 0, 1, "extra", 0))
            cost += _COST_EXTRA
        candidates.append(_candidate(given, candidate, index, cost, steps))
    return min(candidates, key=_rank)


def _rank(candidate: _Candidate) -> tuple[bool, float, float, float, int]:
    """Sort key: correct answers first, the cheapest alignment first; then the most
    similar wrong answers (rapidfuzz word similarity, then alignment cost, then rapidfuzz
    character similarity); then the course's order."""
    if candidate.correct:
        return (False, candidate.cost, -candidate.char_similarity, 0.0, candidate.index)
    return (
        True,
        -candidate.word_similarity,
        candidate.cost,
        -candidate.char_similarity,
        candidate.index,
    )


def check_answer(answer: str, accepted: Sequence[str], language: str) -> AnswerCheck:
    """Check a learner's `answer`, written in `language` (ISO 639-1), against `accepted`.

    Returns the verdict against the closest accepted answer: exactly right (ignoring case,
    spacing, punctuation, quote styles and Unicode form; English contractions and their
    full forms are interchangeable), correct with slips to show (accents, a missing
    apostrophe or hyphen, one typo per 4+-letter word that makes no other real word, at
    most one per 4 words; Spanish "a el"/"de el"), or wrong, with the words that differ.
    Raises ValueError when `accepted` is empty (or a bare string rather than a sequence).
    """
    if isinstance(accepted, str) or not accepted:
        raise ValueError("accepted must be a non-empty sequence of answers")
    code = _language_code(language)
    candidates = [_accepted_tokens(text, code) for text in accepted]
    given = _tokenise(answer, code)
    if not given.words:
        first = candidates[0]
        return AnswerCheck(
            correct=False,
            typo=False,
            expected=first.text,
            message="No answer given.",
            diff=[WordDiff("missing", word, None, k) for k, word in enumerate(first.display)],
        )
    for candidate in candidates:
        if candidate.key == given.key:
            return AnswerCheck(True, False, candidate.text, None, [])

    best = _closest(given, candidates, code)
    diff = _diff(best, given)
    if best.correct:
        return AnswerCheck(
            correct=True,
            typo=bool(diff),
            expected=best.accepted.text,
            message=_message(best, diff, given, code) if diff else None,
            diff=diff,
        )
    return AnswerCheck(
        correct=False,
        typo=False,
        expected=best.accepted.text,
        message=_message(best, diff, given, code),
        diff=diff,
    )


def _shown(tokens: _Tokens, start: int, length: int) -> str | None:
    """The words of parts [start, start + length) as written, or the parts themselves
    when they are only some of a contraction's ("am" of "I'm")."""
    if not length:
        return None
    first, last = tokens.origin[start], tokens.origin[start + length - 1]
    if tokens.starts[first] == start and tokens.starts[last + 1] == start + length:
        return " ".join(tokens.display[first : last + 1])
    return " ".join(part.split("|")[0] for part in tokens.parts[start : start + length])


def _diff(candidate: _Candidate, given: _Tokens) -> list[WordDiff]:
    accepted = candidate.accepted
    diff: list[WordDiff] = []
    for step in candidate.steps:
        if step.kind == "equal":
            continue
        kind = _DIFF_KIND[step.kind]
        if kind == "typo" and step.typos and candidate.over_budget:
            kind = "wrong"  # too many slips
        at_end = step.i >= len(accepted.parts)
        position = len(accepted.words) if at_end else accepted.origin[step.i]
        diff.append(
            WordDiff(
                kind,
                _shown(accepted, step.i, step.di),
                _shown(given, step.j, step.dj),
                position,
            )
        )
    return diff


def _message(candidate: _Candidate, diff: Sequence[WordDiff], given: _Tokens, language: str) -> str:
    """A short English explanation of `diff` for the learner."""
    details = [step.kind for step in candidate.steps if step.kind != "equal"]
    entries = list(zip(diff, details, strict=True))
    if not candidate.correct:
        accepted = candidate.accepted
        if len(accepted.words) > 1 and sorted(given.skeletons) == sorted(accepted.skeletons):
            return f"Mind the word order: '{accepted.text}'."
        if candidate.over_budget and set(details) <= _ACCEPTABLE:
            slips = [
                f"'{entry.expected}' (you wrote '{entry.given}')"
                for entry, detail in entries
                if detail == "typo"
            ]
            return f"Too many slips: {', '.join(slips)}."
        errors = [(entry, detail) for entry, detail in entries if detail not in _ACCEPTABLE]
        if len(errors) > 3:
            return f"Not quite. The answer is '{accepted.text}'."
        return " ".join(_error_sentences(errors))
    sentences: list[str] = []
    for entry, detail in entries:
        if detail == "typo":
            sentences.append(f"Almost: you wrote '{entry.given}', the word is '{entry.expected}'.")
        elif detail == "contraction":
            sentences.append(f"Almost: in Spanish '{entry.given}' contracts to '{entry.expected}'.")
        elif detail == "form":
            both = f"{entry.expected} {entry.given}"
            shown = entry.expected
            if "'" not in both and language == "en":
                shown = _EN_BARE_CONTRACTIONS.get(str(entry.given).lower(), shown)
            what = (
                "apostrophe" if "'" in both + str(shown) else "hyphen" if "-" in both else "spacing"
            )
            sentences.append(f"Mind the {what}: {shown}.")
    accents = [str(entry.expected) for entry in diff if entry.kind == "accent"]
    if accents:
        plural = "s" if len(accents) > 1 else ""
        sentences.append(f"Mind the accent{plural}: {', '.join(accents)}.")
    return " ".join(sentences)


def _error_sentences(errors: Sequence[tuple[WordDiff, str]]) -> list[str]:
    sentences: list[str] = []
    for entry, detail in errors:
        if detail == "wrong":
            sentences.append(f"Wrong word: '{entry.expected}' (you wrote '{entry.given}').")
        elif detail == "elision":
            sentences.append(f"In French, '{entry.given}' must be written '{entry.expected}'.")
    missing = [f"'{entry.expected}'" for entry, detail in errors if detail == "missing"]
    if missing:
        sentences.append(f"Missing word{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")
    extra = [f"'{entry.given}'" for entry, detail in errors if detail == "extra"]
    if extra:
        sentences.append(f"Extra word{'s' if len(extra) > 1 else ''}: {', '.join(extra)}.")
    return sentences
