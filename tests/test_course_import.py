"""Importing LibreLingo courses: LibreLingo's Spanish course and the bundled demo course.

Covers what the files become (units, lessons, exercises, vocabulary, audio), stable ids and
idempotent re-imports, edits that version exactly what changed, removals (archived exercises,
deleted lessons), the `linguo import-course` command with broken or conflicting files
(nothing imported), a missing speech engine, and `linguo seed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from linguo.cli import app as cli_app
from linguo.config import get_settings
from linguo.content.importer import (
    UNIT_COLOURS,
    CourseImportError,
    CourseImportReport,
    import_course,
    lesson_words,
    stable_id,
)
from linguo.content.librelingo import DEMO_COURSE_PATH, CourseSpec, load_course
from linguo.content.versions import COURSES_CACHE
from linguo.core.cache import cache_generation
from linguo.core.db import Database
from linguo.providers.speech import EspeakTTS, TextToSpeech
from linguo.providers.storage import LocalStorage
from linguo.seed import seed_demo_course
from tests.conftest import SPANISH_COURSE, TEST_SECRET, TestServers, scalar

SPANISH_KEY = "spanish-from-english"


@functools.cache
def spec_of(path: Path) -> CourseSpec:
    return load_course(path)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One media folder for the module: recordings made once are reused by later tests."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def storage(media_root: Path) -> LocalStorage:
    return LocalStorage(media_root)


@pytest.fixture
def tts() -> TextToSpeech:
    engine = EspeakTTS()
    assert engine.available(), "espeak-ng is installed by make test"
    return engine


async def run_import(
    database: Database,
    spec: CourseSpec,
    storage: LocalStorage,
    tts: TextToSpeech | None,
    *,
    publish: bool = True,
) -> CourseImportReport:
    async with database.session() as session:
        return await import_course(session, spec, storage=storage, tts=tts, publish=publish)


async def rows(database: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with database.session() as session:
        result = await session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


async def state(database: Database) -> dict[str, Any]:
    """Everything an import writes, to compare before and after."""
    return {
        "courses": await rows(database, "SELECT * FROM courses ORDER BY id"),
        "units": await rows(database, "SELECT * FROM units ORDER BY id"),
        "lessons": await rows(database, "SELECT * FROM lessons ORDER BY id"),
        "exercises": await rows(database, "SELECT * FROM exercises ORDER BY id"),
        "lesson_words": await rows(database, "SELECT * FROM lesson_words ORDER BY 1, 2"),
        "exercise_words": await rows(database, "SELECT * FROM exercise_words ORDER BY 1, 2"),
        "media": await rows(database, "SELECT * FROM media_resources ORDER BY id"),
        "words": await rows(database, "SELECT * FROM vocabulary_words ORDER BY id"),
        "generations": await rows(database, "SELECT * FROM cache_generations ORDER BY name"),
    }


def copy_course(source: Path, tmp_path: Path) -> Path:
    """A copy of a course folder, under the same folder name (the course key)."""
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new, 1), encoding="utf-8")


# --- what the files become ------------------------------------------------------------------


async def test_spanish_course_is_imported_with_stable_ids_and_reimported_unchanged(
    database: Database, storage: LocalStorage, tts: TextToSpeech
) -> None:
    spec = spec_of(SPANISH_COURSE)
    report = await run_import(database, spec, storage, tts)
    course_id = stable_id("course", SPANISH_KEY)
    lessons = spec.lessons()
    exercise_count = sum(len(lesson.exercises) for lesson in lessons)
    assert report.course_id == course_id and report.created and report.changed
    assert report.content_version == 1
    assert (report.units, report.lessons, report.exercises) == (3, 11, exercise_count)
    assert exercise_count == 613
    assert report.words == len(spec.vocabulary) == 353
    assert report.media_created == 173  # one recording per listening exercise
    assert set(spec.warnings) <= set(report.warnings)
    assert not any("audio" in warning for warning in report.warnings)

    (course,) = await rows(database, "SELECT * FROM courses")
    assert course["id"] == course_id and course["source_key"] == SPANISH_KEY
    assert (course["language"], course["source_language"]) == ("es", "en")
    assert course["is_published"] and course["content_version"] == 1
    assert course["license_name"] == "CC BY-SA 4.0" and "LibreLingo" in course["attribution"]
    assert course["title"] == spec.title
    assert "ñ" in course["special_characters"] and course["content_hash"] == spec.content_hash()

    units = await rows(database, "SELECT * FROM units ORDER BY position")
    assert [(u["title"], u["position"]) for u in units] == [
        ("Basics", 1),
        ("Introduction", 2),
        ("Activities", 3),
    ]
    assert [u["colour"] for u in units] == list(UNIT_COLOURS[:3])
    assert [u["id"] for u in units] == [
        stable_id("unit", SPANISH_KEY, key) for key in ("basics", "introduction", "activities")
    ]

    stored = await rows(
        database,
        "SELECT l.* FROM lessons l JOIN units u ON u.id = l.unit_id ORDER BY u.position, "
        "l.position",
    )
    assert [lesson["id"] for lesson in stored] == [
        stable_id("lesson", SPANISH_KEY, lesson.key) for lesson in lessons
    ]
    assert [lesson["title"] for lesson in stored] == [lesson.title for lesson in lessons]
    assert stored[0]["title"] == "Animals" and stored[0]["introduction"] == lessons[0].introduction
    assert "Welcome to LibreLingo" in stored[0]["introduction"]
    # Each lesson unlocks the next, across units.
    assert [lesson["prerequisite_lesson_id"] for lesson in stored] == [
        None,
        *[lesson["id"] for lesson in stored[:-1]],
    ]
    assert {lesson["pass_score"] for lesson in stored} == {0.8}
    assert {lesson["content_version"] for lesson in stored} == {1}
    assert [lesson["lesson_type"] for lesson in stored] == [
        lesson.lesson_type for lesson in lessons
    ]

    counts = await rows(
        database,
        "SELECT type, status, count(*) AS n, count(audio_media_id) AS audio FROM exercises "
        "GROUP BY type, status ORDER BY type",
    )
    assert {(c["type"], c["status"], c["n"], c["audio"]) for c in counts} == {
        ("cards", "published", 75, 0),
        ("short_input", "published", 75, 0),
        ("options", "published", 98, 0),
        ("chips", "published", 192, 0),
        ("listening", "published", 173, 173),
    }
    # An exercise as the files define it, with its position in the lesson.
    food = next(lesson for lesson in lessons if lesson.title == "Food")
    cards = food.exercises[0]
    (row,) = await rows(
        database,
        "SELECT * FROM exercises WHERE id = :id",
        id=stable_id("exercise", SPANISH_KEY, cards.key),
    )
    assert row["source_key"] == cards.key and row["position"] == 0 and row["type"] == "cards"
    assert row["prompt"] == cards.prompt and row["answers"] == list(cards.answers)
    assert row["choices"] == list(cards.choices) and row["distractors"] == list(cards.distractors)
    assert row["images"] == list(cards.images) and row["difficulty"] == cards.difficulty

    # Words become vocabulary words, linked to their lessons and exercises.
    (gato,) = await rows(
        database,
        "SELECT * FROM vocabulary_words WHERE language = 'es' AND lemma = 'el gato'",
    )
    assert gato["part_of_speech"] == "phrase" and gato["translations"] == {"en": ["the cat"]}
    (pan,) = await rows(
        database, "SELECT * FROM vocabulary_words WHERE language = 'es' AND lemma = 'pan'"
    )
    assert pan["part_of_speech"] == "other" and "bread" in pan["translations"]["en"]
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 353
    food_words = await rows(
        database,
        "SELECT w.word FROM lesson_words lw JOIN vocabulary_words w ON w.id = lw.word_id "
        "WHERE lw.lesson_id = :id ORDER BY lw.position",
        id=stable_id("lesson", SPANISH_KEY, food.key),
    )
    # A lesson introduces its new words first, then the words its phrases use that no
    # earlier lesson introduced ("agua" in Food); a lesson of phrases only has words too.
    food_list = [w["word"] for w in food_words]
    assert food_list[: len(food.words)] == [word.word for word in food.words]
    assert "agua" in food_list[len(food.words) :]
    introduced = lesson_words(spec)
    assert all(introduced[lesson.key] for lesson in lessons)
    assert await scalar(database, "SELECT count(*) FROM lesson_words") == sum(
        len(keys) for keys in introduced.values()
    )
    # Every word is introduced once, by the first lesson using it.
    assert (
        await scalar(database, "SELECT count(*) - count(DISTINCT word_id) FROM lesson_words") == 0
    )
    practised = await rows(
        database,
        "SELECT w.word FROM exercise_words ew JOIN vocabulary_words w ON w.id = ew.word_id "
        "WHERE ew.exercise_id = :id ORDER BY w.word",
        id=stable_id("exercise", SPANISH_KEY, cards.key),
    )
    assert [w["word"] for w in practised] == sorted(cards.words)
    assert await scalar(database, "SELECT count(*) FROM exercise_words") == sum(
        len(set(exercise.words)) for lesson in lessons for exercise in lesson.exercises
    )
    assert await scalar(database, "SELECT min(reference_count) FROM media_resources") == 1

    # Importing the same files again changes nothing at all.
    before = await state(database)
    again = await run_import(database, spec, storage, tts)
    assert again.course_id == course_id and not again.created and not again.changed
    assert again.content_version == 1 and again.media_created == 0
    assert await state(database) == before


async def test_demo_course_imports_its_units_and_lessons(
    database: Database, storage: LocalStorage, tts: TextToSpeech
) -> None:
    spec = spec_of(DEMO_COURSE_PATH)
    report = await run_import(database, spec, storage, tts, publish=False)
    assert report.created and report.warnings == ()
    assert report.units >= 2 and report.lessons >= 6
    assert report.exercises == sum(len(lesson.exercises) for lesson in spec.lessons())
    assert await scalar(database, "SELECT is_published FROM courses") is False
    assert await scalar(database, "SELECT count(*) FROM lessons") == report.lessons
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM exercises WHERE type = 'listening' AND audio_media_id IS NULL",
        )
        == 0
    )
    assert await scalar(database, "SELECT language FROM courses") == "fr"

    # Publishing later is an import with publish: a change clients must pick up.
    published = await run_import(database, spec, storage, tts)
    assert published.changed and published.content_version == 2
    assert await scalar(database, "SELECT is_published FROM courses") is True
    # A draft import never unpublishes.
    draft = await run_import(database, spec, storage, tts, publish=False)
    assert not draft.changed and await scalar(database, "SELECT is_published FROM courses")


# --- edits and removals ---------------------------------------------------------------------


async def test_an_edited_translation_versions_only_its_lesson(
    database: Database, storage: LocalStorage, tmp_path: Path
) -> None:
    course = copy_course(SPANISH_COURSE, tmp_path)
    original = load_course(course)
    first = await run_import(database, original, storage, None)
    food_id = stable_id("lesson", SPANISH_KEY, "1")
    phrase = "Cecilia bebe agua"
    options = next(
        exercise
        for lesson in original.lessons()
        for exercise in lesson.exercises
        if exercise.type == "options" and exercise.prompt == phrase
    )
    options_id = stable_id("exercise", SPANISH_KEY, options.key)
    before = await state(database)
    generation = await cache_generation_of(database)

    food = course / "basics" / "skills" / "food.yaml"
    edit(food, "Translation: Cecilia drinks water", "Translation: Cecilia drinks some water")
    edited = load_course(course)
    changed = [
        new.key
        for old, new in zip(original.lessons(), edited.lessons(), strict=True)
        if old.content_hash() != new.content_hash()
    ]
    assert changed == ["1"]  # the edit touches the Food lesson only

    report = await run_import(database, edited, storage, None)
    assert (
        report.changed
        and not report.created
        and report.content_version == first.content_version + 1
    )
    versions = {
        lesson["id"]: lesson["content_version"]
        for lesson in await rows(database, "SELECT id, content_version FROM lessons")
    }
    assert versions.pop(food_id) == 2 and set(versions.values()) == {1}
    (updated,) = await rows(database, "SELECT * FROM exercises WHERE id = :id", id=options_id)
    assert updated["answers"] == ["Cecilia drinks some water"]
    assert await cache_generation_of(database) > generation
    after = await state(database)
    assert len(after["exercises"]) == len(before["exercises"])  # updated in place
    assert [e["id"] for e in after["exercises"]] == [e["id"] for e in before["exercises"]]

    # A phrase removed from the files archives its exercises (learners' answers refer to them).
    edit(food, "  - Phrase: Cecilia bebe agua\n    Translation: Cecilia drinks some water\n", "")
    report = await run_import(database, load_course(course), storage, None)
    assert report.changed and report.content_version == 3
    archived = await rows(
        database,
        "SELECT type, status FROM exercises WHERE lesson_id = :id AND "
        "(prompt = :phrase OR audio_text = :phrase OR prompt = 'Cecilia drinks some water')",
        id=food_id,
        phrase=phrase,
    )
    assert {row["type"] for row in archived} == {"options", "chips", "listening"}
    assert {row["status"] for row in archived} == {"archived"}
    assert await scalar(database, "SELECT count(*) FROM exercises") == len(before["exercises"])
    assert (
        await scalar(database, "SELECT content_version FROM lessons WHERE id = :id", id=food_id)
        == 3
    )

    # Restored: the same exercises are published again, not duplicated.
    edit(
        food,
        "Phrases:\n",
        "Phrases:\n  - Phrase: Cecilia bebe agua\n    Translation: Cecilia drinks water\n",
    )
    report = await run_import(database, load_course(course), storage, None)
    assert report.changed and report.content_version == 4
    assert await scalar(database, "SELECT count(*) FROM exercises") == len(before["exercises"])
    assert await scalar(database, "SELECT count(*) FROM exercises WHERE status = 'archived'") == 0


async def cache_generation_of(database: Database) -> int:
    async with database.session() as session:
        return await cache_generation(session, COURSES_CACHE)


async def test_a_removed_skill_deletes_its_lesson_and_relinks_the_next(
    database: Database, storage: LocalStorage, tmp_path: Path
) -> None:
    course = copy_course(SPANISH_COURSE, tmp_path)
    await run_import(database, load_course(course), storage, None)
    plurals = stable_id("lesson", SPANISH_KEY, "11")
    assert await scalar(database, "SELECT count(*) FROM lessons WHERE id = :id", id=plurals) == 1

    edit(course / "basics" / "module.yaml", "  - plurals.yaml\n", "")
    report = await run_import(database, load_course(course), storage, None)
    assert report.changed and report.lessons == 10 and report.content_version == 2
    assert await scalar(database, "SELECT count(*) FROM lessons") == 10
    assert (
        await scalar(database, "SELECT count(*) FROM exercises WHERE lesson_id = :id", id=plurals)
        == 0
    )
    # The first lesson of the next unit now follows the last remaining Basics lesson.
    (next_lesson,) = await rows(
        database,
        "SELECT l.prerequisite_lesson_id FROM lessons l JOIN units u ON u.id = l.unit_id "
        "WHERE u.source_key = 'introduction' AND l.position = 1",
    )
    verbs = next(lesson for lesson in load_course(course).lessons() if lesson.title == "Verbs")
    assert next_lesson["prerequisite_lesson_id"] == stable_id("lesson", SPANISH_KEY, verbs.key)


# --- refusals -------------------------------------------------------------------------------


async def test_semantic_conflicts_import_nothing(database: Database, storage: LocalStorage) -> None:
    spec = spec_of(SPANISH_COURSE)
    unit = spec.units[0]
    lesson = unit.lessons[0]
    exercise = dataclasses.replace(lesson.exercises[0], words=("nonexistent",))
    broken = dataclasses.replace(
        spec,
        units=(
            dataclasses.replace(
                unit,
                lessons=(
                    dataclasses.replace(lesson, exercises=(exercise, *lesson.exercises[1:])),
                    *unit.lessons[1:],
                ),
            ),
            *spec.units[1:],
        ),
    )
    with pytest.raises(CourseImportError) as raised:
        await run_import(database, broken, storage, None)
    assert raised.value.code == "invalid_course" and raised.value.status_code == 400
    (problem,) = raised.value.problems
    assert problem.startswith(f"{lesson.source_file}: exercise {exercise.key}:")
    assert "'nonexistent'" in problem
    assert await scalar(database, "SELECT count(*) FROM courses") == 0
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 0

    # The same course key teaching another language is another course: refused.
    await run_import(database, spec, storage, None)
    before = await state(database)
    with pytest.raises(CourseImportError) as raised:
        await run_import(database, dataclasses.replace(spec, source_language="de"), storage, None)
    assert raised.value.problems[0].startswith("course.yaml: a course 'spanish-from-english'")
    assert await state(database) == before

    too_long = dataclasses.replace(spec, title="x" * 201)
    with pytest.raises(CourseImportError) as raised:
        await run_import(database, too_long, storage, None)
    assert raised.value.problems[0].startswith("course.yaml: the title is longer than 200")


# --- no speech engine -----------------------------------------------------------------------


async def test_without_speech_listening_exercises_wait_for_review(
    database: Database, tmp_path: Path, tts: TextToSpeech
) -> None:
    storage = LocalStorage(tmp_path / "fresh-media")  # no recordings to reuse
    spec = spec_of(DEMO_COURSE_PATH)
    listening = sum(
        exercise.type == "listening" for lesson in spec.lessons() for exercise in lesson.exercises
    )
    report = await run_import(database, spec, storage, EspeakTTS(binary="no-such-espeak"))
    assert report.created and report.media_created == 0
    (warning,) = report.warnings
    assert warning.startswith(f"{listening} listening exercises have no audio (text-to-speech")
    assert "no-such-espeak" in warning and "pending_review" in warning
    statuses = await rows(
        database,
        "SELECT type = 'listening' AS listening, status, count(*) AS n FROM exercises "
        "GROUP BY 1, 2",
    )
    assert {(s["listening"], s["status"], s["n"]) for s in statuses} == {
        (True, "pending_review", listening),
        (False, "published", report.exercises - listening),
    }
    assert await scalar(database, "SELECT count(*) FROM media_resources") == 0
    assert not storage.root.exists() or not list(storage.root.rglob("*.wav"))

    # With an engine, the next import records the audio and publishes the exercises.
    fixed = await run_import(database, spec, storage, tts)
    assert fixed.changed and fixed.content_version == 2 and fixed.warnings == ()
    assert fixed.media_created == listening
    assert await scalar(database, "SELECT count(*) FROM exercises WHERE status <> 'published'") == 0

    # No engine at all later on: the recordings already made are kept and reused.
    again = await run_import(database, spec, storage, None)
    assert not again.changed and again.warnings == ()


# --- the command line -----------------------------------------------------------------------

CliRun = Callable[..., Awaitable[Result]]


@pytest.fixture
def cli(
    servers: TestServers, tmp_path: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRun]:
    """Run `linguo ...` in-process (in a thread: the command runs its own event loop)."""
    monkeypatch.chdir(tmp_path)  # no .env file of the developer is read
    env = {
        "LINGUO_DATABASE_URL": servers.database_url,
        "LINGUO_SECRET_KEY": TEST_SECRET,
        "LINGUO_ENV": "test",
        "LINGUO_LOG_LEVEL": "WARNING",
        "LINGUO_REDIS_URL": "",
        "LINGUO_MEDIA_DIR": str(media_root),
    }
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    async def run(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env)
        finally:
            get_settings.cache_clear()
            root.handlers[:], level = saved
            root.setLevel(level)

    yield run


async def test_cli_imports_a_course_and_reimports_it_unchanged(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    course = copy_course(SPANISH_COURSE, tmp_path / "courses")
    result = await cli("import-course", str(course), "--draft")
    assert result.exit_code == 0, result.output
    assert "created, content version 1: 3 units, 11 lessons, 613 exercises" in result.stdout
    assert "linguo: warning: basics/skills/" in result.stderr  # the files' own warnings
    assert await scalar(database, "SELECT is_published FROM courses") is False
    assert await scalar(database, "SELECT count(*) FROM media_resources") == 173

    again = await cli("import-course", str(course))
    assert again.exit_code == 0, again.output
    assert "updated, content version 2" in again.stdout  # now published
    unchanged = await cli("import-course", str(course))
    assert "unchanged, content version 2" in unchanged.stdout and "0 new audio" in unchanged.stdout
    assert await scalar(database, "SELECT count(*) FROM courses") == 1


async def test_cli_refuses_broken_files_and_imports_nothing(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    course = copy_course(SPANISH_COURSE, tmp_path / "courses")
    broken = course / "basics" / "skills" / "food.yaml"
    edit(broken, "New words:\n", "New words:\n  - Word: [unclosed\n")
    result = await cli("import-course", str(course))
    assert result.exit_code == 1
    assert "linguo: basics/skills/food.yaml: line " in result.stderr
    assert "YAML syntax error" in result.stderr
    assert f"linguo: {course}: nothing was imported" in result.stderr
    for table in ("courses", "lessons", "exercises", "vocabulary_words", "media_resources"):
        assert await scalar(database, f"SELECT count(*) FROM {table}") == 0  # noqa: S608

    missing = await cli("import-course", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "nowhere: course folder not found" in missing.stderr

    # A course key already imported for another language is refused with its file named.
    shutil.copy(SPANISH_COURSE / "basics" / "skills" / "food.yaml", broken)
    assert (await cli("import-course", str(course))).exit_code == 0
    before = await state(database)
    edit(course / "course.yaml", "IETF BCP 47: es", "IETF BCP 47: it")
    conflict = await cli("import-course", str(course))
    assert conflict.exit_code == 1
    assert "linguo: course.yaml: a course 'spanish-from-english' teaching es" in conflict.stderr
    assert "nothing was imported" in conflict.stderr
    assert await state(database) == before


# --- seeding --------------------------------------------------------------------------------


async def test_seed_imports_the_demo_course_once(
    database: Database, media_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINGUO_MEDIA_DIR", str(media_root))
    get_settings.cache_clear()
    try:
        async with database.session() as session:
            done = await seed_demo_course(session)
        assert len(done) == 1 and done[0].startswith("course 'French for English speakers'")
        before = await state(database)
        async with database.session() as session:
            assert await seed_demo_course(session) == []
        assert await state(database) == before
    finally:
        get_settings.cache_clear()
    (course,) = before["courses"]
    assert course["is_published"] and course["language"] == "fr"
    assert len(before["units"]) >= 2 and len(before["lessons"]) >= 6
    assert all(
        exercise["audio_media_id"] is not None
        for exercise in before["exercises"]
        if exercise["type"] == "listening"
    )
