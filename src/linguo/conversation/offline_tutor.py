"""The offline tutor: deterministic replies from a topic and scenario bank, no language model.

It answers when no LLM provider is configured (and when every provider failed), so a learner
always gets a reply. The bank is one YAML file per target language in ``data/`` (``en.yaml``,
``fr.yaml``, ``es.yaml``), original text written for Linguo; the layout is described at the
top of ``data/en.yaml`` and checked by `load_bank` and `load_banks`.

A reply, in the TARGET language:

1. the learner's mistakes (at most two, the most important category first), each recast
   with its suggestion and followed by its explanation (already in the native language);
   with none, a short acknowledgement reacting to the message (a keyword of it, a question,
   a too-short answer);
2. with focus points (recurring errors) and no correction this turn, every third turn a
   reminder of one of them;
3. the target words from the review queue, each written verbatim, glossed with its
   translation when it is new or the learner is at A1-A2;
4. one follow-up question for the style, topic and CEFR band, never repeating a question of
   the session until every one of them has been asked.

Turn 0 is the greeting: hello, the activity for the style (the role-play's scene and the
tutor's role, the debate's motion, the start of the story...), the target words and the
first question.

Questions come from a per-session sequence: the session's topic (its questions in order for
stories and scenes, else shuffled with the session seed), then the other topics of the style
in a seeded order, each announced when it starts. Turn n asks item n of the sequence. A
topic given as free text is matched against the bank's ids, titles and keywords in every
language (accents and case folded); with no match, the sequence starts with general
questions about the learner's own topic, which the greeting names.

Choices use `random.Random` seeded with the session seed and the turn number, so the same
`TutorTurn` always gives the same text. At A1-A2 the topic's introduction and each
question are followed by their native-language version in square brackets, taken from the
parallel item of the native language's bank (glosses are in English when the native
language has no bank). A target language with no bank falls back to the English bank, and
the greeting says so in the learner's native language.
"""

from __future__ import annotations

import functools
import random
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from linguo.language.text import fold

__all__ = [
    "BANDS",
    "CONVERSATION_STYLES",
    "DATA_DIR",
    "FALLBACK_LANGUAGE",
    "LEVELS",
    "Bank",
    "BankError",
    "Correction",
    "OfflineTutor",
    "TargetWord",
    "Topic",
    "TutorTurn",
    "band_for",
    "default_banks",
    "load_bank",
    "load_banks",
]

CONVERSATION_STYLES = (
    "tutor",
    "casual",
    "travel",
    "business",
    "roleplay",
    "storytelling",
    "debate",
    "interviewer",
)
LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
BANDS = ("A1-A2", "B1-B2", "C1-C2")
"""CEFR bands of the bank: each level uses the questions of its band."""
BEGINNER_BAND = BANDS[0]
FALLBACK_LANGUAGE = "en"
DATA_DIR = Path(__file__).parent / "data"

MIN_TOPICS_PER_STYLE = 2
MIN_QUESTIONS = 5
MAX_CORRECTIONS = 2
FOCUS_EVERY = 3
RECAST_MAX_CHARS = 160
TOPIC_TEXT_MAX_CHARS = 80
SHORT_ANSWER_WORDS = 3
KEYWORD_MIN_CHARS = 5

CATEGORY_PRIORITY = (
    "conjugation",
    "agreement",
    "article_gender",
    "vocabulary",
    "word_order",
    "preposition",
    "spelling",
    "other",
    "punctuation",
)
"""Correction categories, the most important first (unknown ones rank as "other")."""

# phrase list -> (placeholders every template must use, placeholders a template may use)
PHRASES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "greetings": (frozenset(), frozenset()),
    "praise": (frozenset(), frozenset()),
    "praise_keyword": (frozenset({"keyword"}), frozenset({"keyword"})),
    "question_ack": (frozenset(), frozenset()),
    "short_answer": (frozenset(), frozenset()),
    "correction_one": (frozenset({"suggestion"}), frozenset({"original", "suggestion"})),
    "correction_no_suggestion": (frozenset({"original"}), frozenset({"original"})),
    "corrections_many": (frozenset(), frozenset()),
    "correction_item": (frozenset({"suggestion"}), frozenset({"original", "suggestion"})),
    "correction_item_no_suggestion": (frozenset({"original"}), frozenset({"original"})),
    "more_errors": (frozenset(), frozenset()),
    "recast": (frozenset({"recast"}), frozenset({"recast"})),
    "focus_reminder": (frozenset(), frozenset()),
    "new_word": (frozenset({"word"}), frozenset({"word"})),
    "word_practice_one": (frozenset({"word"}), frozenset({"word"})),
    "word_practice_two": (frozenset({"word1", "word2"}), frozenset({"word1", "word2"})),
    "topic_change": (frozenset(), frozenset()),
}
_NO_FIELDS: frozenset[str] = frozenset()
# A topic's question may name the language being practised as {language}, so that its
# gloss in another bank names that language too, not the other bank's own.
_QUESTION_FIELDS = frozenset({"language"})
_TOP_KEYS = frozenset(
    {
        "language",
        "name",
        "quote",
        "function_words",
        "phrases",
        "native",
        "styles",
        "free_questions",
        "topics",
    }
)
_TOPIC_KEYS = frozenset(
    {"id", "style", "levels", "ordered", "title", "keywords", "intro", "questions"}
)
Picker = Callable[..., str]
"""Picks one phrase of a list with the turn's RNG and fills its placeholders."""
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


# --------------------------------------------------------------------------- interface


@dataclass(frozen=True, slots=True)
class TargetWord:
    """A word from the learner's review queue for the tutor to work in."""

    word_id: int
    word: str  # target-language word as shown
    translation: str | None  # in the learner's native language
    is_new: bool


@dataclass(frozen=True, slots=True)
class Correction:
    """One mistake in the learner's message."""

    original: str  # the learner's words (text[span])
    suggestion: str | None
    explanation: str  # already in the learner's native language
    category: str  # spelling, agreement, conjugation, article_gender, preposition, ...


@dataclass(frozen=True, slots=True)
class TutorTurn:
    """Everything the tutor needs for one reply (turn 0 is the greeting)."""

    language: str  # target language: en, fr, es (others fall back to the English bank)
    native_language: str  # glosses language: en, fr, es (others: English)
    level: str  # CEFR A1..C2
    style: str  # one of CONVERSATION_STYLES
    topic: str | None  # free text ("my weekend") or a topic id of the bank
    turn_number: int  # 0 for the greeting, then 1, 2, ...
    learner_message: str | None  # None for the greeting
    corrections: tuple[Correction, ...]
    focus_points: tuple[str, ...]  # recurring errors to revisit (native language)
    target_words: tuple[TargetWord, ...]  # 1-2 words from the learner's review queue
    session_seed: str  # stable per session (its id), for deterministic choices


# --------------------------------------------------------------------------- the bank


class BankError(ValueError):
    """A bank file is missing, unreadable or malformed; the message names file and path."""


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic or scenario: an introduction and questions per CEFR band."""

    id: str
    style: str
    levels: tuple[str, ...]
    ordered: bool  # ask the questions in order (stories, scenes, interviews)
    title: str
    keywords: tuple[str, ...]
    intro: Mapping[str, str]  # band -> text
    questions: Mapping[str, tuple[str, ...]]  # band -> questions


@dataclass(frozen=True, slots=True)
class Bank:
    """One language's bank, validated."""

    language: str
    name: str
    path: Path
    quote: str
    function_words: frozenset[str]  # folded; never picked as the keyword of a message
    phrases: Mapping[str, tuple[str, ...]]
    fallback_note: str
    language_names: Mapping[str, str]
    frames: Mapping[str, tuple[str, ...]]  # style -> sentences announcing the activity
    free_intro: Mapping[str, tuple[str, ...]]  # style -> introductions of {topic}
    free_questions: Mapping[str, tuple[str, ...]]  # band -> questions
    topics: tuple[Topic, ...]

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id (KeyError if none)."""
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def language_name(self, code: str) -> str:
        """The name of language `code` in this bank's language (the code if unnamed)."""
        return self.language_names.get(code, code)


def _placeholders(text: str) -> set[str]:
    """The names of the `{placeholders}` of a template (ValueError if malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


class _Reader:
    """Typed access to the parsed YAML, raising `BankError` with the file and path."""

    def __init__(self, path: Path) -> None:
        self.file = path.name

    def fail(self, where: str, problem: str) -> BankError:
        return BankError(f"{self.file}: {where}: {problem}" if where else f"{self.file}: {problem}")

    def mapping(self, value: Any, where: str, keys: Sequence[str] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        for key in keys:
            if key not in value:
                raise self.fail(where, f"missing {key!r}")
        return value

    def text(
        self,
        value: Any,
        where: str,
        required: frozenset[str] = _NO_FIELDS,
        allowed: frozenset[str] = _NO_FIELDS,
    ) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "expected a string")
        if not value.strip():
            raise self.fail(where, "empty string")
        try:
            fields = _placeholders(value)
        except ValueError as exc:
            raise self.fail(where, f"bad placeholder ({exc})") from None
        if missing := required - fields:
            raise self.fail(where, f"missing placeholder(s) {sorted(missing)}")
        if unknown := fields - allowed:
            raise self.fail(where, f"unknown placeholder(s) {sorted(unknown)}")
        return value

    def texts(
        self,
        value: Any,
        where: str,
        required: frozenset[str] = _NO_FIELDS,
        allowed: frozenset[str] = _NO_FIELDS,
        minimum: int = 1,
    ) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, "expected a list")
        if len(value) < minimum:
            raise self.fail(where, f"expected at least {minimum} item(s), found {len(value)}")
        return tuple(
            self.text(item, f"{where}[{index}]", required, allowed)
            for index, item in enumerate(value)
        )

    def per_band(
        self, value: Any, where: str, minimum: int, allowed: frozenset[str] = _NO_FIELDS
    ) -> dict[str, tuple[str, ...]]:
        bands = self.mapping(value, where, BANDS)
        if extra := set(bands) - set(BANDS):
            raise self.fail(where, f"unknown band(s) {sorted(extra)}")
        return {
            band: self.texts(bands[band], f"{where}.{band}", allowed=allowed, minimum=minimum)
            for band in BANDS
        }


def _levels(reader: _Reader, value: Any, where: str) -> tuple[str, ...]:
    first, _, last = str(value).partition("-")
    if first not in LEVELS or (last or first) not in LEVELS:
        raise reader.fail(where, f"expected a CEFR range like A1-C2, found {value!r}")
    start, end = LEVELS.index(first), LEVELS.index(last or first)
    if start > end:
        raise reader.fail(where, f"empty range {value!r}")
    return LEVELS[start : end + 1]


def _topic(reader: _Reader, value: Any, where: str) -> Topic:
    raw = reader.mapping(value, where, sorted(_TOPIC_KEYS))
    if extra := set(raw) - _TOPIC_KEYS:
        raise reader.fail(where, f"unknown key(s) {sorted(extra)}")
    topic_id = reader.text(raw["id"], f"{where}.id")
    where = f"topics[{topic_id}]"
    style = raw["style"]
    if style not in CONVERSATION_STYLES:
        raise reader.fail(f"{where}.style", f"unknown style {style!r}")
    if not isinstance(raw["ordered"], bool):
        raise reader.fail(f"{where}.ordered", "expected true or false")
    intro = reader.mapping(raw["intro"], f"{where}.intro", BANDS)
    return Topic(
        id=topic_id,
        style=style,
        levels=_levels(reader, raw["levels"], f"{where}.levels"),
        ordered=raw["ordered"],
        title=reader.text(raw["title"], f"{where}.title"),
        keywords=reader.texts(raw["keywords"], f"{where}.keywords"),
        intro={band: reader.text(intro[band], f"{where}.intro.{band}") for band in BANDS},
        questions=reader.per_band(
            raw["questions"], f"{where}.questions", MIN_QUESTIONS, _QUESTION_FIELDS
        ),
    )


def load_bank(path: Path) -> Bank:
    """Read and validate one bank file; `BankError` names the file and the faulty path."""
    reader = _Reader(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise reader.fail("", f"cannot be read ({exc})") from None
    raw = reader.mapping(raw, "", sorted(_TOP_KEYS))
    if extra := set(raw) - _TOP_KEYS:
        raise reader.fail("", f"unknown key(s) {sorted(extra)}")
    language = reader.text(raw["language"], "language")
    if language != path.stem:
        raise reader.fail("language", f"{language!r} does not match the file name")

    phrases_raw = reader.mapping(raw["phrases"], "phrases", sorted(PHRASES))
    if extra := set(phrases_raw) - set(PHRASES):
        raise reader.fail("phrases", f"unknown phrase list(s) {sorted(extra)}")
    phrases = {
        key: reader.texts(phrases_raw[key], f"phrases.{key}", required, allowed)
        for key, (required, allowed) in PHRASES.items()
    }

    native = reader.mapping(raw["native"], "native", ["fallback_note", "language_names"])
    language_field = frozenset({"language"})
    names = reader.mapping(native["language_names"], "native.language_names")
    language_names = {
        str(code): reader.text(name, f"native.language_names.{code}")
        for code, name in names.items()
    }

    styles = reader.mapping(raw["styles"], "styles", CONVERSATION_STYLES)
    if extra := set(styles) - set(CONVERSATION_STYLES):
        raise reader.fail("styles", f"unknown style(s) {sorted(extra)}")
    topic_field = frozenset({"topic"})
    frames, free_intro = {}, {}
    for style in CONVERSATION_STYLES:
        entry = reader.mapping(styles[style], f"styles.{style}", ["frames", "free_intro"])
        frames[style] = reader.texts(entry["frames"], f"styles.{style}.frames")
        free_intro[style] = reader.texts(
            entry["free_intro"], f"styles.{style}.free_intro", topic_field, topic_field
        )

    topics_raw = raw["topics"]
    if not isinstance(topics_raw, list):
        raise reader.fail("topics", "expected a list")
    topics = tuple(_topic(reader, item, f"topics[{i}]") for i, item in enumerate(topics_raw))
    seen: set[str] = set()
    for topic in topics:
        if topic.id in seen:
            raise reader.fail(f"topics[{topic.id}]", "duplicate id")
        seen.add(topic.id)
    for style in CONVERSATION_STYLES:
        count = sum(topic.style == style for topic in topics)
        if count < MIN_TOPICS_PER_STYLE:
            raise reader.fail(
                "topics", f"style {style!r} has {count} topic(s), at least {MIN_TOPICS_PER_STYLE}"
            )

    function_words = reader.texts(raw["function_words"], "function_words")
    return Bank(
        language=language,
        name=reader.text(raw["name"], "name"),
        path=path,
        quote=reader.text(raw["quote"], "quote", frozenset({"text"}), frozenset({"text"})),
        function_words=frozenset(fold(word) for word in function_words),
        phrases=phrases,
        fallback_note=reader.text(
            native["fallback_note"], "native.fallback_note", language_field, language_field
        ),
        language_names=language_names,
        frames=frames,
        free_intro=free_intro,
        free_questions=reader.per_band(raw["free_questions"], "free_questions", MIN_QUESTIONS),
        topics=topics,
    )


def _check_parallel(reference: Bank, bank: Bank) -> None:
    """Item i of a topic's lists must mean the same in every language (used for glosses)."""
    reader = _Reader(bank.path)
    other = reference.path.name
    ids, reference_ids = [t.id for t in bank.topics], [t.id for t in reference.topics]
    if sorted(ids) != sorted(reference_ids):
        missing, extra = set(reference_ids) - set(ids), set(ids) - set(reference_ids)
        raise reader.fail(
            "topics", f"ids differ from {other}: missing {sorted(missing)}, extra {sorted(extra)}"
        )
    for band in BANDS:
        mine, theirs = len(bank.free_questions[band]), len(reference.free_questions[band])
        if mine != theirs:
            raise reader.fail(f"free_questions.{band}", f"{mine} questions, {other} has {theirs}")
    for topic in bank.topics:
        model = reference.topic(topic.id)
        where = f"topics[{topic.id}]"
        for attribute in ("style", "levels", "ordered"):
            if getattr(topic, attribute) != getattr(model, attribute):
                raise reader.fail(f"{where}.{attribute}", f"differs from {other}")
        for band in BANDS:
            mine, theirs = len(topic.questions[band]), len(model.questions[band])
            if mine != theirs:
                raise reader.fail(
                    f"{where}.questions.{band}", f"{mine} questions, {other} has {theirs}"
                )
            for index, (question, parallel) in enumerate(
                zip(topic.questions[band], model.questions[band], strict=True)
            ):
                if _placeholders(question) != _placeholders(parallel):
                    raise reader.fail(
                        f"{where}.questions.{band}[{index}]", f"placeholders differ from {other}"
                    )


def load_banks(directory: Path) -> dict[str, Bank]:
    """Every ``<language>.yaml`` bank of `directory`, validated, checked against English."""
    banks = {path.stem: load_bank(path) for path in sorted(directory.glob("*.yaml"))}
    if FALLBACK_LANGUAGE not in banks:
        raise BankError(f"{directory}: no {FALLBACK_LANGUAGE}.yaml (the fallback bank)")
    reference = banks[FALLBACK_LANGUAGE]
    for bank in banks.values():
        if bank is not reference:
            _check_parallel(reference, bank)
    return banks


@functools.cache
def default_banks() -> dict[str, Bank]:
    """The bundled banks, loaded and validated once per process."""
    return load_banks(DATA_DIR)


def band_for(level: str) -> str:
    """The bank's band for a CEFR level: "B2" -> "B1-B2" (ValueError if unknown)."""
    if level not in LEVELS:
        raise ValueError(f"Unknown CEFR level {level!r}; expected one of {', '.join(LEVELS)}.")
    return BANDS[LEVELS.index(level) // 2]


# --------------------------------------------------------------------------- the tutor


@dataclass(frozen=True, slots=True)
class _Slot:
    """One question of the session's sequence: a topic's (or the free topic's) item."""

    topic_id: str | None  # None: the free questions about the learner's own topic
    index: int
    first: bool  # the first question of its topic


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class OfflineTutor:
    """Deterministic replies from the bank (see the module docstring)."""

    def __init__(self, banks: Mapping[str, Bank] | None = None) -> None:
        """Use `banks` (default: the bundled ones, loaded on first use)."""
        self._given = banks
        self._terms: tuple[Mapping[str, Bank], dict[str, list[tuple[str, ...]]]] | None = None

    @property
    def banks(self) -> Mapping[str, Bank]:
        """The banks in use, by language."""
        return self._given if self._given is not None else default_banks()

    def _bank(self, language: str) -> Bank:
        return self.banks.get(language) or self.banks[FALLBACK_LANGUAGE]

    def _topic_terms(self) -> dict[str, list[tuple[str, ...]]]:
        """Per topic id, the folded words of its keywords, titles and id in every bank."""
        banks = self.banks
        if self._terms is None or self._terms[0] is not banks:
            index: dict[str, list[tuple[str, ...]]] = {}
            for topic in banks[FALLBACK_LANGUAGE].topics:
                terms = {topic.id.partition(".")[2].replace("_", " ")}
                for bank in banks.values():
                    with_id = bank.topic(topic.id)
                    terms.update(with_id.keywords)
                    terms.add(with_id.title)
                index[topic.id] = sorted({words for t in terms if (words := tuple(_words(t)))})
            self._terms = (banks, index)
        return self._terms[1]

    # ----------------------------------------------------------------- topics

    def topics(self, language: str, level: str | None = None) -> list[dict[str, Any]]:
        """The bank's topics (id, title in the target language, style, levels) for a level."""
        if level is not None:
            band_for(level)
        return [
            {
                "id": topic.id,
                "title": topic.title,
                "style": topic.style,
                "levels": list(topic.levels),
            }
            for topic in self._bank(language).topics
            if level is None or level in topic.levels
        ]

    def match_topic(self, text: str, style: str, level: str) -> str | None:
        """The id of the bank topic best matching free text (None when nothing matches).

        An exact id wins; otherwise each topic scores a point per keyword of any bank
        language found among the text's words (a phrase scores its length), its title or
        id words as a phrase; ties go to the session's style, then to the learner's level.
        """
        folded = " ".join(fold(text).split())
        reference = self.banks[FALLBACK_LANGUAGE]
        if any(topic.id == folded for topic in reference.topics):
            return folded
        words = _words(text)
        if not words:
            return None
        stems = {_stem(word) for word in words}
        padded = f" {' '.join(words)} "
        best: tuple[float, str] | None = None
        index = self._topic_terms()
        for topic in reference.topics:
            score = 0.0
            for term_words in index[topic.id]:
                if len(term_words) > 1:
                    if f" {' '.join(term_words)} " in padded:
                        score += len(term_words)
                elif _stem(term_words[0]) in stems:
                    score += 1
            if score == 0:
                continue
            score += 0.5 * (topic.style == style) + 0.25 * (level in topic.levels)
            if best is None or score > best[0]:
                best = (score, topic.id)
        return best[1] if best else None

    def _sequence(self, turn: TutorTurn, band: str) -> tuple[list[_Slot], str | None]:
        """The session's questions in order, and the learner's own topic when unmatched."""
        reference = self.banks[FALLBACK_LANGUAGE]
        primary: str | None = None
        free_text: str | None = None
        if turn.topic and turn.topic.strip():
            primary = self.match_topic(turn.topic, turn.style, turn.level)
            if primary is None:
                free_text = _clip(turn.topic, TOPIC_TEXT_MAX_CHARS)
        rng = random.Random(f"{turn.session_seed}:sequence:{turn.style}")  # noqa: S311 - wording, not security
        of_style = [t for t in reference.topics if t.style == turn.style]
        suitable = [t for t in of_style if turn.level in t.levels] or of_style
        rest = [t for t in of_style if t not in suitable]
        rng.shuffle(suitable)
        rng.shuffle(rest)
        order = [t.id for t in suitable + rest if t.id != primary]
        if primary is not None:
            order.insert(0, primary)

        slots: list[_Slot] = []
        if free_text is not None:
            indexes = list(range(len(reference.free_questions[band])))
            rng.shuffle(indexes)
            slots += [_Slot(None, i, n == 0) for n, i in enumerate(indexes)]
        for topic_id in order:
            topic = reference.topic(topic_id)
            indexes = list(range(len(topic.questions[band])))
            if not topic.ordered:
                rng.shuffle(indexes)
            slots += [_Slot(topic_id, i, n == 0) for n, i in enumerate(indexes)]
        return slots, free_text

    # ----------------------------------------------------------------- reply

    def reply(self, turn: TutorTurn) -> str:
        """The tutor's reply to a turn, in the target language (ValueError: bad style/level)."""
        if turn.style not in CONVERSATION_STYLES:
            raise ValueError(
                f"Unknown conversation style {turn.style!r}; "
                f"expected one of {', '.join(CONVERSATION_STYLES)}."
            )
        band = band_for(turn.level)
        bank = self._bank(turn.language)
        native = self._bank(turn.native_language)
        gloss = native if native.language != bank.language else None
        beginner = band == BEGINNER_BAND
        rng = random.Random(f"{turn.session_seed}:{turn.turn_number}")  # noqa: S311 - wording, not security
        slots, free_text = self._sequence(turn, band)
        slot = slots[turn.turn_number % len(slots)]

        def pick(key: str, **values: str) -> str:
            return rng.choice(bank.phrases[key]).format(**values)

        def glossed(text: str, translation: str | None) -> str:
            if beginner and gloss is not None and translation:
                return f"{text} [{translation}]"
            return text

        def intro(topic_id: str) -> str:
            text = bank.topic(topic_id).intro[band]
            return glossed(text, gloss.topic(topic_id).intro[band] if gloss else None)

        parts: list[str] = []
        if turn.turn_number == 0:
            opening = [rng.choice(bank.phrases["greetings"])]
            if turn.language not in self.banks:
                opening.append(
                    native.fallback_note.format(language=native.language_name(turn.language))
                )
            opening.append(rng.choice(bank.frames[turn.style]))
            if slot.topic_id is None:
                opening.append(rng.choice(bank.free_intro[turn.style]).format(topic=free_text))
            else:
                opening.append(intro(slot.topic_id))
            parts.append(" ".join(opening))
        else:
            corrected = self._corrections(turn, bank, pick)
            if corrected:
                parts.append(corrected)
            else:
                if turn.learner_message is not None:
                    parts.append(self._acknowledge(turn.learner_message, bank, rng, pick))
                if turn.focus_points and turn.turn_number % FOCUS_EVERY == 0:
                    point = turn.focus_points[
                        (turn.turn_number // FOCUS_EVERY - 1) % len(turn.focus_points)
                    ]
                    parts.append(f"{pick('focus_reminder')} {point}")
            if slot.first:
                if slot.topic_id is None:
                    text = rng.choice(bank.free_intro[turn.style]).format(topic=free_text)
                    parts.append(f"{pick('topic_change')} {text}")
                else:
                    parts.append(f"{pick('topic_change')} {intro(slot.topic_id)}")

        words = self._words_part(turn, bank, pick)
        if words:
            parts.append(words)

        if slot.topic_id is None:
            question = bank.free_questions[band][slot.index]
            translation = gloss.free_questions[band][slot.index] if gloss else None
        else:
            question = bank.topic(slot.topic_id).questions[band][slot.index]
            translation = gloss.topic(slot.topic_id).questions[band][slot.index] if gloss else None
            # {language} is the practised language, named in the language of each text.
            question = question.format(language=bank.language_name(bank.language))
            if gloss is not None and translation is not None:
                translation = translation.format(language=gloss.language_name(bank.language))
        parts.append(glossed(question, translation))
        return "\n".join(parts)

    @staticmethod
    def _corrections(turn: TutorTurn, bank: Bank, pick: Picker) -> str:
        """Up to two corrections, most important first, recasting the learner's words."""
        unique: list[Correction] = []
        for correction in turn.corrections:
            if not correction.original.strip():
                continue
            if any(
                (c.original, c.suggestion) == (correction.original, correction.suggestion)
                for c in unique
            ):
                continue
            unique.append(correction)
        if not unique:
            return ""
        rank = {category: n for n, category in enumerate(CATEGORY_PRIORITY)}
        unique.sort(key=lambda c: rank.get(c.category, rank["other"]))
        shown = unique[:MAX_CORRECTIONS]

        def explained(text: str, correction: Correction, separator: str = " ") -> str:
            explanation = correction.explanation.strip()
            return f"{text}{separator}{explanation}" if explanation else text

        if len(shown) == 1:
            only = shown[0]
            if only.suggestion:
                text = pick("correction_one", original=only.original, suggestion=only.suggestion)
            else:
                text = pick("correction_no_suggestion", original=only.original)
            lines = [explained(text, only)]
        else:
            lines = [pick("corrections_many")]
            for item in shown:
                if item.suggestion:
                    text = pick(
                        "correction_item", original=item.original, suggestion=item.suggestion
                    )
                else:
                    text = pick("correction_item_no_suggestion", original=item.original)
                lines.append(explained(text, item, " — "))
        if len(unique) > MAX_CORRECTIONS:
            lines.append(pick("more_errors"))
        elif recast := _recast(turn.learner_message, shown):
            lines.append(pick("recast", recast=recast))
        return "\n".join(lines)

    @staticmethod
    def _acknowledge(message: str, bank: Bank, rng: random.Random, pick: Picker) -> str:
        """A short reaction: to a question, a too-short answer, or a word of the message."""
        stripped = message.strip()
        if stripped.endswith("?"):
            return pick("question_ack")
        words = _WORD.findall(stripped)
        if len(words) < SHORT_ANSWER_WORDS:
            return pick("short_answer")
        candidates = [
            word
            for word in words
            if len(word) >= KEYWORD_MIN_CHARS and fold(word) not in bank.function_words
        ]
        if candidates and rng.random() < 0.5:
            keyword = max(candidates, key=len)
            return pick("praise_keyword", keyword=keyword)
        return pick("praise")

    @staticmethod
    def _words_part(turn: TutorTurn, bank: Bank, pick: Picker) -> str:
        """A sentence asking for the target words, each verbatim; new ones introduced."""
        targets = list(dict.fromkeys(t for t in turn.target_words if t.word.strip()))[:2]
        if not targets:
            return ""
        sentences: list[str] = []
        shown: list[str] = []
        for target in targets:
            quoted = bank.quote.format(text=target.word)
            translation = target.translation.strip() if target.translation else ""
            if translation and fold(translation) == fold(target.word):
                translation = ""
            if target.is_new and translation:
                sentences.append(pick("new_word", word=f"{quoted} ({translation})"))
                shown.append(quoted)
            elif translation and turn.level in LEVELS[:2]:
                shown.append(f"{quoted} ({translation})")
            else:
                shown.append(quoted)
        if len(shown) == 1:
            sentences.append(pick("word_practice_one", word=shown[0]))
        else:
            sentences.append(pick("word_practice_two", word1=shown[0], word2=shown[1]))
        return " ".join(sentences)


def _recast(message: str | None, corrections: Sequence[Correction]) -> str | None:
    """The learner's message with the suggestions applied (None when it cannot be done)."""
    if not message or len(message) > RECAST_MAX_CHARS:
        return None
    found: list[tuple[int, int, str]] = []
    for correction in corrections:
        if correction.suggestion is None:
            return None
        start = message.find(correction.original)
        if start < 0:
            return None
        found.append((start, start + len(correction.original), correction.suggestion))
    found.sort()
    pieces, position = [], 0
    for start, end, suggestion in found:
        if start < position:
            return None
        pieces += [message[position:start], suggestion]
        position = end
    pieces.append(message[position:])
    recast = " ".join("".join(pieces).split())
    return recast if recast and recast != " ".join(message.split()) else None
