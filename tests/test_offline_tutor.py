"""The offline tutor: deterministic replies from the English, French and Spanish banks
(pure functions: no database, no servers)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from linguo.conversation.offline_tutor import (
    BANDS,
    CONVERSATION_STYLES,
    DATA_DIR,
    Bank,
    BankError,
    Correction,
    OfflineTutor,
    TargetWord,
    TutorTurn,
    default_banks,
    load_bank,
    load_banks,
)

LANGUAGES = ("en", "fr", "es")
NATIVE = {"en": "fr", "fr": "en", "es": "en"}

tutor = OfflineTutor()


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Override conftest's database and Redis cleanup: these tests need neither."""
    yield


def bank(language: str) -> Bank:
    return default_banks()[language]


def make_turn(**changes: Any) -> TutorTurn:
    base = TutorTurn(
        language="fr",
        native_language="en",
        level="B1",
        style="tutor",
        topic=None,
        turn_number=0,
        learner_message=None,
        corrections=(),
        focus_points=(),
        target_words=(),
        session_seed="session-1",
    )
    return dataclasses.replace(base, **changes)


def as_asked(chosen: Bank, questions: Iterable[str]) -> set[str]:
    """Questions of a bank as its learners read them: {language} names the bank's language."""
    return {
        question.format(language=chosen.language_name(chosen.language)) for question in questions
    }


def questions(language: str, band: str | None = None) -> set[str]:
    """Every question of a bank (of one band, or of all), as asked."""
    found: set[str] = set()
    chosen = bank(language)
    for each in [band] if band else list(BANDS):
        found.update(chosen.free_questions[each])
        for topic in chosen.topics:
            found.update(as_asked(chosen, topic.questions[each]))
    return found


def asked(reply: str) -> str:
    """The question ending a reply, without its native-language gloss."""
    return re.sub(r" \[[^\]]*\]$", "", reply.splitlines()[-1])


def conversation(turns: int, **changes: Any) -> list[str]:
    """The replies to a session of `turns` turns where the learner answers each time."""
    return [
        tutor.reply(
            make_turn(
                turn_number=n,
                learner_message=None if n == 0 else "Je pense que c'est une bonne idée.",
                **changes,
            )
        )
        for n in range(turns)
    ]


# --- determinism and language -----------------------------------------------------------


def test_the_same_turn_always_gets_the_same_reply_and_sessions_differ() -> None:
    turn = make_turn(
        turn_number=4,
        learner_message="Hier, je suis allé au marché avec mes enfants.",
        target_words=(TargetWord(1, "le marché", "the market", False),),
    )
    assert tutor.reply(turn) == tutor.reply(turn) == OfflineTutor().reply(turn)
    replies = {tutor.reply(dataclasses.replace(turn, session_seed=f"s{n}")) for n in range(8)}
    assert len(replies) > 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_replies_are_written_in_the_target_language(language: str) -> None:
    own, others = (
        questions(language),
        set().union(*(questions(other) for other in LANGUAGES if other != language)),
    )
    for turn_number in range(4):
        reply = tutor.reply(
            make_turn(
                language=language,
                native_language=NATIVE[language],
                turn_number=turn_number,
                learner_message=None if turn_number == 0 else "Oui, bien sûr.",
            )
        )
        assert asked(reply) in own and asked(reply) not in others
        assert "[" not in reply  # B1: no native-language glosses
    greeting = tutor.reply(make_turn(language=language, native_language=NATIVE[language]))
    assert any(hello in greeting for hello in bank(language).phrases["greetings"])


def test_an_unknown_target_language_uses_the_english_bank_and_says_so() -> None:
    greeting = tutor.reply(make_turn(language="de", native_language="fr", level="B2"))
    assert asked(greeting) in questions("en")
    assert "allemand" in greeting and "anglais" in greeting  # the note, in French


# --- corrections, acknowledgements, focus points -----------------------------------------


def test_corrections_recast_the_learner_with_the_suggestion_and_explanation() -> None:
    message = "Je mange avec la chien."
    reply = tutor.reply(
        make_turn(
            turn_number=1,
            learner_message=message,
            corrections=(
                Correction(
                    "la chien", "le chien", "“Chien” is masculine: le chien.", "article_gender"
                ),
            ),
        )
    )
    first = reply.splitlines()[0]
    assert "« le chien »" in first and "“Chien” is masculine: le chien." in first
    assert "« Je mange avec le chien. »" in reply  # the whole sentence, recast
    assert not any(praise in reply for praise in bank("fr").phrases["praise"])


def test_at_most_two_corrections_most_important_first() -> None:
    message = "Yesterday I go to the parc and I eat pizza."
    corrections = (
        Correction("parc", "park", "Spelling: park.", "spelling"),
        Correction("go", "went", "Past tense: went.", "conjugation"),
        Correction("eat", "ate", "Past tense: ate.", "conjugation"),
    )
    reply = tutor.reply(
        make_turn(
            language="en",
            native_language="en",
            turn_number=2,
            learner_message=message,
            corrections=corrections,
        )
    )
    assert "“go” → “went” — Past tense: went." in reply
    assert "“eat” → “ate” — Past tense: ate." in reply
    assert "“parc”" not in reply  # the third, least important, is left for later
    assert any(line in reply for line in bank("en").phrases["more_errors"])


def test_without_corrections_the_tutor_acknowledges_the_message() -> None:
    phrases = bank("es").phrases
    short = tutor.reply(make_turn(language="es", turn_number=1, learner_message="Sí."))
    assert short.splitlines()[0] in phrases["short_answer"]
    question = tutor.reply(
        make_turn(language="es", turn_number=1, learner_message="¿Y tú qué comes por la mañana?")
    )
    assert question.splitlines()[0] in phrases["question_ack"]
    acks = {
        tutor.reply(
            make_turn(
                language="es",
                turn_number=n,
                learner_message="Me encanta cocinar paella con mariscos.",
            )
        ).splitlines()[0]
        for n in range(1, 13)
    }
    plain = set(phrases["praise"])
    with_keyword = {ack for ack in acks if ack not in plain}
    assert len(acks) > 2 and with_keyword  # varied, sometimes naming a word of the message
    assert all("mariscos" in ack or "cocinar" in ack or "encanta" in ack for ack in with_keyword)


def test_focus_points_come_back_every_third_turn_without_corrections() -> None:
    point = "Chien is masculine: le chien."
    with_reminder = [
        n
        for n in range(1, 10)
        if point
        in tutor.reply(
            make_turn(turn_number=n, learner_message="C'est vrai.", focus_points=(point,))
        )
    ]
    assert with_reminder == [3, 6, 9]
    corrected = make_turn(
        turn_number=3,
        learner_message="Je suis allé à la plage.",
        focus_points=(point,),
        corrections=(Correction("à la plage", "sur la plage", "Sur la plage.", "preposition"),),
    )
    assert point not in tutor.reply(corrected)


# --- target words ---------------------------------------------------------------------------


def test_target_words_appear_verbatim_and_new_ones_are_glossed() -> None:
    targets = (
        TargetWord(1, "l'épicerie", "the grocer's", True),
        TargetWord(2, "emprunter", "to borrow", False),
    )
    for turn_number in (0, 1, 5):
        reply = tutor.reply(
            make_turn(
                level="C1",
                turn_number=turn_number,
                learner_message=None if turn_number == 0 else "Bien sûr.",
                target_words=targets,
            )
        )
        assert "l'épicerie" in reply and "emprunter" in reply
        assert "« l'épicerie » (the grocer's)" in reply  # new: glossed at any level
        assert "to borrow" not in reply  # known, C1: no gloss
    beginner = tutor.reply(make_turn(level="A2", target_words=targets[1:]))
    assert "« emprunter » (to borrow)" in beginner  # A1-A2: every word glossed


def test_a_target_word_without_translation_is_still_worked_in() -> None:
    reply = tutor.reply(
        make_turn(
            language="es", level="A1", target_words=(TargetWord(3, "la mochila", None, True),)
        )
    )
    assert "«la mochila»" in reply


# --- questions -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("style", CONVERSATION_STYLES)
def test_no_question_repeats_within_fifteen_turns(language: str, style: str) -> None:
    for topic in (None, "my weekend", "quantum physics"):
        asked_questions = [
            asked(reply) for reply in conversation(16, language=language, style=style, topic=topic)
        ]
        assert len(set(asked_questions)) == 16, (topic, asked_questions)


def test_questions_wrap_around_only_after_every_one_was_asked() -> None:
    replies = conversation(40, style="debate", level="C2")
    seen = [asked(reply) for reply in replies]
    distinct = len(set(seen))
    assert seen[:distinct] == list(dict.fromkeys(seen))  # all different before repeating
    assert seen[distinct:] == seen[: len(seen) - distinct]


def test_ordered_scenes_keep_their_order() -> None:
    doctor = bank("en").topic("roleplay.doctor").questions["B1-B2"]
    replies = conversation(6, language="en", native_language="fr", style="roleplay", topic="doctor")
    assert [asked(reply) for reply in replies] == list(doctor)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("style", CONVERSATION_STYLES)
def test_every_style_greets_in_every_language(language: str, style: str) -> None:
    chosen = bank(language)
    greeting = tutor.reply(
        make_turn(language=language, native_language=NATIVE[language], style=style, level="A2")
    )
    assert any(hello in greeting for hello in chosen.phrases["greetings"])
    assert any(frame in greeting for frame in chosen.frames[style])
    topic_id = next(
        topic.id
        for topic in chosen.topics
        if topic.intro["A1-A2"] in greeting  # the scene, motion, story or interview set up
    )
    assert chosen.topic(topic_id).style == style
    assert asked(greeting) in as_asked(chosen, chosen.topic(topic_id).questions["A1-A2"])


@pytest.mark.parametrize(
    ("language", "native_language", "names"),
    [
        ("fr", "en", ("French",)),
        ("fr", "es", ("francés",)),
        ("en", "fr", ("anglais",)),
        ("es", "fr", ("espagnol",)),
        ("de", "fr", ("anglais",)),  # no German bank: practised in English, and said so
    ],
)
def test_questions_about_the_practised_language_name_it_in_their_gloss_too(
    language: str, native_language: str, names: tuple[str, ...]
) -> None:
    """A beginner learning French reads "Tu regardes des films en français ? [Do you watch
    films in French?]", not a gloss about English taken from the English learners' bank."""
    practised = "en" if language == "de" else language
    own_name = bank(practised).language_name(practised)
    glossed = [
        reply.splitlines()[-1]
        for reply in conversation(
            30,
            language=language,
            native_language=native_language,
            level="A1",
            style="tutor",
            topic="tutor.learning_languages",
        )
    ]
    about_the_language = [line for line in glossed if own_name in asked(line)]
    assert len(about_the_language) >= 4, glossed
    gloss_bank = bank(native_language)
    other_names = set(gloss_bank.language_names.values()) - set(names)
    for line in about_the_language:
        gloss = line[len(asked(line)) :]
        assert any(name in gloss for name in names), line
        assert not any(re.search(rf"\b{re.escape(name)}\b", gloss) for name in other_names), line


def test_greeting_sets_the_scene_for_roleplay_and_the_motion_for_debate() -> None:
    scene = tutor.reply(make_turn(language="en", style="roleplay", topic="shop", level="B2"))
    assert "I'm the shop assistant." in scene
    motion = tutor.reply(make_turn(language="es", style="debate", topic="ciudad", level="B1"))
    assert "la vida en una gran ciudad es mejor" in motion
    assert asked(motion).startswith("¿Estás de acuerdo")


def test_questions_follow_the_learners_band() -> None:
    for level, band in (("A1", "A1-A2"), ("A2", "A1-A2"), ("B2", "B1-B2"), ("C2", "C1-C2")):
        for reply in conversation(6, level=level, style="casual"):
            assert asked(reply) in questions("fr", band)
    beginner = tutor.reply(make_turn(level="A1", style="casual", topic="weekend"))
    assert beginner.splitlines()[-1].endswith("]")  # the question, glossed in English
    assert asked(beginner) in bank("fr").topic("casual.weekend").questions["A1-A2"]
    advanced = tutor.reply(make_turn(level="C1", style="casual", topic="weekend"))
    assert "[" not in advanced


def test_a_free_text_topic_picks_the_best_bank_topic_or_is_named() -> None:
    weekend = bank("fr").topic("casual.weekend")
    for text in ("My weekend", "mon WEEK-END", "el fin de semana", "casual.weekend"):
        greeting = tutor.reply(make_turn(style="casual", topic=text))
        assert weekend.intro["B1-B2"] in greeting and asked(greeting) in weekend.questions["B1-B2"]
    own = tutor.reply(make_turn(style="tutor", topic="la physique quantique"))
    assert "« la physique quantique »" in own
    assert asked(own) in bank("fr").free_questions["B1-B2"]


def test_topics_lists_the_bank_for_a_language_and_level() -> None:
    listed = tutor.topics("es", "A1")
    assert {entry["style"] for entry in listed} == set(CONVERSATION_STYLES)
    by_id = {entry["id"]: entry for entry in listed}
    assert by_id["casual.weekend"]["title"] == "El fin de semana"
    assert "business.meeting" not in by_id  # from A2 on
    assert "business.meeting" in {entry["id"] for entry in tutor.topics("es")}
    assert tutor.topics("pt")[0]["title"] == bank("en").topics[0].title  # fallback


def test_unknown_style_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="style"):
        tutor.reply(make_turn(style="poetry"))
    with pytest.raises(ValueError, match="level"):
        tutor.reply(make_turn(level="D1"))


# --- the bank ---------------------------------------------------------------------------------


def test_the_bundled_banks_are_complete_and_parallel() -> None:
    banks = default_banks()
    assert set(LANGUAGES) <= set(banks)
    for chosen in banks.values():
        for style in CONVERSATION_STYLES:
            of_style = [topic for topic in chosen.topics if topic.style == style]
            assert len(of_style) >= 2
            for topic in of_style:
                assert all(len(topic.questions[band]) >= 5 for band in BANDS)
    assert load_banks(DATA_DIR).keys() == banks.keys()


def broken_copy(tmp_path: Path, language: str, old: str, new: str) -> Path:
    """A copy of the bundled banks with `old` replaced by `new` in one of them."""
    for path in DATA_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    target = tmp_path / f"{language}.yaml"
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("language", "old", "new", "message"),
    [
        ("fr", '"Très bien !"', '""', r"fr\.yaml: phrases\.praise\[0\]: empty string"),
        (
            "es",
            '"Intenta usar {word} en tu respuesta."',
            '"Intenta usar {palabra} en tu respuesta."',
            r"es\.yaml: phrases\.word_practice_one\[0\]: missing placeholder",
        ),
        (
            "en",
            '    - "Hello! I\'m your English tutor today."',
            '    - "Hello {name}!"',
            r"en\.yaml: phrases\.greetings\[0\]: unknown placeholder",
        ),
        (
            "fr",
            "  C1-C2:\n    - \"Qu'est-ce qui rend",
            "  C3:\n    - \"Qu'est-ce qui rend",
            r"fr\.yaml: free_questions: missing 'C1-C2'",
        ),
        (
            "es",
            "  debate:\n    frames:",
            "  debating:\n    frames:",
            r"es\.yaml: styles: missing 'debate'",
        ),
        (
            "fr",
            "    style: interviewer\n    levels: A1-C2\n    ordered: true\n"
            '    title: "Interview : l\'histoire de ta vie"',
            "    style: podcast\n    levels: A1-C2\n    ordered: true\n"
            '    title: "Interview : l\'histoire de ta vie"',
            r"fr\.yaml: topics\[interviewer\.life_story\]\.style: unknown style 'podcast'",
        ),
        ("en", "language: en", "language: [en", r"en\.yaml: cannot be read"),
    ],
)
def test_a_broken_bank_is_refused_with_the_file_and_path(
    tmp_path: Path, language: str, old: str, new: str, message: str
) -> None:
    path = broken_copy(tmp_path, language, old, new)
    with pytest.raises(BankError, match=message):
        load_bank(path)
    with pytest.raises(BankError, match=message):
        load_banks(tmp_path)


def test_banks_must_stay_parallel_across_languages(tmp_path: Path) -> None:
    broken_copy(
        tmp_path,
        "es",
        '        - "¿Qué comes los domingos?"\n',
        "",
    )
    load_bank(tmp_path / "es.yaml")  # valid on its own: 5 questions is enough
    with pytest.raises(
        BankError, match=r"es\.yaml: topics\[casual\.weekend\]\.questions\.A1-A2: 5 questions, "
    ):
        load_banks(tmp_path)


def test_a_question_and_its_gloss_must_name_the_same_things(tmp_path: Path) -> None:
    broken_copy(
        tmp_path,
        "fr",
        '"Tu regardes des films en {language} ?"',
        '"Tu regardes des films en français ?"',
    )
    load_bank(tmp_path / "fr.yaml")  # valid on its own
    with pytest.raises(
        BankError,
        match=r"fr\.yaml: topics\[tutor\.learning_languages\]\.questions\.A1-A2\[3\]: "
        r"placeholders differ from en\.yaml",
    ):
        load_banks(tmp_path)


def test_an_offline_tutor_can_use_other_banks(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "en", "Hello! I'm your English tutor today.", "Howdy, partner!")
    custom = OfflineTutor(load_banks(tmp_path))
    greetings = [custom.reply(make_turn(language="en", session_seed=f"s{n}")) for n in range(30)]
    assert any("Howdy, partner!" in greeting for greeting in greetings)
    assert not any("Howdy" in tutor.reply(make_turn(language="en")) for _ in range(2))
    assert path.read_text(encoding="utf-8").count("Howdy, partner!") == 1
