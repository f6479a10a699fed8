"""Card export and import formats.

- `csv`: every card with its full FSRS state; `POST /flashcards/import` reads it back, so
  it doubles as a backup that moves a learner's cards between accounts or servers.
- `anki`: a tab-separated file with Anki's file headers (Anki 2.1.55+ reads them): the
  Basic note type's Front and Back, a stable GUID per card (re-importing updates notes
  instead of duplicating them) and the scheduling data as tags and extra columns.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from linguo.models.srs import CardState, Flashcard, SrsCard
from linguo.models.vocabulary import VocabularyWord

ExportFormat = Literal["csv", "anki"]
CSV_COLUMNS = (
    "kind",
    "word_id",
    "front",
    "back",
    "note",
    "language",
    "source_language",
    "state",
    "step",
    "due",
    "last_review",
    "stability",
    "difficulty",
    "reps",
    "lapses",
)
ANKI_COLUMNS = (
    "GUID",
    "Front",
    "Back",
    "Tags",
    "Note",
    "State",
    "Due",
    "Stability",
    "Difficulty",
    "Reps",
    "Lapses",
)
MAX_IMPORT_ROWS = 20_000
MAX_NOTE_LENGTH = 5000
MAX_INTEGER = 2_147_483_647

ExportRow = tuple[SrsCard, VocabularyWord | None, Flashcard | None]


def _sides(
    word: VocabularyWord | None, flashcard: Flashcard | None, native_language: str
) -> tuple[str, str, str, str, str]:
    """(front, back, note, language, source_language) of a card."""
    if flashcard is not None:
        return (
            flashcard.front,
            flashcard.back,
            flashcard.note or "",
            flashcard.language,
            flashcard.source_language,
        )
    assert word is not None
    source = (
        native_language
        if native_language in word.translations
        else next(iter(word.translations), native_language)
    )
    back = " | ".join(word.translations.get(source, []))
    return word.word, back, "", word.language, source


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _number(value: float | None) -> str:
    # repr is the shortest text that reads back as the same float: a backup must restore the
    # exact FSRS state, or restored cards drift from the originals at their next review.
    return "" if value is None else repr(value)


def to_csv(rows: Sequence[ExportRow], native_language: str) -> str:
    """The backup CSV of these cards."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for card, word, flashcard in rows:
        front, back, note, language, source = _sides(word, flashcard, native_language)
        writer.writerow(
            (
                "word" if card.word_id is not None else "flashcard",
                card.word_id or "",
                front,
                back,
                note,
                language,
                source,
                card.state.value,
                "" if card.step is None else card.step,
                "" if card.state is CardState.NEW else _time(card.due),
                _time(card.last_review),
                _number(card.stability),
                _number(card.difficulty),
                card.reps,
                card.lapses,
            )
        )
    return buffer.getvalue()


def to_anki(rows: Sequence[ExportRow], native_language: str) -> str:
    """An Anki-importable tab-separated file of these cards."""
    buffer = io.StringIO()
    buffer.write("#separator:tab\n#html:false\n#notetype:Basic\n#deck:Linguo\n")
    buffer.write("#guid column:1\n#tags column:4\n")
    buffer.write("#columns:" + "\t".join(ANKI_COLUMNS) + "\n")
    writer = _AnkiWriter(buffer)
    for card, word, flashcard in rows:
        front, back, note, language, _ = _sides(word, flashcard, native_language)
        tags = ["linguo", f"linguo::{language}", f"linguo::state::{card.state.value}"]
        if card.state is not CardState.NEW:
            tags.append(f"linguo::due::{card.due.date().isoformat()}")
        writer.writerow(
            (
                card_key(card.id),
                front,
                back,
                " ".join(tags),
                note,
                card.state.value,
                "" if card.state is CardState.NEW else _time(card.due),
                _number(card.stability),
                _number(card.difficulty),
                card.reps,
                card.lapses,
            )
        )
    return buffer.getvalue()


class _AnkiWriter:
    """Tab-separated rows, quoting every field that holds a tab, a quote, CR or LF.

    (`csv.writer` quotes only the characters of its line terminator, so a lone CR in a
    field would end the row early for Anki and every other reader.)
    """

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def writerow(self, fields: Sequence[object]) -> None:
        self.buffer.write("\t".join(_anki_field(str(field)) for field in fields) + "\n")


def _anki_field(value: str) -> str:
    if any(char in value for char in '\t"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True, slots=True)
class BackupRow:
    """One card read back from a backup CSV."""

    line: int
    word_id: int | None
    front: str
    back: str
    note: str | None
    language: str
    source_language: str
    state: CardState
    step: int | None
    due: datetime | None
    last_review: datetime | None
    stability: float | None
    difficulty: float | None
    reps: int
    lapses: int


class BackupFileError(ValueError):
    """A backup that cannot be imported; `errors` name the line and the problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def decode_backup(raw: bytes) -> str:
    """The text of an uploaded backup; BackupFileError naming the line if it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BackupFileError([f"line {line}: the file is not UTF-8 text"]) from exc


def parse_backup(text: str) -> list[BackupRow]:
    """Read a backup CSV written by `to_csv`; raises BackupFileError listing problems."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise BackupFileError([f"line 1: missing columns {', '.join(missing)}"])
    rows: list[BackupRow] = []
    errors: list[str] = []
    try:
        for record in reader:
            if len(rows) >= MAX_IMPORT_ROWS:
                errors.append(f"more than {MAX_IMPORT_ROWS} cards in one file")
                break
            problems = list(_problems(record))
            if problems:
                errors.extend(f"line {reader.line_num}: {problem}" for problem in problems)
                if len(errors) >= 50:
                    break
                continue
            rows.append(_backup_row(reader.line_num, record))
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: malformed CSV ({exc})")
    if errors:
        raise BackupFileError(errors)
    return rows


def _problems(record: dict[str, str | None]) -> Iterator[str]:
    values = {key: (value or "").strip() for key, value in record.items() if key}
    if None in record:
        yield "more cells than columns"
    if values["kind"] not in ("word", "flashcard"):
        yield "kind must be word or flashcard"
    if values["kind"] == "word" and not _whole_number(values["word_id"]):
        yield "a word card needs a numeric word_id"
    if not values["front"] or len(values["front"]) > 500:
        yield "front must be 1..500 characters"
    if not values["back"] or len(values["back"]) > 1000:
        yield "back must be 1..1000 characters"
    if len(record.get("note") or "") > MAX_NOTE_LENGTH:
        yield f"note must be at most {MAX_NOTE_LENGTH} characters"
    for column in ("language", "source_language"):
        code = values[column]
        if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.islower()):
            yield f"{column} {code!r} is not a language code"
    try:
        state = CardState(values["state"])
    except ValueError:
        yield f"state {values['state']!r} is not one of new, learning, review, relearning"
        return
    for column in ("reps", "lapses"):
        if not _whole_number(values[column]):
            yield f"{column} must be a whole number"
    if values["step"] and not _whole_number(values["step"]):
        yield "step must be empty or a whole number"
    if state is CardState.NEW:
        return
    if state is CardState.RELEARNING and not values["step"]:
        yield "step is required for a relearning card"
    for column in ("due", "last_review"):
        try:
            parsed = datetime.fromisoformat(values[column])
        except ValueError:
            yield f"{column} must be an ISO 8601 time for a reviewed card"
            continue
        if parsed.tzinfo is None:
            yield f"{column} must have a UTC offset"
    for column, low, high in (("stability", 0.001, 36500 * 10), ("difficulty", 1.0, 10.0)):
        try:
            number = float(values[column])
        except ValueError:
            yield f"{column} must be a number for a reviewed card"
            continue
        if not low <= number <= high:
            yield f"{column} must be between {low} and {high}"


def _whole_number(text: str) -> bool:
    """ASCII digits of a value PostgreSQL's integer holds (`"²".isdigit()` is True)."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_INTEGER


def _backup_row(line: int, record: dict[str, str | None]) -> BackupRow:
    values = {key: (value or "").strip() for key, value in record.items() if key}
    state = CardState(values["state"])
    reviewed = state is not CardState.NEW
    return BackupRow(
        line=line,
        word_id=int(values["word_id"]) if values["kind"] == "word" else None,
        front=values["front"],
        back=values["back"],
        note=record.get("note") or None,  # verbatim: a note's own spacing is content
        language=values["language"],
        source_language=values["source_language"],
        state=state,
        step=int(values["step"]) if values["step"] and reviewed else None,
        due=datetime.fromisoformat(values["due"]) if reviewed else None,
        last_review=datetime.fromisoformat(values["last_review"]) if reviewed else None,
        stability=float(values["stability"]) if reviewed else None,
        difficulty=float(values["difficulty"]) if reviewed else None,
        reps=int(values["reps"]),
        lapses=int(values["lapses"]),
    )


def card_key(card_id: uuid.UUID) -> str:
    """The GUID Anki stores for a card, stable across exports."""
    return f"linguo-{card_id}"
