"""Read a course written in LibreLingo's YAML format and generate its exercises.

LibreLingo (https://github.com/kantord/LibreLingo) keeps a course in a folder::

    course.yaml                   Course (languages, license, ...), Modules, Settings
    <module>/module.yaml          Module.Name and the ordered list of Skills (skill files)
    <module>/skills/<skill>.yaml  Skill (Name, Id, Thumbnails), New words, Phrases,
                                  Mini-dictionary
    <module>/skills/<skill>.md    optional introduction (Markdown)

`load_course` validates every file first and raises `CourseFormatError` listing every problem
it found, each prefixed with the file (relative to the course folder) and, when known, the
YAML line. Then it builds plain frozen dataclasses: no database, no network, no clock.

Exercises follow LibreLingo's challenge generator (`librelingo_json_export`):

- every new word gives ``cards`` (pick the target word for its translation among other new
  words, with pictures), ``short_input`` (type the target word) and ``listening`` (type the
  word you hear);
- every phrase gives ``options`` (pick the translation of the target phrase among other
  phrases' translations), ``chips`` in both directions (build the translation from a word bank
  of answer tokens plus the tokens of other phrases nearest to them by edit distance) and
  ``listening``.

Accepted answers are LibreLingo's: a word's ``Word`` and ``Synonyms``; a phrase's ``Phrase``
and ``Alternative versions`` or ``Translation`` and ``Alternative translations``. A word's
``Also accepted`` (source-language alternatives, which no LibreLingo challenge asks for)
lands in `WordSpec.translations`. ``Also accepted`` written on a phrase is taken as more
alternative translations, with a warning; other unknown keys are ignored with a warning.

As in LibreLingo, chips need at least two words on both sides, and listening exercises exist
only when ``Settings: Audio: Enabled`` is true in course.yaml. Where LibreLingo's web app
picks distractors at random, this module picks them with `random.Random` seeded from the
exercise key, so two loads of the same files give identical results.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import yaml  # type: ignore[import-untyped]

__all__ = [
    "DEMO_COURSE_PATH",
    "EXERCISE_TYPES",
    "CourseFormatError",
    "CourseSpec",
    "ExerciseSpec",
    "LessonSpec",
    "UnitSpec",
    "WordSpec",
    "load_course",
]

DEMO_COURSE_PATH = Path(__file__).parent / "data" / "french-from-english"
"""The bundled demo course, French for English speakers (written for this project)."""

EXERCISE_TYPES = ("cards", "short_input", "options", "chips", "listening")
"""Every `ExerciseSpec.type`, easiest first."""

CARDS_DISTRACTORS = 3  # LibreLingo shows "three (four on mobile) cards"
OPTIONS_DISTRACTORS = 2  # LibreLingo shows three options
MIN_CHIP_DISTRACTORS = 2  # LibreLingo adds max(len(answer tokens) - 1, 2) extra chips

_TRUE = frozenset({"true", "yes", "on", "1"})
_COURSE_KEYS = frozenset(
    {
        "Language",
        "For speakers of",
        "License",
        "Repository",
        "Special characters",
        "Title",
        "Description",
        "Attribution",
    }
)
_SKILL_FILE_KEYS = frozenset({"Skill", "New words", "Phrases", "Mini-dictionary"})
_SKILL_KEYS = frozenset({"Name", "Id", "Thumbnails"})
_WORD_KEYS = frozenset({"Word", "Translation", "Synonyms", "Also accepted", "Images"})
_PHRASE_KEYS = frozenset(
    {"Phrase", "Translation", "Alternative versions", "Alternative translations", "Also accepted"}
)


# --------------------------------------------------------------------------- public types


class CourseFormatError(ValueError):
    """The course files are missing or malformed.

    `errors` lists every problem found, each as ``"path/in/course.yaml: problem"`` (with
    ``line N:`` after the path when the YAML line is known).
    """

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        count = len(self.errors)
        summary = f"{count} problem{'s' if count != 1 else ''} in the course files"
        super().__init__("\n  ".join([summary, *self.errors]))


@dataclass(frozen=True)
class WordSpec:
    """A vocabulary entry.

    `lemma` is the word as written (no lemmatisation), lower-cased when it is a single word;
    multi-word entries ("el gato") keep their form and have `part_of_speech` "phrase", single
    words "other" (LibreLingo does not record word classes). `translations` maps the language
    of the translations to them, the main one first (then "Also accepted" for a new word, or
    the other mini-dictionary definitions); `synonyms` are same-language alternatives
    ("Synonyms" of a new word); `images` the picture ids of a new word.
    """

    language: str
    word: str
    lemma: str
    part_of_speech: str
    translations: dict[str, list[str]] = field(hash=False)
    synonyms: list[str] = field(hash=False)
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExerciseSpec:
    """One exercise (a LibreLingo "challenge").

    By `type` (prompt language -> answer language):

    - ``cards`` (source -> target): `prompt` is the word's translation, `choices` the word
      and `distractors` (other new words, same skill first), `images` the word's pictures;
    - ``short_input`` (source -> target): type the word; `images` as for cards;
    - ``listening`` (target -> target): `prompt` is empty, `audio_text` is what to play;
    - ``options`` (target -> source): `prompt` is the phrase, `choices` its translation and
      the translations of other phrases (same skill first);
    - ``chips`` (either way): `prompt` is the phrase or its translation, `choices` the word
      bank: the main answer's tokens plus `distractors`, tokens of other phrases.

    `key` is stable within the course: ``"<skill id>:<type>:<prompt lang>-<answer lang>:<hash
    of the word or phrase>"``, so editing a translation keeps the key and re-imports update
    the same exercise. `answers` holds every accepted answer, the main one first (synonyms,
    alternative versions or alternative translations after it); no distractor is ever one
    of them. `choices` are in a deterministic shuffled order and empty for typed exercises.
    `difficulty` is 1 for recognition (cards, options), 2 for building a source-language
    sentence from chips and 3 for production (chips into the target language, short_input,
    listening). `words` are the `WordSpec.word` values of the course's target-language
    vocabulary that the exercise practises (new words and mini-dictionary entries).
    """

    key: str
    type: str
    prompt: str
    prompt_language: str
    answer_language: str
    answers: tuple[str, ...]
    difficulty: int
    words: tuple[str, ...]
    choices: tuple[str, ...] = ()
    distractors: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    audio_text: str | None = None


@dataclass(frozen=True)
class LessonSpec:
    """A LibreLingo skill: its new words (`words`, as written in the skill) and exercises."""

    key: str
    title: str
    order: int
    introduction: str
    lesson_type: str
    words: tuple[WordSpec, ...]
    exercises: tuple[ExerciseSpec, ...]
    source_file: str
    thumbnails: tuple[str, ...] = ()

    def content_hash(self) -> str:
        """SHA-256 (hex) over every field of the lesson, stable across loads and machines."""
        return _digest(asdict(self))


@dataclass(frozen=True)
class UnitSpec:
    """A LibreLingo module: `key` is its folder name, `order` counts from 1."""

    key: str
    title: str
    order: int
    lessons: tuple[LessonSpec, ...]


@dataclass(frozen=True)
class CourseSpec:
    """A whole course.

    `language` and `source_language` are IETF BCP 47 codes ("es", "en"). `attribution` is
    the course's ``Attribution`` text, else its ``Repository`` URL. `vocabulary` merges every
    new word (both directions, as LibreLingo's dictionary does) and every mini-dictionary
    entry, one `WordSpec` per (language, lemma, part of speech) with translations united.
    `audio_enabled` mirrors ``Settings: Audio: Enabled``. `warnings` lists suspicious but
    loadable things (unknown keys, words without a mini-dictionary definition, ...).
    """

    key: str
    title: str
    description: str
    language: str
    source_language: str
    license_name: str
    license_url: str
    attribution: str
    special_characters: tuple[str, ...]
    units: tuple[UnitSpec, ...]
    vocabulary: tuple[WordSpec, ...]
    language_name: str = ""
    source_language_name: str = ""
    repository_url: str = ""
    audio_enabled: bool = False
    warnings: tuple[str, ...] = ()

    def content_hash(self) -> str:
        """SHA-256 (hex) over every field except `warnings`, stable across loads."""
        data = asdict(self)
        del data["warnings"]
        return _digest(data)

    def lessons(self) -> tuple[LessonSpec, ...]:
        """Every lesson of every unit, in course order."""
        return tuple(lesson for unit in self.units for lesson in unit.lessons)


def load_course(path: Path) -> CourseSpec:
    """Load the LibreLingo course in folder `path`; raise `CourseFormatError` if it is broken."""
    root = Path(path)
    report = _Report()
    raw = _read_course(root, report)
    if report.errors or raw is None:
        raise CourseFormatError(report.errors or [f"{root}: the course could not be read"])
    return _Builder(raw, report).build()


# --------------------------------------------------------------------------- text helpers

_TOKEN = re.compile(r"\{[^{}]*\}|[^\s{}]+")
_EDGE = re.compile("^[^\\w'\u2019]+|[^\\w'\u2019]+$")  # keep apostrophes (' and U+2019)


def _display(text: str) -> str:
    """The text as shown to learners: without LibreLingo's {grouping} braces."""
    return " ".join(text.replace("{", "").replace("}", "").split())


def _tokens(text: str) -> list[str]:
    """Words of `text` with surrounding punctuation removed; ``{a b}`` stays one token."""
    tokens = []
    for match in _TOKEN.finditer(text):
        token = _EDGE.sub("", " ".join(match.group().strip("{}").split()))
        if token:
            tokens.append(token)
    return tokens


def _fold(text: str) -> str:
    """Comparison form: tokens only, case-folded, one apostrophe ("¡Hola!" == "hola")."""
    return " ".join(_fold_token(token) for token in _tokens(text))


def _unique(texts: Iterable[str]) -> list[str]:
    """`texts` without repeats (compared by `_fold`), first occurrence kept."""
    seen: set[str] = set()
    result = []
    for text in texts:
        folded = _fold(text) or text
        if folded not in seen:
            seen.add(folded)
            result.append(text)
    return result


def _lemma(word: str) -> str:
    return word.lower() if len(word.split()) == 1 else word


def _part_of_speech(word: str) -> str:
    return "phrase" if len(word.split()) > 1 else "other"


def _fold_token(token: str) -> str:
    return token.casefold().replace("\u2019", "'")


@functools.lru_cache(maxsize=65536)
def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def _digest(data: Any) -> str:
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _rng(key: str) -> random.Random:
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311 - shuffling exercises, not security


# --------------------------------------------------------------------------- YAML as typed nodes


@dataclass(frozen=True)
class _Scalar:
    value: str | None  # None for YAML null (an empty value)
    line: int


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]
    line: int


@dataclass(frozen=True)
class _Map:
    items: tuple[tuple[_Node, _Node], ...]
    line: int


_Node: TypeAlias = "_Scalar | _Seq | _Map"


def _to_node(raw: Any) -> _Node:
    """Convert a PyYAML node (untyped) into `_Node`s that keep line numbers.

    Scalars keep their text as written, like LibreLingo's loader does for booleans: an
    unquoted ``no`` in a mini-dictionary stays the word "no".
    """
    line = int(raw.start_mark.line) + 1
    if isinstance(raw, yaml.ScalarNode):
        is_null = raw.tag == "tag:yaml.org,2002:null"
        return _Scalar(None if is_null else str(raw.value), line)
    if isinstance(raw, yaml.SequenceNode):
        return _Seq(tuple(_to_node(item) for item in raw.value), line)
    return _Map(tuple((_to_node(key), _to_node(value)) for key, value in raw.value), line)


@dataclass
class _Fields:
    values: dict[str, _Node]
    lines: dict[str, int]
    line: int


@dataclass
class _Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _File:
    """One course file: parsing and type checks, reporting problems with the file's name."""

    def __init__(self, root: Path, path: Path, report: _Report) -> None:
        self.path = path
        self.name = path.relative_to(root).as_posix()
        self.report = report

    def _message(self, message: str, line: int | None) -> str:
        where = f"{self.name}: line {line}: " if line else f"{self.name}: "
        return where + message

    def error(self, message: str, line: int | None = None) -> None:
        self.report.errors.append(self._message(message, line))

    def warn(self, message: str, line: int | None = None) -> None:
        self.report.warnings.append(self._message(message, line))

    def parse(self, listed_in: str | None = None) -> _Node | None:
        if not self.path.is_file():
            self.error("file not found" + (f" (listed in {listed_in})" if listed_in else ""))
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.error("not valid UTF-8 text")
            return None
        except OSError as exc:
            self.error(f"cannot be read ({exc.strerror})")
            return None
        try:
            raw = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = " ".join(part for part in (exc.context, exc.problem) if part)
            self.error(f"YAML syntax error: {problem}", int(mark.line) + 1 if mark else None)
            return None
        except yaml.YAMLError as exc:
            self.error(f"YAML error: {exc}")
            return None
        if raw is None:
            self.error("the file is empty")
            return None
        return _to_node(raw)

    def fields(self, node: _Node | None, what: str, known: frozenset[str] | None = None) -> _Fields:
        """`node` as a mapping with text keys; an empty `_Fields` (and an error) otherwise."""
        result = _Fields({}, {}, node.line if node else 0)
        if node is None:
            return result
        if not isinstance(node, _Map):
            self.error(f"{what} must be a mapping (Key: value lines)", node.line)
            return result
        for key, value in node.items:
            if not isinstance(key, _Scalar) or key.value is None:
                self.error(f"{what} has a key that is not text", key.line)
                continue
            if key.value in result.values:
                self.error(f"{what} has the key {key.value!r} twice", key.line)
                continue
            if known is not None and key.value not in known:
                self.warn(f"{what}: unknown key {key.value!r} ignored", key.line)
                continue
            result.values[key.value] = value
            result.lines[key.value] = key.line
        return result

    def require(self, fields: _Fields, key: str, what: str) -> _Node | None:
        node = fields.values.get(key)
        if node is None:
            self.error(f"{what} is missing the required key {key!r}", fields.line or None)
        return node

    def text(self, node: _Node | None, what: str) -> str | None:
        """A non-empty single text value, normalised (NFC, single spaces)."""
        if node is None:
            return None
        if not isinstance(node, _Scalar):
            kind = "a list" if isinstance(node, _Seq) else "a mapping"
            self.error(f"{what} must be a single text value, not {kind}", node.line)
            return None
        if node.value is None or not node.value.strip():
            self.error(f"{what} is empty", node.line)
            return None
        return self._clean(node.value, node.line, what)

    def texts(self, node: _Node | None, what: str) -> list[str] | None:
        """A list of non-empty text values; a bare value is an error, not a one-item list."""
        if node is None:
            return None
        if isinstance(node, _Scalar):
            if node.value is None:
                self.error(f"{what} is empty; write [] for an empty list", node.line)
            else:
                self.error(
                    f"{what} must be a list, not the single value {node.value!r} "
                    f"(write it as a list item: '- {node.value}')",
                    node.line,
                )
            return None
        if isinstance(node, _Map):
            self.error(f"{what} must be a list, not a mapping", node.line)
            return None
        values = [
            self.text(item, f"{what} item {index}") for index, item in enumerate(node.items, 1)
        ]
        return [value for value in values if value is not None]

    def _clean(self, value: str, line: int, what: str) -> str:
        text = unicodedata.normalize("NFC", value)
        stray = 0
        while stray < len(text) and unicodedata.combining(text[stray]):
            stray += 1
        if stray:
            self.warn(
                f"{what}: removed {stray} stray combining mark(s) before {text[stray:]!r}", line
            )
            text = text[stray:]
        return " ".join(text.split())


# --------------------------------------------------------------------------- reading the files


@dataclass
class _RawWord:
    word: str
    synonyms: list[str]
    translation: str
    also_accepted: list[str]
    images: list[str]


@dataclass
class _RawPhrase:
    phrase: str
    versions: list[str]
    translation: str
    alternatives: list[str]


@dataclass
class _RawSkill:
    skill_id: str
    name: str
    thumbnails: list[str]
    words: list[_RawWord]
    phrases: list[_RawPhrase]
    dictionary: list[tuple[str, str, list[str]]]  # (language code, word, definitions)
    introduction: str
    file: _File


@dataclass
class _RawModule:
    key: str
    title: str
    skills: list[_RawSkill]


@dataclass
class _Language:
    name: str
    code: str


@dataclass
class _RawCourse:
    key: str
    title: str
    description: str
    target: _Language
    source: _Language
    license_name: str
    license_url: str
    attribution: str
    repository_url: str
    special_characters: list[str]
    audio_enabled: bool
    modules: list[_RawModule]


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _read_course(root: Path, report: _Report) -> _RawCourse | None:
    if not root.is_dir():
        report.errors.append(f"{root}: course folder not found")
        return None
    file = _File(root, root / "course.yaml", report)
    node = file.parse()
    if node is None:
        return None
    top = file.fields(node, "course.yaml", frozenset({"Course", "Modules", "Settings"}))
    course_node = file.require(top, "Course", "course.yaml")
    course = file.fields(course_node, "Course", _COURSE_KEYS)
    target = source = None
    if course_node is not None:
        target = _read_language(file, course, "Language")
        source = _read_language(file, course, "For speakers of")
    license_name = license_url = ""
    if "License" in course.values:
        license_fields = file.fields(course.values["License"], "Course License")
        short = license_fields.values.get("Short name") or license_fields.values.get("Name")
        license_name = file.text(short, "Course License Short name") or ""
        if short is None:
            file.error("Course License needs a 'Short name' or a 'Name'", license_fields.line)
        license_url = file.text(license_fields.values.get("Link"), "Course License Link") or ""
    optional = {
        key: file.text(course.values.get(key), f"Course {key}") or ""
        for key in ("Title", "Description", "Attribution", "Repository")
    }
    special = file.texts(course.values.get("Special characters"), "Course Special characters")
    audio = _read_audio_enabled(file, top.values.get("Settings"))
    module_entries = file.texts(file.require(top, "Modules", "course.yaml"), "Modules") or []
    if "Modules" in top.values and not module_entries:
        file.error("Modules lists no module", top.lines.get("Modules"))

    modules = []
    skill_ids: dict[str, _File] = {}
    for entry in module_entries:
        module = _read_module(root, entry, file, target, source, skill_ids, report)
        if module is not None:
            modules.append(module)
    if target is None or source is None:
        return None
    title = optional["Title"] or f"{target.name} for {source.name} speakers"
    return _RawCourse(
        key=root.resolve().name,
        title=title,
        description=optional["Description"],
        target=target,
        source=source,
        license_name=license_name,
        license_url=license_url,
        attribution=optional["Attribution"] or optional["Repository"],
        repository_url=optional["Repository"],
        special_characters=special or [],
        audio_enabled=audio,
        modules=modules,
    )


def _read_language(file: _File, course: _Fields, key: str) -> _Language | None:
    node = file.require(course, key, "Course")
    if node is None:
        return None
    fields = file.fields(node, f"Course {key}")
    name = file.text(file.require(fields, "Name", f"Course {key}"), f"Course {key} Name")
    code_node = file.require(fields, "IETF BCP 47", f"Course {key}")
    code = file.text(code_node, f"Course {key} IETF BCP 47")
    if name is None or code is None:
        return None
    return _Language(name=name, code=code)


def _read_audio_enabled(file: _File, settings: _Node | None) -> bool:
    if settings is None:
        return False
    audio = file.fields(settings, "Settings").values.get("Audio")
    if audio is None:
        return False
    enabled = file.fields(audio, "Settings Audio").values.get("Enabled")
    value = file.text(enabled, "Settings Audio Enabled")
    return value is not None and value.lower() in _TRUE


def _read_module(
    root: Path,
    entry: str,
    course_file: _File,
    target: _Language | None,
    source: _Language | None,
    skill_ids: dict[str, _File],
    report: _Report,
) -> _RawModule | None:
    key = entry.strip("/")
    folder = root / key
    if not key or not _inside(root, folder):
        course_file.error(f"module {entry!r} is not a folder inside the course")
        return None
    file = _File(root, folder / "module.yaml", report)
    node = file.parse(listed_in="course.yaml")
    if node is None:
        return None
    top = file.fields(node, "module.yaml", frozenset({"Module", "Skills"}))
    module = file.fields(file.require(top, "Module", "module.yaml"), "Module")
    title = file.text(file.require(module, "Name", "Module"), "Module Name")
    skill_entries = file.texts(file.require(top, "Skills", "module.yaml"), "Skills") or []
    skills = []
    for skill_entry in skill_entries:
        path = folder / "skills" / skill_entry
        if not _inside(root, path):
            file.error(f"skill {skill_entry!r} is not a file inside the course")
            continue
        skill = _read_skill(_File(root, path, report), file.name, target, source, skill_ids)
        if skill is not None:
            skills.append(skill)
    if title is None:
        return None
    return _RawModule(key=key, title=title, skills=skills)


def _read_skill(
    file: _File,
    listed_in: str,
    target: _Language | None,
    source: _Language | None,
    skill_ids: dict[str, _File],
) -> _RawSkill | None:
    node = file.parse(listed_in=listed_in)
    if node is None:
        return None
    errors_before = len(file.report.errors)
    top = file.fields(node, "the skill file", _SKILL_FILE_KEYS)
    skill_node = file.require(top, "Skill", "the skill file")
    skill = file.fields(skill_node, "Skill", _SKILL_KEYS)
    name = skill_id = None
    if skill_node is not None:
        name = file.text(file.require(skill, "Name", "Skill"), "Skill Name")
        skill_id = file.text(file.require(skill, "Id", "Skill"), "Skill Id")
    if skill_id is not None:
        first = skill_ids.setdefault(skill_id, file)
        if first is not file:
            file.error(
                f"duplicate skill Id {skill_id!r} (already used by {first.name})",
                skill.lines.get("Id"),
            )
    thumbnails = file.texts(skill.values.get("Thumbnails"), "Skill Thumbnails") or []

    words = []
    for index, item in enumerate(_items(file, top, "New words"), 1):
        word = _read_word(file, item, index)
        if word is not None:
            words.append(word)
    phrases = []
    for index, item in enumerate(_items(file, top, "Phrases"), 1):
        phrase = _read_phrase(file, item, index)
        if phrase is not None:
            phrases.append(phrase)
    dictionary = _read_mini_dictionary(file, top.values.get("Mini-dictionary"), target, source)

    introduction = ""
    intro_path = file.path.with_suffix(".md")
    if intro_path.is_file():
        try:
            text = intro_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            file.error(f"introduction {intro_path.name} cannot be read as UTF-8 text")
        else:
            introduction = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()
    if not words and not phrases and len(file.report.errors) == errors_before:
        file.warn("the skill has no new words and no phrases")

    if name is None or skill_id is None or len(file.report.errors) > errors_before:
        return None
    return _RawSkill(
        skill_id=skill_id,
        name=name,
        thumbnails=thumbnails,
        words=words,
        phrases=phrases,
        dictionary=dictionary,
        introduction=introduction,
        file=file,
    )


def _items(file: _File, top: _Fields, key: str) -> tuple[_Node, ...]:
    node = file.require(top, key, "the skill file")
    if node is None:
        return ()
    if isinstance(node, _Seq):
        return node.items
    if isinstance(node, _Scalar) and node.value is None:
        file.error(f"{key} is empty; write [] for none", node.line)
    else:
        file.error(f"{key} must be a list", node.line)
    return ()


def _read_word(file: _File, node: _Node, index: int) -> _RawWord | None:
    fields = file.fields(node, f"new word #{index}", _WORD_KEYS)
    word = file.text(file.require(fields, "Word", f"new word #{index}"), f"new word #{index}")
    what = f"new word {word!r}" if word else f"new word #{index}"
    translation_node = file.require(fields, "Translation", what)
    translation = file.text(translation_node, f"{what} Translation")
    synonyms = file.texts(fields.values.get("Synonyms"), f"{what} Synonyms")
    also = file.texts(fields.values.get("Also accepted"), f"{what} Also accepted")
    images = file.texts(fields.values.get("Images"), f"{what} Images")
    if word is None or translation is None:
        return None
    return _RawWord(word, synonyms or [], translation, also or [], _unique_exact(images or []))


def _read_phrase(file: _File, node: _Node, index: int) -> _RawPhrase | None:
    fields = file.fields(node, f"phrase #{index}", _PHRASE_KEYS)
    phrase = file.text(file.require(fields, "Phrase", f"phrase #{index}"), f"phrase #{index}")
    what = f"phrase {phrase!r}" if phrase else f"phrase #{index}"
    translation = file.text(file.require(fields, "Translation", what), f"{what} Translation")
    versions = file.texts(fields.values.get("Alternative versions"), f"{what} Alternative versions")
    alternatives = file.texts(
        fields.values.get("Alternative translations"), f"{what} Alternative translations"
    )
    also = file.texts(fields.values.get("Also accepted"), f"{what} Also accepted")
    if "Also accepted" in fields.values:
        file.warn(
            f"{what}: 'Also accepted' is a key of new words; its values are accepted as "
            "alternative translations (LibreLingo ignores them)",
            fields.lines["Also accepted"],
        )
    if phrase is None or translation is None:
        return None
    return _RawPhrase(phrase, versions or [], translation, [*(alternatives or []), *(also or [])])


def _read_mini_dictionary(
    file: _File, node: _Node | None, target: _Language | None, source: _Language | None
) -> list[tuple[str, str, list[str]]]:
    if node is None:
        return []
    sections = file.fields(node, "Mini-dictionary")
    if target is None or source is None:
        return []
    languages = {target.name: target.code, source.name: source.code}
    for name in sections.values:
        if name not in languages:
            file.error(
                f"Mini-dictionary section {name!r} is neither {target.name!r} nor {source.name!r}",
                sections.lines[name],
            )
    entries: list[tuple[str, str, list[str]]] = []
    for name in (target.name, source.name):  # LibreLingo's order: target language first
        section = sections.values.get(name)
        if section is None:
            if sections.values:
                file.error(f"Mini-dictionary has no {name!r} section", sections.line)
            continue
        if not isinstance(section, _Seq):
            file.error(
                f"Mini-dictionary {name} must be a list of 'word: translation'", section.line
            )
            continue
        for item in section.items:
            entry = _read_definition(file, item, f"Mini-dictionary {name}")
            if entry is not None:
                entries.append((languages[name], *entry))
    return entries


def _read_definition(file: _File, item: _Node, what: str) -> tuple[str, list[str]] | None:
    if not isinstance(item, _Map) or len(item.items) != 1:
        file.error(f"each {what} item must be one 'word: translation' pair", item.line)
        return None
    key, value = item.items[0]
    word = file.text(key, f"{what} word")
    if word is None:
        return None
    what = f"{what} entry {word!r}"
    if isinstance(value, _Seq):
        definitions = file.texts(value, what)
        if definitions == []:
            file.error(f"{what} has no translation", item.line)
        return (word, definitions) if definitions else None
    single = file.text(value, what)
    return (word, [single]) if single is not None else None


def _unique_exact(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------- building the specs


class _VocabularyBuilder:
    """Merges new words and mini-dictionary entries per (language, lemma, part of speech)."""

    def __init__(self) -> None:
        self.words: dict[tuple[str, str, str], WordSpec] = {}

    def add(
        self,
        language: str,
        word: str,
        translation_language: str,
        translations: Sequence[str],
        synonyms: Sequence[str] = (),
        images: Sequence[str] = (),
    ) -> None:
        display = _display(word)
        key = (language, _lemma(display), _part_of_speech(display))
        entry = self.words.get(key)
        if entry is None:
            entry = WordSpec(language, display, key[1], key[2], {}, [])
            self.words[key] = entry
        united = entry.translations.setdefault(translation_language, [])
        united[:] = _unique([*united, *(_display(text) for text in translations)])
        entry.synonyms[:] = _unique([*entry.synonyms, *(_display(text) for text in synonyms)])
        if images:
            merged = tuple(_unique_exact([*entry.images, *images]))
            self.words[key] = WordSpec(
                entry.language,
                entry.word,
                entry.lemma,
                entry.part_of_speech,
                entry.translations,
                entry.synonyms,
                merged,
            )


@dataclass(frozen=True)
class _Candidate:
    """A possible distractor: its display text and what would make it a correct answer."""

    skill_id: str
    text: str
    folded: str
    forms: frozenset[str]  # folded target-language forms
    meanings: frozenset[str]  # folded source-language meanings

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(self.folded.split())


def _folds(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(_fold(text) for text in texts)


class _Builder:
    """Turns a validated `_RawCourse` into a `CourseSpec` with generated exercises."""

    def __init__(self, raw: _RawCourse, report: _Report) -> None:
        self.raw = raw
        self.report = report
        self.target = raw.target.code
        self.source = raw.source.code
        self.skills = [skill for module in raw.modules for skill in module.skills]
        self.card_candidates = [
            _Candidate(
                skill.skill_id,
                _display(word.word),
                _fold(word.word),
                _folds((word.word, *word.synonyms)),
                _folds((word.translation, *word.also_accepted)),
            )
            for skill in self.skills
            for word in skill.words
        ]
        self.option_candidates = [
            _Candidate(
                skill.skill_id,
                _display(phrase.translation),
                _fold(phrase.translation),
                _folds((phrase.phrase, *phrase.versions)),
                _folds((phrase.translation, *phrase.alternatives)),
            )
            for skill in self.skills
            for phrase in skill.phrases
        ]
        # Every token of every phrase variant, per language, first spelling kept.
        self.chip_pool: dict[str, dict[str, str]] = {self.target: {}, self.source: {}}
        for skill in self.skills:
            for phrase in skill.phrases:
                for language, texts in (
                    (self.target, (phrase.phrase, *phrase.versions)),
                    (self.source, (phrase.translation, *phrase.alternatives)),
                ):
                    for text in texts:
                        for token in _tokens(text):
                            self.chip_pool[language].setdefault(_fold_token(token), token)
        self.vocabulary = self._vocabulary()
        self.target_words: dict[str, str] = {}
        for spec in self.vocabulary:
            if spec.language == self.target:
                self.target_words.setdefault(_fold(spec.word), spec.word)
        self.longest_word = max((len(key.split()) for key in self.target_words), default=1)
        self.seen_keys: set[str] = set()

    def build(self) -> CourseSpec:
        self._check_definitions()
        units = []
        for unit_order, module in enumerate(self.raw.modules, 1):
            lessons = tuple(
                self._lesson(skill, order) for order, skill in enumerate(module.skills, 1)
            )
            units.append(UnitSpec(module.key, module.title, unit_order, lessons))
        raw = self.raw
        return CourseSpec(
            key=raw.key,
            title=raw.title,
            description=raw.description,
            language=self.target,
            source_language=self.source,
            license_name=raw.license_name,
            license_url=raw.license_url,
            attribution=raw.attribution,
            special_characters=tuple(raw.special_characters),
            units=tuple(units),
            vocabulary=self.vocabulary,
            language_name=raw.target.name,
            source_language_name=raw.source.name,
            repository_url=raw.repository_url,
            audio_enabled=raw.audio_enabled,
            warnings=tuple(self.report.warnings),
        )

    # ----- vocabulary

    def _vocabulary(self) -> tuple[WordSpec, ...]:
        builder = _VocabularyBuilder()
        for skill in self.skills:
            for word in skill.words:
                builder.add(
                    self.target,
                    word.word,
                    self.source,
                    [word.translation, *word.also_accepted],
                    word.synonyms,
                    word.images,
                )
                builder.add(self.source, word.translation, self.target, [word.word, *word.synonyms])
            for language, text, definitions in skill.dictionary:
                other = self.source if language == self.target else self.target
                builder.add(language, text, other, definitions)
        return tuple(builder.words.values())

    def _check_definitions(self) -> None:
        """Warn about words LibreLingo could not define (it refuses to export such courses)."""
        defined = {
            language: {_fold(spec.word) for spec in self.vocabulary if spec.language == language}
            for language in (self.target, self.source)
        }
        names = {self.target: self.raw.target.name, self.source: self.raw.source.name}
        for skill in self.skills:
            used: dict[str, list[str]] = {self.target: [], self.source: []}
            for word in skill.words:
                used[self.source].extend(_tokens(word.translation))
            for phrase in skill.phrases:
                used[self.target].extend(_tokens(phrase.phrase))
                used[self.source].extend(_tokens(phrase.translation))
            for language, tokens in used.items():
                missing = _unique(t for t in tokens if _fold(t) not in defined[language])
                if missing:
                    skill.file.warn(
                        f"no mini-dictionary definition for these {names[language]} words: "
                        + ", ".join(missing)
                    )

    def _practised_words(self, text: str) -> tuple[str, ...]:
        tokens = [_fold(token) for token in _tokens(text)]
        found: list[str] = []
        for start in range(len(tokens)):
            for length in range(min(self.longest_word, len(tokens) - start), 0, -1):
                word = self.target_words.get(" ".join(tokens[start : start + length]))
                if word is not None and word not in found:
                    found.append(word)
        return tuple(found)

    # ----- lessons

    def _lesson(self, skill: _RawSkill, order: int) -> LessonSpec:
        words: dict[str, WordSpec] = {}
        for word in skill.words:
            display = _display(word.word)
            words.setdefault(
                _lemma(display),
                WordSpec(
                    language=self.target,
                    word=display,
                    lemma=_lemma(display),
                    part_of_speech=_part_of_speech(display),
                    translations={
                        self.source: _unique(
                            _display(t) for t in (word.translation, *word.also_accepted)
                        )
                    },
                    synonyms=_unique(_display(s) for s in word.synonyms),
                    images=tuple(word.images),
                ),
            )
        exercises: list[ExerciseSpec] = []
        for word in skill.words:
            exercises.extend(self._word_exercises(skill, word))
        for phrase in skill.phrases:
            exercises.extend(self._phrase_exercises(skill, phrase))
        if skill.words and skill.phrases:
            lesson_type = "mixed"
        elif skill.words:
            lesson_type = "vocabulary"
        elif skill.phrases:
            lesson_type = "phrases"
        else:
            lesson_type = "mixed"
        return LessonSpec(
            key=skill.skill_id,
            title=skill.name,
            order=order,
            introduction=skill.introduction,
            lesson_type=lesson_type,
            words=tuple(words.values()),
            exercises=tuple(exercises),
            source_file=skill.file.name,
            thumbnails=tuple(skill.thumbnails),
        )

    def _key(self, skill: _RawSkill, kind: str, prompt: str, answer: str, identity: str) -> str:
        digest = hashlib.sha256((_fold(identity) or identity).encode("utf-8")).hexdigest()[:16]
        return f"{skill.skill_id}:{kind}:{prompt}-{answer}:{digest}"

    def _new(self, key: str) -> bool:
        """True the first time `key` is seen: the same exercise is never produced twice."""
        if key in self.seen_keys:
            return False
        self.seen_keys.add(key)
        return True

    def _word_exercises(self, skill: _RawSkill, word: _RawWord) -> list[ExerciseSpec]:
        target_word = _display(word.word)
        answers = tuple(_unique([target_word, *(_display(s) for s in word.synonyms)]))
        meaning = _display(word.translation)
        images = tuple(word.images)
        practised = (target_word,)
        result = []

        key = self._key(skill, "cards", self.source, self.target, word.word)
        if self._new(key):
            rng = _rng(key)
            distractors = self._card_distractors(skill, word, rng)
            choices = [target_word, *distractors]
            rng.shuffle(choices)
            result.append(
                ExerciseSpec(
                    key=key,
                    type="cards",
                    prompt=meaning,
                    prompt_language=self.source,
                    answer_language=self.target,
                    answers=answers,
                    choices=tuple(choices),
                    distractors=tuple(distractors),
                    images=images,
                    difficulty=1,
                    words=practised,
                )
            )
        key = self._key(skill, "short_input", self.source, self.target, word.word)
        if self._new(key):
            result.append(
                ExerciseSpec(
                    key=key,
                    type="short_input",
                    prompt=meaning,
                    prompt_language=self.source,
                    answer_language=self.target,
                    answers=answers,
                    images=images,
                    difficulty=3,
                    words=practised,
                )
            )
        result.extend(self._listening(skill, word.word, practised))
        return result

    def _phrase_exercises(self, skill: _RawSkill, phrase: _RawPhrase) -> list[ExerciseSpec]:
        target_text = _display(phrase.phrase)
        source_text = _display(phrase.translation)
        target_answers = tuple(_unique([target_text, *(_display(v) for v in phrase.versions)]))
        source_answers = tuple(_unique([source_text, *(_display(t) for t in phrase.alternatives)]))
        target_raw = (phrase.phrase, *phrase.versions)
        source_raw = (phrase.translation, *phrase.alternatives)
        practised = self._practised_words(phrase.phrase)
        result = []

        key = self._key(skill, "options", self.target, self.source, phrase.phrase)
        if self._new(key):
            rng = _rng(key)
            distractors = self._option_distractors(skill, phrase, rng)
            choices = [source_text, *distractors]
            rng.shuffle(choices)
            result.append(
                ExerciseSpec(
                    key=key,
                    type="options",
                    prompt=target_text,
                    prompt_language=self.target,
                    answer_language=self.source,
                    answers=source_answers,
                    choices=tuple(choices),
                    distractors=tuple(distractors),
                    difficulty=1,
                    words=practised,
                )
            )
        long_enough = len(_tokens(phrase.phrase)) >= 2 and len(_tokens(phrase.translation)) >= 2
        directions = (  # chips tokens come from the raw texts, where {braces} group words
            (target_text, self.target, self.source, source_answers, source_raw, 2),
            (source_text, self.source, self.target, target_answers, target_raw, 3),
        )
        for prompt, prompt_language, answer_language, answers, raw, difficulty in directions:
            key = self._key(skill, "chips", prompt_language, answer_language, phrase.phrase)
            if not long_enough or not self._new(key):
                continue
            rng = _rng(key)
            solution = _tokens(raw[0])
            distractors = self._chip_distractors(answer_language, raw, solution)
            bank = [*solution, *distractors]
            rng.shuffle(bank)
            result.append(
                ExerciseSpec(
                    key=key,
                    type="chips",
                    prompt=prompt,
                    prompt_language=prompt_language,
                    answer_language=answer_language,
                    answers=answers,
                    choices=tuple(bank),
                    distractors=tuple(distractors),
                    difficulty=difficulty,
                    words=practised,
                )
            )
        result.extend(self._listening(skill, phrase.phrase, practised))
        return result

    def _listening(
        self, skill: _RawSkill, text: str, practised: tuple[str, ...]
    ) -> list[ExerciseSpec]:
        if not self.raw.audio_enabled:
            return []
        key = self._key(skill, "listening", self.target, self.target, text)
        if not self._new(key):
            return []
        spoken = _display(text)
        return [
            ExerciseSpec(
                key=key,
                type="listening",
                prompt="",
                prompt_language=self.target,
                answer_language=self.target,
                answers=(spoken,),
                audio_text=spoken,
                difficulty=3,
                words=practised,
            )
        ]

    # ----- distractors

    def _card_distractors(self, skill: _RawSkill, word: _RawWord, rng: random.Random) -> list[str]:
        """Other new words, same skill first, avoiding any that could also be right.

        Then words that neither contain nor are contained in the answer ("gato" is a poor
        distractor for "el gato"), then words of as many tokens as the answer.
        """
        answers = _folds((word.word, *word.synonyms))
        meanings = _folds((word.translation, *word.also_accepted))
        tokens = frozenset(_fold(word.word).split())
        ranked: dict[str, tuple[tuple[bool, bool, bool, float], str]] = {}
        for other in self.card_candidates:
            if other.folded in ranked or other.forms & answers or other.meanings & meanings:
                continue
            nested = other.tokens <= tokens or tokens <= other.tokens
            rank = (
                other.skill_id != skill.skill_id,
                nested,
                len(other.tokens) != len(tokens),
                rng.random(),
            )
            ranked[other.folded] = (rank, other.text)
        best = sorted(ranked.values())[:CARDS_DISTRACTORS]
        return [text for _, text in best]

    def _option_distractors(
        self, skill: _RawSkill, phrase: _RawPhrase, rng: random.Random
    ) -> list[str]:
        """Other phrases' translations, same skill first, never an accepted translation."""
        versions = _folds((phrase.phrase, *phrase.versions))
        meanings = _folds((phrase.translation, *phrase.alternatives))
        ranked: dict[str, tuple[tuple[bool, float], str]] = {}
        for other in self.option_candidates:
            if other.folded in ranked or other.forms & versions or other.meanings & meanings:
                continue
            ranked[other.folded] = ((other.skill_id != skill.skill_id, rng.random()), other.text)
        best = sorted(ranked.values())[:OPTIONS_DISTRACTORS]
        return [text for _, text in best]

    def _chip_distractors(
        self, language: str, answers: Sequence[str], solution: Sequence[str]
    ) -> list[str]:
        """LibreLingo's extra chips: tokens of the course's phrases nearest the answer's.

        Candidates are ordered by their summed edit distance to the answer's tokens (ties in
        course order) and never include a token of any accepted answer.
        """
        accepted = {_fold_token(token) for text in answers for token in _tokens(text)}
        wanted = [_fold_token(token) for token in solution]
        candidates = [
            (folded, token)
            for folded, token in self.chip_pool[language].items()
            if folded not in accepted
        ]
        ordered = sorted(
            candidates, key=lambda item: sum(_levenshtein(item[0], other) for other in wanted)
        )
        count = max(len(solution) - 1, MIN_CHIP_DISTRACTORS)
        return [token for _, token in ordered[:count]]
