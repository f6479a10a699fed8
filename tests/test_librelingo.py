"""Loading LibreLingo YAML courses and generating their exercises (pure, no servers)."""

from __future__ import annotations

import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from linguo.content.librelingo import (
    DEMO_COURSE_PATH,
    EXERCISE_TYPES,
    CourseFormatError,
    CourseSpec,
    ExerciseSpec,
    LessonSpec,
    load_course,
)
from tests.conftest import SPANISH_COURSE

SPANISH = SPANISH_COURSE


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Override conftest's database and Redis cleanup: these tests need neither."""
    yield


@pytest.fixture(scope="module")
def spanish() -> CourseSpec:
    return load_course(SPANISH)


@pytest.fixture(scope="module")
def demo() -> CourseSpec:
    return load_course(DEMO_COURSE_PATH)


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo course, to break."""
    return Path(shutil.copytree(DEMO_COURSE_PATH, tmp_path / "french-from-english"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _errors(path: Path) -> list[str]:
    with pytest.raises(CourseFormatError) as caught:
        load_course(path)
    assert caught.value.errors
    assert str(caught.value).count("\n") == len(caught.value.errors)
    return caught.value.errors


def _plain(text: str) -> str:
    """Display form of a YAML text, as the loader normalises it."""
    text = unicodedata.normalize("NFC", str(text))
    text = text.lstrip("".join(ch for ch in text if unicodedata.combining(ch)))
    return " ".join(text.replace("{", "").replace("}", "").split())


def _skill_files(course: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(relative path, parsed YAML) of every skill listed by the course's modules."""
    modules = yaml.safe_load((course / "course.yaml").read_text(encoding="utf-8"))["Modules"]
    for module in modules:
        listing = yaml.safe_load((course / module / "module.yaml").read_text(encoding="utf-8"))
        for skill in listing["Skills"]:
            path = course / module / "skills" / skill
            yield path.relative_to(course).as_posix(), yaml.safe_load(path.read_text("utf-8"))


def _exercises(course: CourseSpec) -> list[ExerciseSpec]:
    return [exercise for lesson in course.lessons() for exercise in lesson.exercises]


def _lesson(course: CourseSpec, source_file: str) -> LessonSpec:
    return next(lesson for lesson in course.lessons() if lesson.source_file == source_file)


def _find(lesson: LessonSpec, kind: str, prompt_language: str, text: str) -> ExerciseSpec:
    """The exercise of `kind` about `text` (the target word/phrase, or its translation)."""
    matches = [
        exercise
        for exercise in lesson.exercises
        if exercise.type == kind
        and exercise.prompt_language == prompt_language
        and text in (exercise.prompt, exercise.answers[0])
    ]
    assert len(matches) == 1, (kind, prompt_language, text, matches)
    return matches[0]


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("{", "").replace("}", "").split()).strip(".!?¡¿,")


# --------------------------------------------------------------------------- the Spanish course


def test_spanish_course_structure(spanish: CourseSpec) -> None:
    assert spanish.key == "spanish-from-english"
    assert spanish.title == "Spanish for English speakers"
    assert (spanish.language, spanish.source_language) == ("es", "en")
    assert spanish.license_name == "CC BY-SA 4.0"
    assert spanish.license_url == "https://creativecommons.org/licenses/by-sa/4.0/legalcode"
    assert spanish.attribution.startswith("https://github.com/kantord/LibreLingo")
    assert "ñ" in spanish.special_characters
    assert spanish.audio_enabled
    assert [(unit.key, unit.title, unit.order) for unit in spanish.units] == [
        ("basics", "Basics", 1),
        ("introduction", "Introduction", 2),
        ("activities", "Activities", 3),
    ]
    titles = [[lesson.title for lesson in unit.lessons] for unit in spanish.units]
    assert titles == [
        ["Animals", "Food", "Clothes", "Nature", "Verbs", "Plurals"],
        ["Phrases", "Adjectives", "Preferences"],
        ["Ser/estar", "Continuous"],
    ]
    lessons = spanish.lessons()
    assert [lesson.key for lesson in lessons] == [
        "2", "1", "7", "8", "9", "11", "14", "15", "13", "16", "17",
    ]  # fmt: skip
    assert [lesson.order for lesson in spanish.units[0].lessons] == [1, 2, 3, 4, 5, 6]
    assert sum(len(lesson.words) for lesson in lessons) == 75
    assert sum(1 for e in _exercises(spanish) if e.type == "options") == 98
    types = {lesson.title: lesson.lesson_type for lesson in lessons}
    assert types["Animals"] == "mixed"
    assert types["Verbs"] == types["Phrases"] == types["Continuous"] == "phrases"
    animals = lessons[0]
    assert animals.source_file == "basics/skills/animals.yaml"
    assert animals.introduction.startswith("# Welcome to LibreLingo")
    assert animals.thumbnails == ("dog1", "lion3", "cat3")
    assert lessons[1].introduction == ""
    # Commented-out skills are not part of the course.
    assert "Professions" not in {lesson.title for lesson in lessons}
    # As LibreLingo's dictionary: new words both ways plus every mini-dictionary entry.
    assert len(spanish.vocabulary) == 353


def test_spanish_words_and_phrases_all_get_their_exercises(spanish: CourseSpec) -> None:
    for source_file, data in _skill_files(SPANISH):
        lesson = _lesson(spanish, source_file)
        for raw in data["New words"]:
            word, meaning = _plain(raw["Word"]), _plain(raw["Translation"])
            cards = _find(lesson, "cards", "en", word)
            assert (cards.prompt, cards.answers[0]) == (meaning, word)
            assert cards.images == tuple(dict.fromkeys(raw["Images"]))
            assert cards.difficulty == 1
            short_input = _find(lesson, "short_input", "en", word)
            assert (short_input.prompt, short_input.difficulty) == (meaning, 3)
            listening = _find(lesson, "listening", "es", word)
            assert listening.audio_text == word == listening.answers[0]
            assert listening.words == (word,)
        for raw in data["Phrases"]:
            phrase, meaning = _plain(raw["Phrase"]), _plain(raw["Translation"])
            options = _find(lesson, "options", "es", phrase)
            assert (options.answer_language, options.answers[0]) == ("en", meaning)
            assert _find(lesson, "listening", "es", phrase).audio_text == phrase
            if len(phrase.split()) < 2 or len(meaning.split()) < 2:
                # LibreLingo: no chips unless both sides have at least two words.
                assert not [
                    e for e in lesson.exercises if e.type == "chips" and phrase in e.answers
                ]
                continue
            to_source = _find(lesson, "chips", "es", phrase)
            assert (to_source.answers[0], to_source.difficulty) == (meaning, 2)
            to_target = _find(lesson, "chips", "en", meaning)
            assert (to_target.answers[0], to_target.difficulty) == (phrase, 3)
            assert options.words == to_source.words == to_target.words
    counts = Counter(exercise.type for exercise in _exercises(spanish))
    assert counts == {
        "cards": 75,
        "short_input": 75,
        "listening": 75 + 98,
        "options": 98,
        "chips": 2 * 96,  # "Gracias" and "Por favor" have no chips
    }


def test_spanish_answers_include_every_alternative_in_the_yaml(spanish: CourseSpec) -> None:
    for source_file, data in _skill_files(SPANISH):
        lesson = _lesson(spanish, source_file)
        for raw in data["New words"]:
            word = _plain(raw["Word"])
            accepted = [word, *map(_plain, raw.get("Synonyms", []))]
            for kind in ("cards", "short_input"):
                assert _find(lesson, kind, "en", word).answers == tuple(accepted)
            spec = next(spec for spec in lesson.words if spec.word == word)
            translations = [_plain(raw["Translation"]), *map(_plain, raw.get("Also accepted", []))]
            assert spec.translations == {"en": translations}
        for raw in data["Phrases"]:
            phrase = _plain(raw["Phrase"])
            versions = [phrase, *map(_plain, raw.get("Alternative versions", []))]
            translations = [
                _plain(raw["Translation"]),
                *map(_plain, raw.get("Alternative translations", [])),
                *map(_plain, raw.get("Also accepted", [])),  # misplaced key, still accepted
            ]
            options = _find(lesson, "options", "es", phrase)
            assert set(translations) <= set(options.answers)
            assert options.answers[0] == translations[0]
            for exercise in lesson.exercises:
                if exercise.type == "chips" and exercise.answers[0] == phrase:
                    assert set(versions) <= set(exercise.answers)
                if exercise.type == "chips" and exercise.prompt == phrase:
                    assert set(translations) <= set(exercise.answers)

    animals = _lesson(spanish, "basics/skills/animals.yaml")
    perro = next(word for word in animals.words if word.word == "perro")
    assert perro.translations == {"en": ["dog", "hound"]}
    assert perro.synonyms == ["can"]
    assert perro.images == ("dog1", "dog2", "dog3")
    assert _find(animals, "short_input", "en", "perro").answers == ("perro", "can")
    in_vocabulary = {(w.language, w.word): w for w in spanish.vocabulary}
    assert "hound" in in_vocabulary["es", "perro"].translations["en"]
    assert in_vocabulary["en", "dog"].translations["es"][0] == "perro"
    max_es_un_perro = _find(animals, "chips", "en", "Max is a dog")
    assert max_es_un_perro.answers == ("Max es un perro", "Max es un can")
    clothes = _lesson(spanish, "basics/skills/clothes.yaml")
    assert _find(clothes, "options", "es", "Gracias").answers == ("Thank you", "Thanks")
    verbs = _lesson(spanish, "basics/skills/verbs.yaml")
    assert "I'm a cat" in _find(verbs, "options", "es", "Yo soy un gato").answers


def test_spanish_choices_and_distractors_are_sound(spanish: CourseSpec) -> None:
    for exercise in _exercises(spanish):
        assert exercise.type in EXERCISE_TYPES
        assert exercise.answers and len(set(exercise.answers)) == len(exercise.answers)
        answers = {_fold(answer) for answer in exercise.answers}
        if exercise.type in ("cards", "options"):
            assert exercise.answers[0] in exercise.choices
            assert len(exercise.distractors) == (3 if exercise.type == "cards" else 2)
            assert Counter(exercise.choices) == Counter(
                [exercise.answers[0], *exercise.distractors]
            )
            assert not {_fold(d) for d in exercise.distractors} & answers
        elif exercise.type == "chips":
            solution = exercise.answers[0].replace("¿", "").replace("¡", "").split()
            tokens = {_fold(t) for answer in exercise.answers for t in answer.split()}
            assert Counter(map(_fold, exercise.choices)) == Counter(
                map(_fold, [*solution, *exercise.distractors])
            )
            assert len(exercise.distractors) == max(len(solution) - 1, 2)
            assert not {_fold(d) for d in exercise.distractors} & tokens
        else:
            assert exercise.choices == exercise.distractors == ()
        assert (exercise.audio_text is not None) == (exercise.type == "listening")
    # Cards prefer other new words of the same skill.
    animals = _lesson(spanish, "basics/skills/animals.yaml")
    own_words = {word.word for word in animals.words}
    assert set(_find(animals, "cards", "en", "perro").distractors) <= own_words


def test_spanish_keys_are_unique_and_stable(spanish: CourseSpec) -> None:
    keys = [exercise.key for exercise in _exercises(spanish)]
    assert len(keys) == len(set(keys))
    again = load_course(SPANISH)
    assert again == spanish
    assert [e.key for e in _exercises(again)] == keys
    assert again.content_hash() == spanish.content_hash()
    assert [lesson.content_hash() for lesson in again.lessons()] == [
        lesson.content_hash() for lesson in spanish.lessons()
    ]
    cards = _find(spanish.lessons()[0], "cards", "en", "perro")
    assert cards.key.startswith("2:cards:en-es:")


def test_spanish_data_oddities_are_reported_as_warnings(spanish: CourseSpec) -> None:
    warnings = "\n".join(spanish.warnings)
    assert "activities/skills/continuous.yaml: line 17: phrase #2: unknown key 'Alternative'" in (
        warnings
    )
    assert "stray combining mark" in warnings
    assert "basics/skills/clothes.yaml: line 117: phrase 'Gracias': 'Also accepted'" in warnings
    continuous = _lesson(spanish, "activities/skills/continuous.yaml")
    _find(continuous, "options", "es", "¿Están escribiendo una carta?")


# --------------------------------------------------------------------------- the demo course


def test_demo_course_loads(demo: CourseSpec) -> None:
    assert demo.key == "french-from-english"
    assert demo.title == "French for English speakers"
    assert (demo.language, demo.source_language) == ("fr", "en")
    assert demo.license_name == "CC BY-SA 4.0"
    assert demo.attribution == "the Linguo contributors"
    assert demo.description
    assert demo.warnings == ()  # every word of every phrase has a mini-dictionary entry
    assert len(demo.units) >= 2
    lessons = demo.lessons()
    assert len(lessons) >= 6
    assert sum(1 for lesson in lessons if lesson.introduction) >= 2
    for lesson in lessons:
        phrases = sum(1 for exercise in lesson.exercises if exercise.type == "options")
        assert 5 <= len(lesson.words) <= 8, lesson.title
        assert 4 <= phrases <= 8, lesson.title
    keys = [exercise.key for exercise in _exercises(demo)]
    assert len(keys) == len(set(keys))
    greetings = lessons[0]
    how_are_you = _find(greetings, "chips", "en", "How are you?")
    assert how_are_you.answers == ("Comment allez-vous ?", "Comment vas-tu ?", "Comment ça va ?")
    # {braces} group words into one chip and are not shown.
    cafe = lessons[1]
    coffee = _find(cafe, "chips", "en", "A coffee, please.")
    assert coffee.answers[0] == "Un café, s'il vous plaît."
    assert "s'il vous plaît" in coffee.choices
    assert "s'il vous plaît" in coffee.words


def test_loading_is_deterministic(demo: CourseSpec) -> None:
    assert load_course(DEMO_COURSE_PATH) == demo
    assert load_course(DEMO_COURSE_PATH).content_hash() == demo.content_hash()


def test_the_same_exercise_is_never_produced_twice(demo_copy: Path) -> None:
    skill = demo_copy / "basics" / "skills" / "greetings.yaml"
    _edit(skill, "Phrases:\n", "Phrases:\n  - Phrase: Merci\n    Translation: Thanks\n\n")
    course = load_course(demo_copy)
    keys = [exercise.key for exercise in _exercises(course)]
    assert len(keys) == len(set(keys))
    listening = [
        e
        for e in course.lessons()[0].exercises
        if e.type == "listening" and e.audio_text == "merci"
    ]
    assert len(listening) == 1  # the word "merci" and the phrase "Merci" sound the same


def test_no_listening_without_audio(demo_copy: Path) -> None:
    _edit(demo_copy / "course.yaml", "Enabled: True", "Enabled: False")
    course = load_course(demo_copy)
    assert not course.audio_enabled
    assert not [e for e in _exercises(course) if e.type == "listening"]


# --------------------------------------------------------------------------- content hashes


def test_content_hash_follows_content_only(demo_copy: Path, demo: CourseSpec) -> None:
    same = load_course(demo_copy)
    assert same.content_hash() == demo.content_hash()
    family = demo_copy / "basics" / "skills" / "family.yaml"
    _edit(family, "Skill:\n", "# A comment changes nothing.\nSkill:\n")
    assert load_course(demo_copy).content_hash() == demo.content_hash()

    _edit(family, "Translation: the brother\n", "Translation: the big brother\n")
    changed = load_course(demo_copy)
    assert changed.content_hash() != demo.content_hash()
    before = {lesson.key: lesson.content_hash() for lesson in demo.lessons()}
    after = {lesson.key: lesson.content_hash() for lesson in changed.lessons()}
    assert (
        after["5e6abbf5-ee30-43a8-bcb5-7aa3fec5f99e"]
        != before["5e6abbf5-ee30-43a8-bcb5-7aa3fec5f99e"]
    )
    # Keys derive from the word, not its translation: re-imports update the same exercises.
    assert [e.key for e in _exercises(changed)] == [e.key for e in _exercises(demo)]


# --------------------------------------------------------------------------- broken courses


def test_missing_folder_and_course_yaml(tmp_path: Path) -> None:
    assert "course folder not found" in _errors(tmp_path / "nowhere")[0]
    assert _errors(tmp_path) == ["course.yaml: file not found"]


def test_yaml_syntax_error_names_file_and_line(demo_copy: Path) -> None:
    skill = demo_copy / "basics" / "skills" / "cafe.yaml"
    _edit(skill, "  - Word: le thé\n", "  - Word: [le thé\n")
    (error,) = _errors(demo_copy)
    assert error.startswith("basics/skills/cafe.yaml: line ")
    assert "YAML syntax error" in error


def test_missing_required_keys(demo_copy: Path) -> None:
    skill = demo_copy / "basics" / "skills" / "family.yaml"
    _edit(skill, "    Translation: the father\n", "")
    _edit(skill, "  - Phrase: Voici ma mère.\n", "  - Version: Voici ma mère.\n")
    _edit(demo_copy / "everyday" / "skills" / "town.yaml", "  Name: Around town\n", "")
    errors = _errors(demo_copy)
    assert any(
        e.startswith("basics/skills/family.yaml: line ")
        and e.endswith("new word 'le père' is missing the required key 'Translation'")
        for e in errors
    )
    assert any(
        e.startswith("basics/skills/family.yaml: line ")
        and "phrase #1 is missing the required key 'Phrase'" in e
        for e in errors
    )
    assert any(
        e.startswith("everyday/skills/town.yaml") and "required key 'Name'" in e for e in errors
    )
    assert len(errors) == 3


def test_alternative_translations_must_be_a_list(demo_copy: Path) -> None:
    skill = demo_copy / "basics" / "skills" / "greetings.yaml"
    _edit(
        skill,
        "    Alternative translations:\n      - Pleased to meet you!\n",
        "    Alternative translations: Pleased to meet you!\n",
    )
    (error,) = _errors(demo_copy)
    assert error.startswith("basics/skills/greetings.yaml: line ")
    assert "Alternative translations must be a list" in error
    assert "'Pleased to meet you!'" in error


def test_upstream_bare_string_alternative_is_an_error(tmp_path: Path) -> None:
    """LibreLingo's own file once had a bare string here (see the data's README)."""
    course = Path(shutil.copytree(SPANISH, tmp_path / "spanish-from-english"))
    _edit(
        course / "activities" / "skills" / "continuous.yaml",
        "    Alternative translations:\n      - She's swimming in the sea\n",
        "    Alternative translations: She's swimming in the sea\n",
    )
    (error,) = _errors(course)
    assert error.startswith("activities/skills/continuous.yaml: line ")
    assert "phrase 'Ella está nadando en el mar' Alternative translations must be a list" in error


def test_wrong_types_are_reported_not_guessed(demo_copy: Path) -> None:
    skill = demo_copy / "everyday" / "skills" / "numbers.yaml"
    _edit(skill, "    Synonyms:\n      - une\n", "    Synonyms: une\n")
    _edit(skill, "    Translation: two\n", "    Translation:\n      - two\n")
    _edit(skill, "    - demi: half\n", "    - demi:\n")
    errors = _errors(demo_copy)
    assert len(errors) == 3
    assert all(error.startswith("everyday/skills/numbers.yaml: line ") for error in errors)
    assert any("new word 'un' Synonyms must be a list" in e for e in errors)
    assert any("new word 'deux' Translation must be a single text value" in e for e in errors)
    assert any("entry 'demi' is empty" in e for e in errors)


def test_listed_module_or_skill_file_missing(demo_copy: Path) -> None:
    (demo_copy / "everyday" / "skills" / "town.yaml").unlink()
    _edit(demo_copy / "course.yaml", "  - everyday/\n", "  - everyday/\n  - extras/\n")
    errors = _errors(demo_copy)
    assert "everyday/skills/town.yaml: file not found (listed in everyday/module.yaml)" in errors
    assert "extras/module.yaml: file not found (listed in course.yaml)" in errors


def test_duplicate_skill_ids(demo_copy: Path) -> None:
    _edit(
        demo_copy / "everyday" / "skills" / "routine.yaml",
        "Id: 6a077e77-bbc5-4561-955f-157609f302c7",
        "Id: b689e930-03b2-4b79-ae88-6cf60936aace",
    )
    (error,) = _errors(demo_copy)
    assert error == (
        "everyday/skills/routine.yaml: line 3: duplicate skill Id "
        "'b689e930-03b2-4b79-ae88-6cf60936aace' (already used by basics/skills/greetings.yaml)"
    )


def test_every_problem_is_reported_at_once(demo_copy: Path) -> None:
    _edit(
        demo_copy / "basics" / "module.yaml",
        "  - family.yaml\n",
        "  - family.yaml\n  - pets.yaml\n",
    )
    _edit(demo_copy / "everyday" / "skills" / "town.yaml", "Phrases:\n", "Phrases: oops\n")
    _edit(demo_copy / "course.yaml", "    IETF BCP 47: en\n", "")
    errors = _errors(demo_copy)
    files = {error.split(":", 1)[0] for error in errors}
    assert files == {"course.yaml", "basics/skills/pets.yaml", "everyday/skills/town.yaml"}
