"""The vocabulary CSV format read by `linguo import-vocabulary`.

One row per word and source language (UTF-8, comma-separated, a header row); the
columns are documented in the README ("Vocabulary files") and in COLUMNS below.

Rows with the same (language, lemma, part_of_speech) are one word: their translations
(per source language) and examples are united, and that also merges with words already
stored. Every error names the file and line; a file with any error imports nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import simplemma

from linguo.language.frequency import frequency_rank
from linguo.models.vocabulary import CEFR_LEVELS, Gender, PartOfSpeech
from linguo.vocabulary.entries import WordEntry

COLUMNS = (
    "language",
    "word",
    "lemma",
    "part_of_speech",
    "gender",
    "source_language",
    "translations",
    "example",
    "example_translation",
    "cefr_level",
    "frequency_rank",
    "audio_url",
)
REQUIRED_COLUMNS = ("language", "word")
MAX_ERRORS = 50

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_URL = re.compile(r"^https?://\S+$")
_GENDERS = {
    "m": Gender.MASCULINE,
    "masculine": Gender.MASCULINE,
    "f": Gender.FEMININE,
    "feminine": Gender.FEMININE,
    "n": Gender.NEUTER,
    "neuter": Gender.NEUTER,
}
_LIMITS = {"word": 200, "lemma": 200, "translation": 200, "example": 1000}

SAMPLE_ROWS = (
    ("fr", "école", "", "noun", "f", "en", "school", "Je vais à l'école.", "I go to school.", "A1"),
    (
        "fr",
        "école",
        "",
        "noun",
        "f",
        "es",
        "escuela",
        "Je vais à l'école.",
        "Voy a la escuela.",
        "A1",
    ),
    ("fr", "bien", "", "adverb", "", "en", "well|fine", "Je vais bien.", "I am fine.", "A1"),
    (
        "fr",
        "bien",
        "",
        "noun",
        "m",
        "en",
        "good|property",
        "Le bien commun.",
        "The common good.",
        "B1",
    ),
    (
        "fr",
        "chats",
        "chat",
        "noun",
        "m",
        "en",
        "cat",
        "Les chats dorment.",
        "The cats sleep.",
        "A1",
    ),
    ("fr", "s'il vous plaît", "", "phrase", "", "en", "please", "", "", "A1"),
    ("es", "gracias", "", "interjection", "", "en", "thank you|thanks", "", "", "A1"),
)


class VocabularyFileError(ValueError):
    """A vocabulary file that cannot be imported; `errors` name the line and the problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


def sample_csv() -> str:
    """A small valid file showing every column (what `--generate-sample` writes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in SAMPLE_ROWS:
        writer.writerow([*row, "", ""])
    return buffer.getvalue()


def _single_lemma(word: str, language: str) -> str:
    """The dictionary form of a single word (simplemma); phrases are their own lemma."""
    if " " in word.strip():
        return word
    try:
        return str(simplemma.lemmatize(word, lang=language))
    except ValueError:  # a language simplemma does not know
        return word


# Words of these classes do not inflect: a lemmatiser would only mangle them
# ("gracias" is not a form of "gracia", "mieux" is not the adverb "bien").
_UNINFLECTED = frozenset(
    {
        PartOfSpeech.ADVERB,
        PartOfSpeech.PREPOSITION,
        PartOfSpeech.CONJUNCTION,
        PartOfSpeech.INTERJECTION,
        PartOfSpeech.PHRASE,
    }
)


def _default_lemma(word: str, language: str, part_of_speech: PartOfSpeech) -> str:
    return word if part_of_speech in _UNINFLECTED else _single_lemma(word, language)


def read_vocabulary_csv(path: Path) -> list[WordEntry]:
    """Parse and validate a vocabulary CSV file; raises VocabularyFileError listing problems."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VocabularyFileError([f"{path}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise VocabularyFileError([f"{path}: cannot be read ({exc.strerror})"]) from exc
    return parse_vocabulary_csv(text, name=str(path))


def parse_vocabulary_csv(text: str, *, name: str = "<csv>") -> list[WordEntry]:
    """Parse and validate vocabulary CSV text; raises VocabularyFileError listing problems."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    header_errors = [f"{name}:1: unknown column {col!r}" for col in header if col not in COLUMNS]
    header_errors += [
        f"{name}:1: missing required column {col!r}"
        for col in REQUIRED_COLUMNS
        if col not in header
    ]
    if header_errors:
        raise VocabularyFileError(header_errors)
    entries: list[WordEntry] = []
    errors: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            row_errors = list(_row_problems(row))
            if row_errors:
                errors.extend(f"{name}:{line}: {problem}" for problem in row_errors)
                if len(errors) >= MAX_ERRORS:
                    errors.append(f"{name}: stopped after {MAX_ERRORS} errors")
                    break
                continue
            entries.append(_entry(row))
    except csv.Error as exc:
        errors.append(f"{name}:{reader.line_num}: malformed CSV ({exc})")
    if errors:
        raise VocabularyFileError(errors)
    if not entries:
        raise VocabularyFileError([f"{name}: no words (the file has only a header)"])
    return entries


def _value(row: dict[str, str | None], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _row_problems(row: dict[str, str | None]) -> Iterator[str]:
    if None in row:  # csv puts surplus cells under the key None
        yield "more cells than columns"
    language = _value(row, "language")
    source = _value(row, "source_language")
    for column, code in (("language", language), ("source_language", source)):
        if code and not _LANGUAGE.match(code):
            yield f"{column} {code!r} is not a language code like 'fr'"
    if not language:
        yield "language is empty"
    word = _value(row, "word")
    if not word:
        yield "word is empty"
    for column in ("word", "lemma", "example", "example_translation"):
        limit = _LIMITS.get(column, _LIMITS["example"])
        if len(_value(row, column)) > limit:
            yield f"{column} is longer than {limit} characters"
    pos = _value(row, "part_of_speech").lower()
    if pos and pos not in PartOfSpeech.__members__.values():
        allowed = ", ".join(member.value for member in PartOfSpeech)
        yield f"part_of_speech {pos!r} is not one of {allowed}"
    gender = _value(row, "gender").lower()
    if gender and gender not in _GENDERS:
        yield f"gender {gender!r} is not m, f or n"
    translations = [item.strip() for item in _value(row, "translations").split("|")]
    if _value(row, "translations"):
        if not source:
            yield "translations need a source_language"
        if any(not item for item in translations):
            yield "translations has an empty alternative (check the '|' separators)"
        if any(len(item) > _LIMITS["translation"] for item in translations):
            yield f"a translation is longer than {_LIMITS['translation']} characters"
    if _value(row, "example_translation"):
        if not _value(row, "example"):
            yield "example_translation needs an example"
        if not source:
            yield "example_translation needs a source_language"
    cefr = _value(row, "cefr_level").upper()
    if cefr and cefr not in CEFR_LEVELS:
        yield f"cefr_level {cefr!r} is not one of {', '.join(CEFR_LEVELS)}"
    rank = _value(row, "frequency_rank")
    if rank and not (rank.isdigit() and int(rank) > 0):
        yield f"frequency_rank {rank!r} is not a positive whole number"
    audio = _value(row, "audio_url")
    if audio and (not _URL.match(audio) or len(audio) > 500):
        yield f"audio_url {audio!r} is not an http(s) URL of at most 500 characters"


def _entry(row: dict[str, str | None]) -> WordEntry:
    language = _value(row, "language")
    word = _value(row, "word")
    source = _value(row, "source_language")
    pos_text = _value(row, "part_of_speech").lower()
    pos = PartOfSpeech(pos_text) if pos_text else _default_part_of_speech(word)
    translations = [item.strip() for item in _value(row, "translations").split("|") if item.strip()]
    example = _value(row, "example")
    example_translation = _value(row, "example_translation")
    rank = _value(row, "frequency_rank")
    return WordEntry(
        language=language,
        word=word,
        lemma=_value(row, "lemma") or _default_lemma(word, language, pos),
        part_of_speech=pos,
        gender=_GENDERS.get(_value(row, "gender").lower()),
        translations={source: translations} if translations else {},
        examples=(
            [{"text": example, "translations": {source: example_translation}}]
            if example and example_translation
            else [{"text": example, "translations": {}}]
            if example
            else []
        ),
        cefr_level=_value(row, "cefr_level").upper() or None,
        frequency_rank=int(rank) if rank else frequency_rank(word, language),
        audio_url=_value(row, "audio_url") or None,
        frequency_rank_estimated=not rank,
    )


def _default_part_of_speech(word: str) -> PartOfSpeech:
    return PartOfSpeech.PHRASE if " " in word.strip() else PartOfSpeech.OTHER
