"""Word frequency ranks from PyPI `wordfreq` (its data ships in the wheel: no downloads)."""

from __future__ import annotations

import math
from functools import lru_cache

import wordfreq


@lru_cache(maxsize=64)
def _words_above_bucket(language: str) -> tuple[int, ...]:
    # wordfreq buckets words by frequency in centibels: bucket i holds the words whose
    # frequency rounds to 10 ** (-i / 100). Entry i is how many words are more frequent.
    buckets = wordfreq.get_frequency_list(language)
    counts = [0]
    for bucket in buckets:
        counts.append(counts[-1] + len(bucket))
    return tuple(counts)


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    # available_languages() scans wordfreq's data folder on every call.
    return frozenset(wordfreq.available_languages())


def supports_language(language: str) -> bool:
    """Whether wordfreq has a word list for `language`."""
    return language in _languages()


def frequency_rank(text: str, language: str) -> int | None:
    """1 for the most frequent word of `language`; None when unknown or unsupported.

    Multi-word phrases get the rank of their combined frequency (wordfreq estimates it
    from their words), so that phrases and words sort together. Ties share a rank.
    """
    if not text.strip() or not supports_language(language):
        return None
    frequency = wordfreq.word_frequency(text, language)
    if frequency <= 0:
        return None
    counts = _words_above_bucket(language)
    bucket = min(round(-100 * math.log10(frequency)), len(counts) - 1)
    return counts[bucket] + 1
