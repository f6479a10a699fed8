"""Import a course read by `librelingo.load_course` into the database, updating it in place.

One call is one transaction of the caller's session (flushed, never committed):

- Ids are stable: uuid5 of `COURSE_NAMESPACE` and ``course:<course key>``, ``unit:<course
  key>:<unit key>``, ``lesson:<course key>:<lesson key>``, ``exercise:<course key>:<exercise
  key>``; rows are found again by their `source_key` (the key in the files), so re-imports
  update in place and never duplicate.
- Units get a colour from `UNIT_COLOURS` by their position when they are created (the files
  have none; an admin's later choice is kept) and no icon. Lessons get `pass_score` 0.8 when
  created (kept afterwards) and the previous lesson of the course as prerequisite.
- A lesson or unit gone from the files is deleted (with its exercises and learners' attempts
  at it); an exercise gone from a lesson that remains is archived, because learners' answers
  refer to it. Rows made in the admin API (no `source_key`) are left alone.
- Listening exercises need audio: speech is synthesised (a few texts at a time) and stored
  before anything is written, so a failing engine cannot leave half an import. A listening
  exercise left without audio (no engine, or it failed) is kept out of lessons with status
  `pending_review`, and the report says so; importing again with a working engine
  publishes it.
- Words of the course become vocabulary words (merged with the catalogue); lessons and
  exercises are linked to them exactly (stale links removed). A lesson's words are its new
  words, then the words its exercises practise that no earlier lesson introduced
  (`lesson_words`).
- A new course starts at content_version 1. Later, when anything changed, the course's
  content_version goes up once, as does that of every lesson that is new or whose row,
  exercises or word links changed (`versions.content_changed`). Re-importing identical
  files writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.content import media, media_repository, versions
from linguo.content.librelingo import CourseSpec, ExerciseSpec, WordSpec
from linguo.core.cache import bump_cache_generation
from linguo.core.errors import BadRequest, ErrorCode
from linguo.models.content import (
    Course,
    Exercise,
    ExerciseStatus,
    ExerciseType,
    ExerciseWord,
    Lesson,
    LessonType,
    LessonWord,
    Unit,
)
from linguo.models.vocabulary import PartOfSpeech, VocabularyWord
from linguo.providers.speech import TextToSpeech
from linguo.providers.storage import Storage
from linguo.vocabulary import repository as vocabulary_repository
from linguo.vocabulary.entries import WordEntry, WordKey, merge_entries, merge_into
from linguo.vocabulary.service import import_words

COURSE_NAMESPACE = uuid.UUID("6f1c2b7e-4d0a-5f3b-9c8e-2a7d41e0b5c3")
"""Namespace of imported content ids. Never change it: learners' history refers to them."""

UNIT_COLOURS = (
    "#58CC02",  # green
    "#1CB0F6",  # blue
    "#CE82FF",  # purple
    "#FF9600",  # orange
    "#FF4B4B",  # red
    "#00CD9C",  # teal
    "#FFC800",  # yellow
    "#2B70C9",  # navy
)
"""Colours of units by position (1 -> the first), repeating after the last."""

DEFAULT_PASS_SCORE = 0.8
SYNTHESIS_CONCURRENCY = 4
_LOCK_PREFIX = "linguo.course-import:"
_T = TypeVar("_T")

# Column lengths (see models/content.py and models/vocabulary.py).
_TITLE = 200
_KEY = 200
_EXERCISE_KEY = 300
_LANGUAGE = 8
_SPECIAL_CHARACTER = 8
_LICENSE_URL = 500
_IMAGE = 200
_WORD = 200


class CourseImportError(BadRequest):
    """The course cannot be imported as it is; `problems` name the file of each problem."""

    code = ErrorCode.INVALID_COURSE
    message = "The course cannot be imported."

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "The course cannot be imported: " + "; ".join(self.problems),
            details={"problems": self.problems},
        )


@dataclass(frozen=True)
class CourseImportReport:
    """What an import did.

    `created`: the course is new. `changed`: the import wrote something (always for a new
    course; for an existing one, its content_version went up). The counts describe the
    imported files: exercises include listening exercises left without audio, words are the
    course's vocabulary words; `media_created` counts new media resources.
    """

    course_id: uuid.UUID
    created: bool
    changed: bool
    content_version: int
    units: int
    lessons: int
    exercises: int
    words: int
    media_created: int
    warnings: tuple[str, ...]


def stable_id(kind: str, *keys: str) -> uuid.UUID:
    """The id of imported content: `stable_id("lesson", course_key, lesson_key)`."""
    return uuid.uuid5(COURSE_NAMESPACE, ":".join((kind, *keys)))


def unit_colour(position: int) -> str:
    """The colour of the unit at `position` (from 1)."""
    return UNIT_COLOURS[(position - 1) % len(UNIT_COLOURS)]


async def import_course(
    session: AsyncSession,
    spec: CourseSpec,
    *,
    storage: Storage,
    tts: TextToSpeech | None,
    publish: bool = True,
) -> CourseImportReport:
    """Create or update the course of `spec` (see the module documentation).

    With `publish` the course is published; without, a new course stays unpublished and an
    existing one keeps its state. Raises CourseImportError (400 `invalid_course`) when the
    course conflicts with what is stored or with the database's limits; nothing is written.
    """
    problems = check_course(spec)
    if problems:
        raise CourseImportError(problems)
    # Imports of one course take turns (the lock ends with the transaction).
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": _LOCK_PREFIX + spec.key},
    )
    course = await session.scalar(select(Course).where(Course.source_key == spec.key))
    if course is not None and (course.language, course.source_language) != (
        spec.language,
        spec.source_language,
    ):
        raise CourseImportError(
            [
                f"course.yaml: a course {spec.key!r} teaching {course.language} to "
                f"{course.source_language} speakers was already imported; this one teaches "
                f"{spec.language} to {spec.source_language} speakers (import it from a "
                "folder of another name to make it a new course)"
            ]
        )
    # The slow part, before any write: a failing engine leaves nothing half-imported.
    speech = await media.prepare_speech(
        session,
        storage,
        tts,
        spec.language,
        _audio_texts(spec),
        concurrency=SYNTHESIS_CONCURRENCY,
    )
    writer = _Writer(session, spec, course, publish=publish)
    return await writer.run(speech)


def check_course(spec: CourseSpec) -> list[str]:
    """Problems that keep `spec` from being stored (lengths, unknown words, ...), by file."""
    problems: list[str] = []

    def too_long(where: str, what: str, value: str, limit: int) -> None:
        if len(value) > limit:
            problems.append(f"{where}: {what} is longer than {limit} characters: {value[:40]!r}…")

    course_file = "course.yaml"
    too_long(course_file, "the course folder name", spec.key, _KEY)
    too_long(course_file, "the title", spec.title, _TITLE)
    too_long(course_file, "the license name", spec.license_name, _TITLE)
    too_long(course_file, "the license link", spec.license_url, _LICENSE_URL)
    for code in (spec.language, spec.source_language):
        too_long(course_file, "a language code", code, _LANGUAGE)
    for character in spec.special_characters:
        too_long(course_file, "a special character", character, _SPECIAL_CHARACTER)
    parts_of_speech = {part.value for part in PartOfSpeech}
    for word in (*spec.vocabulary, *(w for lesson in spec.lessons() for w in lesson.words)):
        too_long(course_file, "a word", word.word, _WORD)
        too_long(course_file, "a word", word.lemma, _WORD)
        if word.part_of_speech not in parts_of_speech:
            problems.append(
                f"{course_file}: the word {word.word!r} has an unknown part of speech "
                f"{word.part_of_speech!r}"
            )
    if problems:
        return sorted(set(problems), key=problems.index)
    vocabulary = {_word_key(word) for word in spec.vocabulary}
    target_words = {word.word for word in spec.vocabulary if word.language == spec.language}
    for unit in spec.units:
        module_file = f"{unit.key}/module.yaml"
        too_long(module_file, "the module folder name", unit.key, _KEY)
        too_long(module_file, "the module name", unit.title, _TITLE)
        for lesson in unit.lessons:
            where = lesson.source_file
            too_long(where, "the skill Id", lesson.key, _KEY)
            too_long(where, "the skill name", lesson.title, _TITLE)
            if lesson.lesson_type not in LessonType.__members__.values():
                problems.append(f"{where}: unknown lesson type {lesson.lesson_type!r}")
            for word in lesson.words:
                if _word_key(word) not in vocabulary:
                    problems.append(f"{where}: the new word {word.word!r} is not in the vocabulary")
            for exercise in lesson.exercises:
                problems.extend(_exercise_problems(where, exercise, target_words))
    return problems


def _exercise_problems(where: str, exercise: ExerciseSpec, target_words: set[str]) -> list[str]:
    what = f"{where}: exercise {exercise.key}"
    found = []
    if len(exercise.key) > _EXERCISE_KEY:
        found.append(f"{what}: the key is longer than {_EXERCISE_KEY} characters")
    if exercise.type not in ExerciseType.__members__.values():
        found.append(f"{what}: unknown exercise type {exercise.type!r}")
    if not exercise.answers:
        found.append(f"{what}: no accepted answer")
    if not 1 <= exercise.difficulty <= 5:
        found.append(f"{what}: difficulty {exercise.difficulty} is not between 1 and 5")
    for language in (exercise.prompt_language, exercise.answer_language):
        if len(language) > _LANGUAGE:
            found.append(f"{what}: language code {language!r} is too long")
    for image in exercise.images:
        if len(image) > _IMAGE:
            found.append(f"{what}: image id longer than {_IMAGE} characters")
    for word in exercise.words:
        if word not in target_words:
            found.append(f"{what}: practises {word!r}, which is not in the course vocabulary")
    return found


def lesson_words(spec: CourseSpec) -> dict[str, list[WordKey]]:
    """The vocabulary each lesson introduces (its `lesson_words`), by lesson key, in order.

    A lesson introduces its new words, then the target-language words its exercises
    practise that no earlier lesson of the course introduced; so a lesson of phrases only
    still puts the words it teaches into the learner's review queue, and every word is
    introduced once, by the first lesson using it.
    """
    target = {w.word: _word_key(w) for w in spec.vocabulary if w.language == spec.language}
    seen: set[WordKey] = set()
    plan: dict[str, list[WordKey]] = {}
    for lesson in spec.lessons():
        keys = [_word_key(word) for word in lesson.words]
        keys += [target[word] for exercise in lesson.exercises for word in exercise.words]
        own = [key for key in dict.fromkeys(keys) if key not in seen]
        seen.update(own)
        plan[lesson.key] = own
    return plan


def _word_key(word: WordSpec) -> WordKey:
    return (word.language, word.lemma, PartOfSpeech(word.part_of_speech))


def _audio_texts(spec: CourseSpec) -> list[str]:
    texts: dict[str, None] = {}
    for lesson in spec.lessons():
        for exercise in lesson.exercises:
            if exercise.audio_text:
                texts.setdefault(exercise.audio_text, None)
    return list(texts)


def _word_entry(word: WordSpec) -> WordEntry:
    return WordEntry(
        language=word.language,
        word=word.word,
        lemma=word.lemma,
        part_of_speech=PartOfSpeech(word.part_of_speech),
        translations={language: list(values) for language, values in word.translations.items()},
    )


def _adds_to(stored: VocabularyWord | None, entry: WordEntry) -> bool:
    """Whether merging `entry` would change the stored word (or there is none)."""
    if stored is None:
        return True
    current = WordEntry(
        language=stored.language,
        word=stored.word,
        lemma=stored.lemma,
        part_of_speech=stored.part_of_speech,
        gender=stored.gender,
        translations={language: list(values) for language, values in stored.translations.items()},
        cefr_level=stored.cefr_level,
        frequency_rank=stored.frequency_rank,
        audio_url=stored.audio_url,
    )
    merge_into(current, entry)
    return current.word != stored.word or current.translations != stored.translations


@dataclass
class _Writer:
    """The database half of one import; tracks what changed to version it."""

    session: AsyncSession
    spec: CourseSpec
    course: Course | None
    publish: bool
    changed: bool = False
    changed_lessons: set[uuid.UUID] = field(default_factory=set)
    lessons: dict[str, Lesson] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    orphans: list[Exercise] = field(default_factory=list)

    def _dirty(self, row: Any) -> bool:
        """Whether `row` is new or has net changes; call before any query (autoflush)."""
        return row in self.session.new or self.session.is_modified(row)

    async def run(self, speech: media.SpeechPlan) -> CourseImportReport:
        spec = self.spec
        created = self.course is None
        course = await self._course()
        units = await self._units(course)
        old_media = await self._course_media(course)
        await self._lessons(course, units)
        audio = dict(speech.existing)
        new_ids = await media_repository.insert_media(self.session, list(speech.new.values()))
        audio.update({text: new_ids[item.storage_key] for text, item in speech.new.items()})
        await self._exercises(course, audio)
        await self._remove(course, units)
        words = await self._vocabulary()
        await self._links(words)
        await media_repository.refresh_reference_counts(
            self.session, old_media | {media_id for media_id in audio.values()}
        )
        self._audio_warning(speech)

        if created:
            await bump_cache_generation(self.session, versions.COURSES_CACHE)
        elif self.changed or self.changed_lessons:
            await versions.content_changed(
                self.session, course.id, lesson_ids=tuple(sorted(self.changed_lessons))
            )
        version = await self.session.scalar(
            select(Course.content_version).where(Course.id == course.id)
        )
        return CourseImportReport(
            course_id=course.id,
            created=created,
            changed=created or self.changed or bool(self.changed_lessons),
            content_version=int(version or 1),
            units=len(spec.units),
            lessons=len(self.lessons),
            exercises=len(self.exercises),
            words=len(spec.vocabulary),
            media_created=len(speech.new),
            warnings=(*spec.warnings, *self.warnings),
        )

    # ----- rows

    async def _course(self) -> Course:
        spec = self.spec
        course = self.course
        if course is None:
            course = Course(
                id=stable_id("course", spec.key),
                source_key=spec.key,
                is_published=self.publish,
                content_version=1,
            )
            self.session.add(course)
        course.language = spec.language
        course.source_language = spec.source_language
        course.title = spec.title
        course.description = spec.description
        course.license_name = spec.license_name
        course.license_url = spec.license_url
        course.attribution = spec.attribution
        course.special_characters = list(spec.special_characters)
        course.content_hash = spec.content_hash()
        if self.publish:
            course.is_published = True
        self.changed |= self._dirty(course)
        await self.session.flush()
        return course

    async def _units(self, course: Course) -> dict[str, Unit]:
        stored = await self.session.scalars(select(Unit).where(Unit.course_id == course.id))
        existing = {unit.source_key: unit for unit in stored if unit.source_key is not None}
        units: dict[str, Unit] = {}
        for spec in self.spec.units:
            unit = existing.get(spec.key)
            if unit is None:
                unit = Unit(
                    id=stable_id("unit", self.spec.key, spec.key),
                    course_id=course.id,
                    source_key=spec.key,
                    colour=unit_colour(spec.order),
                    icon=None,
                )
                self.session.add(unit)
            unit.position = spec.order
            unit.title = spec.title
            self.changed |= self._dirty(unit)
            units[spec.key] = unit
        await self.session.flush()
        return units

    async def _course_media(self, course: Course) -> set[uuid.UUID]:
        """The media the course's exercises use now."""
        rows = await self.session.scalars(
            select(Exercise.audio_media_id)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .where(Lesson.course_id == course.id, Exercise.audio_media_id.is_not(None))
            .distinct()
        )
        return {media_id for media_id in rows if media_id is not None}

    async def _lessons(self, course: Course, units: dict[str, Unit]) -> None:
        """Create or update the lessons, each after the previous one of the course."""
        stored = await self.session.scalars(select(Lesson).where(Lesson.course_id == course.id))
        existing = {lesson.source_key: lesson for lesson in stored if lesson.source_key}
        for unit_spec in self.spec.units:
            for spec in unit_spec.lessons:
                lesson = existing.get(spec.key)
                if lesson is None:
                    lesson = Lesson(
                        id=stable_id("lesson", self.spec.key, spec.key),
                        course_id=course.id,
                        source_key=spec.key,
                        pass_score=DEFAULT_PASS_SCORE,
                        content_version=1,
                    )
                    self.session.add(lesson)
                lesson.unit_id = units[unit_spec.key].id
                lesson.position = spec.order
                lesson.title = spec.title
                lesson.introduction = spec.introduction
                lesson.lesson_type = LessonType(spec.lesson_type)
                lesson.content_hash = spec.content_hash()
                if self._dirty(lesson):
                    self.changed_lessons.add(lesson.id)
                self.lessons[spec.key] = lesson
        # Prerequisites once every lesson exists (updates are flushed before inserts).
        await self.session.flush()
        previous: uuid.UUID | None = None
        for lesson in self.lessons.values():
            lesson.prerequisite_lesson_id = previous
            if self._dirty(lesson):
                self.changed_lessons.add(lesson.id)
            previous = lesson.id
        await self.session.flush()

    async def _exercises(self, course: Course, audio: dict[str, uuid.UUID]) -> None:
        stored = await self.session.scalars(
            select(Exercise)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .where(Lesson.course_id == course.id, Exercise.source_key.is_not(None))
        )
        existing = {(row.lesson_id, row.source_key): row for row in stored}
        for lesson_spec in self.spec.lessons():
            lesson = self.lessons[lesson_spec.key]
            for position, spec in enumerate(lesson_spec.exercises):
                row = existing.pop((lesson.id, spec.key), None)
                if row is None:
                    row = Exercise(
                        id=stable_id("exercise", self.spec.key, spec.key),
                        lesson_id=lesson.id,
                        source_key=spec.key,
                    )
                    self.session.add(row)
                media_id = audio.get(spec.audio_text) if spec.audio_text else None
                unplayable = spec.type == ExerciseType.LISTENING and media_id is None
                _fill(row, spec, position, media_id)
                row.status = (
                    ExerciseStatus.PENDING_REVIEW if unplayable else ExerciseStatus.PUBLISHED
                )
                if self._dirty(row):
                    self.changed_lessons.add(lesson.id)
                self.exercises[spec.key] = row
        kept = {lesson.id for lesson in self.lessons.values()}
        for (lesson_id, _key), row in existing.items():
            if lesson_id not in kept:
                self.orphans.append(row)  # deleted with its lesson
            elif row.status != ExerciseStatus.ARCHIVED:
                row.status = ExerciseStatus.ARCHIVED
                self.changed_lessons.add(lesson_id)
        await self.session.flush()

    async def _remove(self, course: Course, units: dict[str, Unit]) -> None:
        """Delete the lessons and units (of this import) no longer in the files."""
        kept_lessons = [lesson.id for lesson in self.lessons.values()]
        removed = await self.session.execute(
            delete(Lesson)
            .where(
                Lesson.course_id == course.id,
                Lesson.source_key.is_not(None),
                Lesson.id.not_in(kept_lessons),
            )
            .execution_options(synchronize_session="fetch")
        )
        kept_units = [unit.id for unit in units.values()]
        removed_units = await self.session.execute(
            delete(Unit)
            .where(
                Unit.course_id == course.id,
                Unit.source_key.is_not(None),
                Unit.id.not_in(kept_units),
            )
            .execution_options(synchronize_session="fetch")
        )
        if _rowcount(removed) or _rowcount(removed_units):
            self.changed = True
        for row in self.orphans:  # their rows went with their lessons (ON DELETE CASCADE)
            self.session.expunge(row)

    # ----- vocabulary and links

    async def _vocabulary(self) -> dict[WordKey, int]:
        entries = merge_entries(_word_entry(word) for word in self.spec.vocabulary)
        keys = list(entries)
        stored = await vocabulary_repository.get_words_by_key(self.session, keys)
        if any(_adds_to(stored.get(key), entry) for key, entry in entries.items()):
            await import_words(self.session, list(entries.values()))
            ids = await self.session.execute(
                select(
                    VocabularyWord.language,
                    VocabularyWord.lemma,
                    VocabularyWord.part_of_speech,
                    VocabularyWord.id,
                ).where(
                    tuple_(
                        VocabularyWord.language,
                        VocabularyWord.lemma,
                        VocabularyWord.part_of_speech,
                    ).in_(keys)
                )
            )
            return {(language, lemma, pos): word_id for language, lemma, pos, word_id in ids}
        return {key: word.id for key, word in stored.items()}

    async def _links(self, words: dict[WordKey, int]) -> None:
        spec = self.spec
        target = {w.word: _word_key(w) for w in spec.vocabulary if w.language == spec.language}
        wanted_lesson_words: dict[tuple[uuid.UUID, int], int] = {}
        wanted_exercise_words: dict[tuple[uuid.UUID, int], uuid.UUID] = {}
        introduced = lesson_words(spec)
        for lesson_spec in spec.lessons():
            lesson = self.lessons[lesson_spec.key]
            for position, key in enumerate(introduced[lesson_spec.key]):
                wanted_lesson_words[(lesson.id, words[key])] = position
            for exercise in lesson_spec.exercises:
                row = self.exercises[exercise.key]
                for text_ in exercise.words:
                    wanted_exercise_words[(row.id, words[target[text_]])] = lesson.id
        lesson_ids = [lesson.id for lesson in self.lessons.values()]
        await self._sync_lesson_words(lesson_ids, wanted_lesson_words)
        await self._sync_exercise_words(wanted_exercise_words)

    async def _sync_lesson_words(
        self, lesson_ids: list[uuid.UUID], wanted: dict[tuple[uuid.UUID, int], int]
    ) -> None:
        rows = await self.session.execute(
            select(LessonWord.lesson_id, LessonWord.word_id, LessonWord.position).where(
                LessonWord.lesson_id.in_(lesson_ids)
            )
        )
        current = {(lesson_id, word_id): position for lesson_id, word_id, position in rows}
        stale = [link for link in current if link not in wanted]
        missing = [link for link in wanted if link not in current]
        moved = [link for link in wanted if link in current and current[link] != wanted[link]]
        for lesson_id, _word_id in (*stale, *missing, *moved):
            self.changed_lessons.add(lesson_id)
        for chunk in _chunks(stale):
            await self.session.execute(
                delete(LessonWord).where(
                    tuple_(LessonWord.lesson_id, LessonWord.word_id).in_(chunk)
                )
            )
        for chunk in _chunks(missing):
            await self.session.execute(
                insert(LessonWord).values(
                    [
                        {"lesson_id": lesson_id, "word_id": word_id, "position": wanted[link]}
                        for link in chunk
                        for lesson_id, word_id in [link]
                    ]
                )
            )
        for lesson_id, word_id in moved:
            await self.session.execute(
                update(LessonWord)
                .where(LessonWord.lesson_id == lesson_id, LessonWord.word_id == word_id)
                .values(position=wanted[(lesson_id, word_id)])
            )

    async def _sync_exercise_words(self, wanted: dict[tuple[uuid.UUID, int], uuid.UUID]) -> None:
        lesson_of = {row.id: row.lesson_id for row in self.exercises.values()}
        rows = await self.session.execute(
            select(ExerciseWord.exercise_id, ExerciseWord.word_id).where(
                ExerciseWord.exercise_id.in_(list(lesson_of))
            )
        )
        current = {(exercise_id, word_id) for exercise_id, word_id in rows}
        stale = [link for link in current if link not in wanted]
        missing = [link for link in wanted if link not in current]
        for exercise_id, _word_id in (*stale, *missing):
            self.changed_lessons.add(lesson_of[exercise_id])
        for chunk in _chunks(stale):
            await self.session.execute(
                delete(ExerciseWord).where(
                    tuple_(ExerciseWord.exercise_id, ExerciseWord.word_id).in_(chunk)
                )
            )
        for chunk in _chunks(missing):
            await self.session.execute(
                insert(ExerciseWord).values(
                    [
                        {"exercise_id": exercise_id, "word_id": word_id}
                        for exercise_id, word_id in chunk
                    ]
                )
            )

    def _audio_warning(self, speech: media.SpeechPlan) -> None:
        silent = sum(
            1
            for row in self.exercises.values()
            if row.type == ExerciseType.LISTENING and row.audio_media_id is None
        )
        if silent:
            self.warnings.append(
                f"{silent} listening exercises have no audio ({speech.problem or 'no speech'}); "
                "they are kept out of lessons (status pending_review) until the course is "
                "imported again with a working text-to-speech engine (Debian package espeak-ng)"
            )


def _fill(row: Exercise, spec: ExerciseSpec, position: int, media_id: uuid.UUID | None) -> None:
    row.position = position
    row.type = ExerciseType(spec.type)
    row.prompt = spec.prompt
    row.prompt_language = spec.prompt_language
    row.answer_language = spec.answer_language
    row.answers = list(spec.answers)
    row.choices = list(spec.choices)
    row.distractors = list(spec.distractors)
    row.images = list(spec.images)
    row.audio_text = spec.audio_text
    row.audio_media_id = media_id
    row.difficulty = spec.difficulty


def _chunks(items: Sequence[_T], size: int = 1000) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
