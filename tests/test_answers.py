"""Checking typed answers: table-driven cases in English, Spanish and French, and every
accepted answer of the real LibreLingo Spanish course (pure functions, no servers)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from linguo.language.answers import (
    AnswerCheck,
    WordDiff,
    check_answer,
    is_real_word,
    normalise,
)
from linguo.language.text import fold
from tests.conftest import SPANISH_COURSE

LIBRELINGO = SPANISH_COURSE


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Override conftest's database and Redis cleanup: these tests need neither."""
    yield


def verdict(result: AnswerCheck) -> str:
    """The verdict as "exact", "typo" or "wrong", checking the result's consistency."""
    if not result.correct:
        assert not result.typo
        assert result.message
        assert result.diff
        return "wrong"
    if result.typo:
        assert result.message
        assert result.diff
        assert {entry.kind for entry in result.diff} <= {"typo", "accent"}
        return "typo"
    assert result.message is None
    assert result.diff == []
    return "exact"


BOY = ["I am a boy", "I'm a boy"]

# (answer, accepted answers, language, verdict)
VERDICTS: list[tuple[str, list[str], str, str]] = [
    # Case, spacing, punctuation, quotes, apostrophes, Unicode forms.
    ("I am a boy", BOY, "en", "exact"),
    ("i am a boy", BOY, "en", "exact"),
    ("  I   am a \t boy  ", BOY, "en", "exact"),
    ("I am a boy.", BOY, "en", "exact"),
    ("I am a boy!!!", BOY, "en", "exact"),
    ("I am a boy?", BOY, "en", "exact"),
    ("I am a boy…", BOY, "en", "exact"),
    ("I, am; a: boy", BOY, "en", "exact"),
    ("\u201cI am a boy\u201d", BOY, "en", "exact"),
    ('"I am a boy"', BOY, "en", "exact"),
    ("I AM A BOY", BOY, "en", "exact"),
    ("I am a boy\n", BOY, "en", "exact"),
    ("I\u2019m a boy", BOY, "en", "exact"),
    ("I\u2018m a boy", BOY, "en", "exact"),
    ("I\u02bcm a boy", BOY, "en", "exact"),
    ("I\u00b4m a boy", BOY, "en", "exact"),
    ("I`m a boy", BOY, "en", "exact"),
    ("Max\u00a0is a dog", ["Max is a dog"], "en", "exact"),
    ("Max is a dog\u200b", ["Max is a dog"], "en", "exact"),
    ("What's up?", ["What\u2019s up?"], "en", "exact"),
    ("qué tal", ["¿Qué tal?"], "es", "exact"),
    ("¡Buenos días!", ["Buenos días"], "es", "exact"),
    ("buenos días yo soy cecilia", ["Buenos días, yo soy Cecilia."], "es", "exact"),
    ("El nin\u0303o come", ["El niño come"], "es", "exact"),
    ("El niño come", ["El nin\u0303o come"], "es", "exact"),
    ("EL NIÑO COME", ["el niño come"], "es", "exact"),
    ("¿Cuánto cuesta?", ["¿Cuánto cuesta?"], "es", "exact"),
    ("\u0309\u030c¿Están escribiendo?", ["¿Están escribiendo?"], "es", "exact"),
    ("j\u2019ai faim", ["J'ai faim"], "fr", "exact"),
    ("aujourd\u2019hui il fait beau.", ["Aujourd'hui il fait beau"], "fr", "exact"),
    ("C\u2019est l\u2019école !", ["C'est l'école"], "fr", "exact"),
    ("est-ce que tu viens", ["Est-ce que tu viens ?"], "fr", "exact"),
    ("Tu viens\u202f?", ["Tu viens ?"], "fr", "exact"),
    ('Il a dit "bonjour"', ["Il a dit « bonjour »"], "fr", "exact"),
    ("qu'est-ce que c'est?", ["Qu'est-ce que c'est ?"], "fr", "exact"),
    ("Ce\u0301line mange", ["Céline mange"], "fr", "exact"),
    # English contractions are interchangeable with their full forms.
    ("I'm happy", ["I am happy"], "en", "exact"),
    ("I am happy", ["I'm happy"], "en", "exact"),
    ("You're late", ["You are late"], "en", "exact"),
    ("He is tall", ["He's tall"], "en", "exact"),
    ("She's a nurse", ["She is a nurse"], "en", "exact"),
    ("It is a horse", ["It's a horse"], "en", "exact"),
    ("We are big", ["We're big"], "en", "exact"),
    ("They are ready", ["They're ready"], "en", "exact"),
    ("I have eaten", ["I've eaten"], "en", "exact"),
    ("You've won", ["You have won"], "en", "exact"),
    ("We have seen it", ["We've seen it"], "en", "exact"),
    ("They've gone", ["They have gone"], "en", "exact"),
    ("I will go", ["I'll go"], "en", "exact"),
    ("You'll see", ["You will see"], "en", "exact"),
    ("She will come", ["She'll come"], "en", "exact"),
    ("I would like tea", ["I'd like tea"], "en", "exact"),
    ("I had gone", ["I'd gone"], "en", "exact"),
    ("I don't like wine", ["I do not like wine"], "en", "exact"),
    ("He does not eat meat", ["He doesn't eat meat"], "en", "exact"),
    ("I didn't know", ["I did not know"], "en", "exact"),
    ("Max isn't short", ["Max is not short"], "en", "exact"),
    ("They are not here", ["They aren't here"], "en", "exact"),
    ("It wasn't me", ["It was not me"], "en", "exact"),
    ("We were not ready", ["We weren't ready"], "en", "exact"),
    ("I cannot swim", ["I can't swim"], "en", "exact"),
    ("I can not swim", ["I can't swim"], "en", "exact"),
    ("I can't swim", ["I cannot swim"], "en", "exact"),
    ("I can not swim", ["I cannot swim"], "en", "exact"),
    ("I won't go", ["I will not go"], "en", "exact"),
    ("She would not come", ["She wouldn't come"], "en", "exact"),
    ("You should not run", ["You shouldn't run"], "en", "exact"),
    ("We couldn't see", ["We could not see"], "en", "exact"),
    ("I have not eaten", ["I haven't eaten"], "en", "exact"),
    ("He hasn't eaten", ["He has not eaten"], "en", "exact"),
    ("Let us go", ["Let's go"], "en", "exact"),
    ("That is good", ["That's good"], "en", "exact"),
    ("There's a cat", ["There is a cat"], "en", "exact"),
    ("What is your name?", ["What's your name?"], "en", "exact"),
    ("He's not tall", ["He isn't tall"], "en", "exact"),
    ("He has got a dog", ["He's got a dog"], "en", "exact"),
    ("She's been ill", ["She has been ill"], "en", "exact"),
    ("The cat is clean", ["The cat's clean"], "en", "exact"),
    ("Don't worry", ["Do not worry"], "en", "exact"),
    ("I\u2019m not sure", ["I am not sure"], "en", "exact"),
    # Missing or wrong accents: correct, with a slip to show.
    ("cafe", ["café"], "es", "typo"),
    ("Yo soy un nino", ["Yo soy un niño"], "es", "typo"),
    ("el senor", ["el señor"], "es", "typo"),
    ("ecole", ["école"], "fr", "typo"),
    ("Strasse", ["Straße"], "de", "typo"),
    ("oeuvre", ["œuvre"], "fr", "typo"),
    ("encyclopaedia", ["encyclopædia"], "en", "typo"),
    ("buenos dias", ["¡Buenos días!"], "es", "typo"),
    ("el raton es pequeno", ["El ratón es pequeño"], "es", "typo"),
    ("Un cafè", ["Un café"], "fr", "typo"),
    ("El come pan", ["Él come pan"], "es", "typo"),
    ("Ellos estan jugando", ["Ellos están jugando"], "es", "typo"),
    ("Le garcon", ["Le garçon"], "fr", "typo"),
    ("Ou est la gare", ["Où est la gare ?"], "fr", "typo"),
    # A missing or misplaced apostrophe or hyphen, or a space instead of one.
    ("j ai faim", ["j'ai faim"], "fr", "typo"),
    ("jai faim", ["j'ai faim"], "fr", "typo"),
    ("l ecole", ["l'école"], "fr", "typo"),
    ("aujourdhui", ["aujourd'hui"], "fr", "typo"),
    ("qu il mange", ["qu'il mange"], "fr", "typo"),
    ("Est ce que tu viens", ["Est-ce que tu viens ?"], "fr", "typo"),
    ("I dont know", ["I don't know"], "en", "typo"),
    ("Im a boy", ["I'm a boy"], "en", "typo"),
    ("I do nt know", ["I don't know"], "en", "typo"),
    ("Its a horse", ["It's a horse"], "en", "typo"),
    ("the tshirt", ["the t-shirt"], "en", "typo"),
    ("the t shirt", ["the t-shirt"], "en", "typo"),
    ("I like it alot", ["I like it a lot"], "en", "typo"),
    # ... also when the accepted answer has the full form of the contraction.
    ("Im a student", ["I am a student"], "en", "typo"),
    ("I dont like wine", ["I do not like wine"], "en", "typo"),
    ("He doesnt eat meat", ["He does not eat meat"], "en", "typo"),
    ("Whats your name", ["What is your name?"], "en", "typo"),
    ("I cant swim", ["I cannot swim"], "en", "typo"),
    ("He woudl like tea", ["He'd like tea"], "en", "typo"),
    # Spanish contractions written out: accepted, but the learner should see it.
    ("Vamos a el parque", ["Vamos al parque"], "es", "typo"),
    ("El pato está abrazando a el gato", ["El pato está abrazando al gato"], "es", "typo"),
    ("la casa de el perro", ["la casa del perro"], "es", "typo"),
    # French elision is mandatory.
    ("je ai faim", ["j'ai faim"], "fr", "wrong"),
    ("le école", ["l'école"], "fr", "wrong"),
    ("le homme", ["l'homme"], "fr", "wrong"),
    ("que il mange", ["qu'il mange"], "fr", "wrong"),
    ("un verre de eau", ["un verre d'eau"], "fr", "wrong"),
    ("je aime le chocolat", ["j'aime le chocolat"], "fr", "wrong"),
    ("ce est bon", ["c'est bon"], "fr", "wrong"),
    ("si il vient", ["s'il vient"], "fr", "wrong"),
    ("école", ["l'école"], "fr", "wrong"),
    # One slip in a word of 4+ letters that makes no other word: a typo.
    ("el gatto", ["el gato"], "es", "typo"),
    ("the hous", ["the house"], "en", "typo"),
    ("el caballlo", ["el caballo"], "es", "typo"),
    ("el cabllo", ["el caballo"], "es", "typo"),
    ("the elephnat", ["the elephant"], "en", "typo"),
    ("the mountian", ["the mountain"], "en", "typo"),
    ("la cerbeza", ["la cerveza"], "es", "typo"),
    ("the stawberries", ["the strawberries"], "en", "typo"),
    ("Nosotros estamos cocinando la cean", ["Nosotros estamos cocinando la cena"], "es", "typo"),
    ("She is swiming in the sea", ["She is swimming in the sea"], "en", "typo"),
    ("Cecilia drinks watter", ["Cecilia drinks water"], "en", "typo"),
    ("la escuella", ["la escuela"], "es", "typo"),
    ("Bonjuor", ["Bonjour"], "fr", "typo"),
    ("la maisn", ["la maison"], "fr", "typo"),
    ("I am doing this excercise", ["I am doing this exercise"], "en", "typo"),
    ("Buenos días, yo soy Cecila", ["Buenos días, yo soy Cecilia."], "es", "typo"),
    ("Me gusta el cafe y la lehce", ["Me gusta el café y la leche"], "es", "typo"),
    ("los gatoss", ["los gatos"], "es", "typo"),
    ("el gto", ["el gato"], "es", "typo"),
    ("Ich bin ein Jugne", ["Ich bin ein Junge"], "de", "typo"),
    ("il gato", ["il gatto"], "it", "typo"),
    ("el pero", ["el perro"], "xx", "typo"),  # no word list: every slip is a typo
    (
        "Los elefantse son grandes, los ratnoes son pequeños",
        ["Los elefantes son grandes, los ratones son pequeños"],
        "es",
        "typo",
    ),
    # ... but more than one slip per 4 words is wrong.
    (
        "Los elefantse son grandse, los ratnoes son pequeños",
        ["Los elefantes son grandes, los ratones son pequeños"],
        "es",
        "wrong",
    ),
    ("El perrro bebe agwa", ["El perro bebe agua"], "es", "wrong"),
    ("Ellos están jugandoo en el parqe", ["Ellos están jugando en el parque"], "es", "wrong"),
    # A slip that makes another real word changes the meaning.
    ("el pero", ["el perro"], "es", "wrong"),
    ("el pero", ["el perro"], "es-MX", "wrong"),
    ("la cada", ["la casa"], "es", "wrong"),
    ("the horse", ["the house"], "en", "wrong"),
    ("Max es un pero", ["Max es un perro"], "es", "wrong"),
    ("I like bear", ["I like beer"], "en", "wrong"),
    ("I eat bred", ["I eat bread"], "en", "wrong"),
    ("la pata", ["la pasta"], "es", "wrong"),
    ("la raison", ["la maison"], "fr", "wrong"),
    ("The old eat meet", ["The old eat meat"], "en", "wrong"),
    # ... and so does an inflection, even a rare one.
    ("gatos", ["gato"], "es", "wrong"),
    ("Los gatas son pequeños", ["Los gatos son pequeños"], "es", "wrong"),
    ("The horses is big", ["The horse is big"], "en", "wrong"),
    ("Le chat est petite", ["Le chat est petit"], "fr", "wrong"),
    # Words of 1-3 letters must match (but for accents).
    ("una gato", ["un gato"], "es", "wrong"),
    ("teh cat", ["the cat"], "en", "wrong"),
    ("an cat", ["a cat"], "en", "wrong"),
    ("I eta pasta", ["I eat pasta"], "en", "wrong"),
    ("Yo sou un gato", ["Yo soy un gato"], "es", "wrong"),
    ("le chat", ["la chat"], "fr", "wrong"),
    # Two slips in one word.
    ("el gatttto", ["el gato"], "es", "wrong"),
    ("the elefant", ["the elephant"], "en", "wrong"),
    ("la cerbesa", ["la cerveza"], "es", "wrong"),
    # Numbers are never typos.
    ("I have 21 cats", ["I have 12 cats"], "en", "wrong"),
    ("Code 1243", ["Code 1234"], "en", "wrong"),
    # Missing, extra and different words.
    ("gato", ["el gato"], "es", "wrong"),
    ("el gato gato", ["el gato"], "es", "wrong"),
    ("el gato negro", ["el gato"], "es", "wrong"),
    ("the cat", ["the dog"], "en", "wrong"),
    ("I am boy", BOY, "en", "wrong"),
    ("I am a a boy", BOY, "en", "wrong"),
    ("I a boy", ["I'm a boy"], "en", "wrong"),
    ("gato el", ["el gato"], "es", "wrong"),
    ("Le doy el libro al", ["Le doy el libro a él"], "es", "wrong"),
    ("I'm a girl", BOY, "en", "wrong"),
    ("Soy una estudiante", ["Yo soy una estudiante"], "es", "wrong"),
    ("It is", ["It's a horse"], "en", "wrong"),
    ("a b c d e f g h i j k l m n o p q r s t u v w x y z " * 4, ["el gato"], "es", "wrong"),
    # Nothing typed.
    ("", ["el gato"], "es", "wrong"),
    ("   ", ["el gato"], "es", "wrong"),
    ("?!", ["el gato"], "es", "wrong"),
    ("…", ["el gato"], "es", "wrong"),
]


@pytest.mark.parametrize(("answer", "accepted", "language", "expected"), VERDICTS)
def test_verdict(answer: str, accepted: list[str], language: str, expected: str) -> None:
    assert verdict(check_answer(answer, accepted, language)) == expected


# (answer, accepted answers, language, the closest accepted answer)
CLOSEST: list[tuple[str, list[str], str, str]] = [
    ("I'm a boy", BOY, "en", "I'm a boy"),
    ("I am a boy", list(reversed(BOY)), "en", "I am a boy"),
    ("I'm a girl", BOY, "en", "I'm a boy"),
    ("I am a girl", BOY, "en", "I am a boy"),
    (
        "Soy una estudiantes",
        [
            "Yo soy un estudiante",
            "Soy estudiante",
            "Soy un estudiante",
            "Soy una estudiante",
            "Yo soy una estudiante",
        ],
        "es",
        "Soy una estudiante",
    ),
    (
        "Estamos cocinando la comida",
        [
            "Nosotros estamos cocinando la cena",
            "Nosotras estamos cocinando la cena",
            "Estamos cocinando la cena",
        ],
        "es",
        "Estamos cocinando la cena",
    ),
    (
        "Estamos cosinando la cena",
        ["Nosotros estamos cocinando la cena", "Estamos cocinando la cena"],
        "es",
        "Estamos cocinando la cena",
    ),
    ("The old eat meet", ["The old ones eat meat", "The old eat meat"], "en", "The old eat meat"),
    (
        "Buenos dias soy Cecilia",
        ["Buenos días, yo soy Cecilia.", "Buenos días, soy Cecilia."],
        "es",
        "Buenos días, soy Cecilia.",
    ),
    (
        "I'm called Jose",
        ["My name is José", "I am called José", "I'm called José"],
        "en",
        "I'm called José",
    ),
    ("She is sick", ["She's ill", "She is ill", "She's sick", "She is sick"], "en", "She is sick"),
    ("Shes sick", ["She's ill", "She is ill", "She's sick", "She is sick"], "en", "She's sick"),
    ("Es viejo", ["Ella es vieja", "Es vieja", "Es viejo"], "es", "Es viejo"),
    ("Ella es vieja", ["Es vieja", "Ella es vieja"], "es", "Ella es vieja"),
    ("El pero pequeño", ["El perro pequeño", "El gato grande"], "es", "El perro pequeño"),
    ("xyz", ["el gato negro", "gato"], "es", "gato"),
    ("", ["el gato", "gato"], "es", "el gato"),
]


@pytest.mark.parametrize(("answer", "accepted", "language", "closest"), CLOSEST)
def test_closest_accepted_answer(
    answer: str, accepted: list[str], language: str, closest: str
) -> None:
    assert check_answer(answer, accepted, language).expected == closest


def d(kind: Any, expected: str | None, given: str | None, position: int) -> WordDiff:
    return WordDiff(kind, expected, given, position)


# (answer, accepted answers, language, diff)
DIFFS: list[tuple[str, list[str], str, list[WordDiff]]] = [
    ("el gato", ["el gato"], "es", []),
    ("el gatto", ["el gato"], "es", [d("typo", "gato", "gatto", 1)]),
    ("Yo soy un nino", ["Yo soy un niño"], "es", [d("accent", "niño", "nino", 3)]),
    ("gato", ["el gato"], "es", [d("missing", "el", None, 0)]),
    ("el", ["El gato"], "es", [d("missing", "gato", None, 1)]),
    ("el gato negro", ["el gato"], "es", [d("extra", None, "negro", 2)]),
    ("y el gato", ["el gato"], "es", [d("extra", None, "y", 0)]),
    ("el pero", ["el perro"], "es", [d("wrong", "perro", "pero", 1)]),
    ("I a boy", ["I'm a boy"], "en", [d("missing", "am", None, 0)]),
    ("Vamos a el parque", ["Vamos al parque"], "es", [d("typo", "al", "a el", 1)]),
    ("I dont know", ["I do not know"], "en", [d("typo", "do not", "dont", 1)]),
    ("I'm a girl", ["I am a boy"], "en", [d("wrong", "boy", "girl", 3)]),
    ("je ai faim", ["J'ai faim"], "fr", [d("wrong", "J'ai", "je ai", 0)]),
    ("J ai faim", ["J'ai faim"], "fr", [d("typo", "J'ai", "J ai", 0)]),
    ("I like it alot", ["I like it a lot"], "en", [d("typo", "a lot", "alot", 3)]),
    (
        "la gato negro",
        ["el gato"],
        "es",
        [d("wrong", "el", "la", 0), d("extra", None, "negro", 2)],
    ),
    (
        "El gatto y el pero",
        ["El gato y el perro"],
        "es",
        [d("typo", "gato", "gatto", 1), d("wrong", "perro", "pero", 4)],
    ),
    (
        "El perrro bebe agwa",
        ["El perro bebe agua"],
        "es",
        [d("wrong", "perro", "perrro", 1), d("wrong", "agua", "agwa", 3)],
    ),
    (
        "el raton es pequeno",
        ["El ratón es pequeño."],
        "es",
        [d("accent", "ratón", "raton", 1), d("accent", "pequeño", "pequeno", 3)],
    ),
    ("the cat is black", ["The cat is not black"], "en", [d("missing", "not", None, 3)]),
    ("I am not a boy", BOY, "en", [d("extra", None, "not", 2)]),
    ("", ["El gato"], "es", [d("missing", "El", None, 0), d("missing", "gato", None, 1)]),
]


@pytest.mark.parametrize(("answer", "accepted", "language", "diff"), DIFFS)
def test_diff(answer: str, accepted: list[str], language: str, diff: list[WordDiff]) -> None:
    assert check_answer(answer, accepted, language).diff == diff


# (answer, accepted answers, language, message)
MESSAGES: list[tuple[str, list[str], str, str | None]] = [
    ("el gato", ["el gato"], "es", None),
    ("I'm a boy", ["I am a boy"], "en", None),
    ("cafe", ["café"], "es", "Mind the accent: café."),
    ("el raton es pequeno", ["El ratón es pequeño"], "es", "Mind the accents: ratón, pequeño."),
    ("el gatto", ["el gato"], "es", "Almost: you wrote 'gatto', the word is 'gato'."),
    ("gato", ["el gato"], "es", "Missing word: 'el'."),
    ("gato", ["el gato negro"], "es", "Missing words: 'el', 'negro'."),
    ("el pero", ["el perro"], "es", "Wrong word: 'perro' (you wrote 'pero')."),
    ("the the cat", ["the cat"], "en", "Extra word: 'the'."),
    ("j ai faim", ["j'ai faim"], "fr", "Mind the apostrophe: j'ai."),
    ("the tshirt", ["the t-shirt"], "en", "Mind the hyphen: t-shirt."),
    ("I like it alot", ["I like it a lot"], "en", "Mind the spacing: a lot."),
    ("I dont know", ["I do not know"], "en", "Mind the apostrophe: don't."),
    ("Im here", ["I'm here"], "en", "Mind the apostrophe: I'm."),
    (
        "Vamos a el parque",
        ["Vamos al parque"],
        "es",
        "Almost: in Spanish 'a el' contracts to 'al'.",
    ),
    ("je ai faim", ["j'ai faim"], "fr", "In French, 'je ai' must be written 'j'ai'."),
    ("gato el", ["el gato"], "es", "Mind the word order: 'el gato'."),
    ("", ["el gato"], "es", "No answer given."),
    (
        "El perrro bebe agwa",
        ["El perro bebe agua"],
        "es",
        "Too many slips: 'perro' (you wrote 'perrro'), 'agua' (you wrote 'agwa').",
    ),
    (
        "un perro come pan",
        ["El gato bebe leche"],
        "es",
        "Not quite. The answer is 'El gato bebe leche'.",
    ),
]


@pytest.mark.parametrize(("answer", "accepted", "language", "message"), MESSAGES)
def test_message(answer: str, accepted: list[str], language: str, message: str | None) -> None:
    assert check_answer(answer, accepted, language).message == message


NORMALISED: list[tuple[str, str, str]] = [
    ("¡Hola, José!", "es", "hola josé"),
    ("  El   gato.  ", "es", "el gato"),
    ("L\u2019école", "fr", "l'école"),
    ("C'est-à-dire…", "fr", "c'est-à-dire"),
    ("\u00abBonjour\u00bb", "fr", "bonjour"),
    ("\u201cHello\u201d", "en", "hello"),
    ("nin\u0303o", "es", "niño"),
    ("Straße", "de", "straße"),
    ("I\u2019M", "en", "i'm"),
    ("'quoted' words", "en", "quoted words"),
    ("the dogs' bone", "en", "the dogs bone"),
    ("rock - paper", "en", "rock paper"),
    ("well-known", "en", "well-known"),
    ("İstanbul", "tr", "istanbul"),
    ("ISPARTA", "tr", "\u0131sparta"),
    ("ab\u200bc", "en", "abc"),
    ("col·legi", "ca", "col·legi"),
    ("\u0309\u030c¿Están?", "es", "están"),
    ("is|has", "en", "is has"),
    ("", "en", ""),
    ("?! …", "es", ""),
]


@pytest.mark.parametrize(("text", "language", "expected"), NORMALISED)
def test_normalise(text: str, language: str, expected: str) -> None:
    assert normalise(text, language) == expected


REAL_WORDS: list[tuple[str, str, bool]] = [
    ("pero", "es", True),
    ("PERO", "es", True),
    ("cada", "es", True),
    ("perro", "es", True),
    ("horse", "en", True),
    ("house", "en", True),
    ("bear", "en", True),
    ("meet", "en", True),
    ("raison", "fr", True),
    ("esta", "es", True),
    ("gato", "xx", False),
]

# Common slips of the course's words, which must stay typos: none of them may be taken for
# a real word (wordfreq's lists contain the web's own misspellings, such as "gatto").
COMMON_TYPOS = [
    ("gatto", "es"),
    ("perrro", "es"),
    ("caballlo", "es"),
    ("cabllo", "es"),
    ("cerbeza", "es"),
    ("cervesa", "es"),
    ("lehce", "es"),
    ("escuella", "es"),
    ("cosinando", "es"),
    ("estudainte", "es"),
    ("gto", "es"),
    ("pao", "es"),
    ("hous", "en"),
    ("elephnat", "en"),
    ("mountian", "en"),
    ("stawberries", "en"),
    ("swiming", "en"),
    ("watter", "en"),
    ("excercise", "en"),
    ("recieve", "en"),
    ("definately", "en"),
    ("thier", "en"),
    ("untill", "en"),
    ("beutiful", "en"),
    ("lon", "en"),
    ("bonjuor", "fr"),
    ("maisn", "fr"),
    ("ecol", "fr"),
]


@pytest.mark.parametrize(("word", "language", "real"), REAL_WORDS)
def test_is_real_word(word: str, language: str, real: bool) -> None:
    assert is_real_word(word, language) is real


@pytest.mark.parametrize(("word", "language"), COMMON_TYPOS)
def test_common_typos_are_not_real_words(word: str, language: str) -> None:
    assert not is_real_word(word, language)


@pytest.mark.parametrize("accepted", [[], (), ""])
def test_no_accepted_answer_is_an_error(accepted: Any) -> None:
    with pytest.raises(ValueError):
        check_answer("el gato", accepted, "es")


def test_exact_answer_reports_the_matching_accepted_answer() -> None:
    result = check_answer("¡Me gusta!", ["Me gusta.", "¡Me gusta!"], "es")
    assert result == AnswerCheck(True, False, "Me gusta.", None, [])


def test_unknown_language_uses_language_independent_rules() -> None:
    assert verdict(check_answer("Bom dia", ["Bom dia!"], "pt-BR")) == "exact"
    assert verdict(check_answer("o cao", ["o cão"], "pt")) == "typo"
    assert verdict(check_answer("o gato", ["o cão"], "zz")) == "wrong"


# --- The LibreLingo course ------------------------------------------------------------


def librelingo_skills() -> list[Path]:
    """The course's skill files, as its course.yaml and module.yaml files list them, then
    the drafts left in the skills folders (listed in module.yaml but commented out)."""
    course = yaml.safe_load((LIBRELINGO / "course.yaml").read_text(encoding="utf-8"))
    skills: list[Path] = []
    for module_name in course["Modules"]:
        module_dir = LIBRELINGO / module_name
        module = yaml.safe_load((module_dir / "module.yaml").read_text(encoding="utf-8"))
        listed = [module_dir / "skills" / name for name in module["Skills"]]
        drafts = sorted(set((module_dir / "skills").glob("*.yaml")) - set(listed))
        skills += listed + drafts
    return skills


def accepted_lists(skill: Path) -> list[tuple[str, list[str]]]:
    """(language, accepted answers) for every word and phrase of a skill, both ways."""
    data = yaml.safe_load(skill.read_text(encoding="utf-8"))
    lists: list[tuple[str, list[str]]] = []
    for word in data.get("New words") or []:
        lists.append(("es", [word["Word"], *(word.get("Synonyms") or [])]))
        lists.append(("en", [word["Translation"], *(word.get("Also accepted") or [])]))
    for phrase in data.get("Phrases") or []:
        # "Alternative" (once, in continuous.yaml) is a misspelt "Alternative versions";
        # "Also accepted" (on a few phrases) lists more English translations.
        spanish = phrase.get("Alternative versions") or phrase.get("Alternative") or []
        english = [
            *(phrase.get("Alternative translations") or []),
            *(phrase.get("Also accepted") or []),
        ]
        lists.append(("es", [phrase["Phrase"], *spanish]))
        lists.append(("en", [phrase["Translation"], *english]))
    return [(language, [str(text) for text in texts]) for language, texts in lists]


def test_librelingo_course_is_loaded() -> None:
    skills = librelingo_skills()
    assert len(skills) >= 11
    forms = sum(len(texts) for skill in skills for _, texts in accepted_lists(skill))
    assert forms > 400


def without_final_punctuation(text: str) -> str:
    return re.sub(r"[\s.!?…]+$", "", text)


@pytest.mark.parametrize("skill", librelingo_skills(), ids=lambda path: path.stem)
def test_librelingo_accepted_answers_are_accepted(skill: Path) -> None:
    for language, accepted in accepted_lists(skill):
        for form in accepted:
            for typed in (form, without_final_punctuation(form).lower()):
                result = check_answer(typed, accepted, language)
                assert verdict(result) == "exact", (typed, accepted, result)
                assert normalise(result.expected, language) == normalise(form, language)
            # Typed without accents, in NFD, or with typographic apostrophes: never wrong.
            for typed in (
                fold(form),
                unicodedata.normalize("NFD", form),
                form.replace("'", "\u2019"),
                form.replace("'", ""),
            ):
                assert check_answer(typed, accepted, language).correct, (typed, accepted)
