"""Vocabulary entries as importers produce them, and how duplicates merge.

Every importer (the CSV command, the course importer) turns its input into
`WordEntry` values; `merge_entries` folds entries with the same key, and
`merge_into` folds an entry into a word already stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from linguo.language.text import fold
from linguo.models.vocabulary import Gender, PartOfSpeech

WordKey = tuple[str, str, PartOfSpeech]


@dataclass
class WordEntry:
    """One word to store; translations map a source language to alternatives, best first.

    `frequency_rank_estimated` marks a rank the importer estimated (wordfreq) rather than
    one its input gave: a given rank is never replaced by an estimate.
    """

    language: str
    word: str
    lemma: str
    part_of_speech: PartOfSpeech
    gender: Gender | None = None
    translations: dict[str, list[str]] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    cefr_level: str | None = None
    frequency_rank: int | None = None
    audio_url: str | None = None
    frequency_rank_estimated: bool = False

    @property
    def key(self) -> WordKey:
        """Duplicates are the same (language, lemma, part of speech)."""
        return (self.language, self.lemma, self.part_of_speech)


def merge_translations(
    current: dict[str, list[str]], extra: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Union per source language, keeping the current order; case/accent duplicates dropped."""
    merged = {language: list(values) for language, values in current.items()}
    for language, values in extra.items():
        known = merged.setdefault(language, [])
        seen = {fold(value) for value in known}
        for value in values:
            if fold(value) not in seen:
                known.append(value)
                seen.add(fold(value))
    return merged


def merge_examples(
    current: list[dict[str, Any]], extra: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Union by example text; translations of the same example are merged by language."""
    merged = [
        {"text": ex["text"], "translations": dict(ex.get("translations", {}))} for ex in current
    ]
    by_text = {fold(example["text"]): example for example in merged}
    for example in extra:
        existing = by_text.get(fold(example["text"]))
        if existing is None:
            copy = {"text": example["text"], "translations": dict(example.get("translations", {}))}
            merged.append(copy)
            by_text[fold(example["text"])] = copy
        else:
            for language, translation in example.get("translations", {}).items():
                existing["translations"].setdefault(language, translation)
    return merged


def merge_into(target: WordEntry, extra: WordEntry) -> None:
    """Fold `extra` into `target`: lists are united, non-empty scalars of `extra` win.

    Two exceptions: an estimated frequency rank never replaces a given one, and an
    inflected form ("chats") never replaces the dictionary form ("chat") as the word shown.
    """
    target.translations = merge_translations(target.translations, extra.translations)
    target.examples = merge_examples(target.examples, extra.examples)
    if extra.word and (
        fold(extra.word) == fold(extra.lemma) or fold(target.word) != fold(target.lemma)
    ):
        target.word = extra.word
    target.gender = extra.gender or target.gender
    target.cefr_level = extra.cefr_level or target.cefr_level
    if extra.frequency_rank is not None and (
        not extra.frequency_rank_estimated
        or target.frequency_rank_estimated
        or target.frequency_rank is None
    ):
        target.frequency_rank = extra.frequency_rank
        target.frequency_rank_estimated = extra.frequency_rank_estimated
    target.audio_url = extra.audio_url or target.audio_url


def merge_entries(entries: Iterable[WordEntry]) -> dict[WordKey, WordEntry]:
    """Entries folded by key, in first-seen order."""
    merged: dict[WordKey, WordEntry] = {}
    for entry in entries:
        existing = merged.get(entry.key)
        if existing is None:
            merged[entry.key] = entry
        else:
            merge_into(existing, entry)
    return merged
