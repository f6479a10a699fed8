"""Learner-error rules written for Linguo: patterns that need no model or dictionary.

Each rule targets one well-known mistake of learners and is written to be precise rather
than complete (it stays silent when unsure):

English (what Harper does not catch):
- a modal followed by a verb in -s: "she can sings" -> "sing" (`conjugation.after_modal`);
- "there is/was" before a plural quantity: "there is many people" -> "are";
- everybody/someone/nobody... with a plural verb: "everybody were" -> "was";
- "look forward to" + base verb: "look forward to see" -> "seeing" (`conjugation.gerund`);
- "to be" with "agree": "I am agree" -> "I agree" (`other.be_with_verb`);
- "to home" after a verb of movement: "went to home" (`preposition.not_needed`);
- "I am interesting in" -> "interested" (`vocabulary.ing_ed`);
- a wh-question without inversion: "Where you are going?" -> "Where are you"
  (`word_order.question`).

Spanish (besides the spaCy agreement rules of `spanish.py`):
- a question or exclamation without its opening ¿ or ¡ (`punctuation.inverted_mark`);
- "a el" / "de el" for "al" / "del" (`preposition.contraction`; "a él", the pronoun, and
  names such as "El Salvador" are left alone);
- ser for where someone is: "yo soy en Madrid" -> "estoy" (`vocabulary.ser_estar`;
  first and second persons only, since events use ser: "la fiesta es en mi casa").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from linguo.language.analysis.model import ErrorCategory, Finding
from linguo.language.analysis.textmap import sentences

__all__ = ["LearnerRulesDetector"]

_Rule = Callable[[str], Iterator[Finding]]
_I = re.IGNORECASE

# --- English -------------------------------------------------------------------------

_MODAL = re.compile(
    r"\b(?:can|could|will|would|shall|should|may|might|must|cannot|can't|couldn't|won't|"
    r"wouldn't|shouldn't|mustn't)(?:\s+not)?\s+(?:(?:also|really|never|always|still|"
    r"just|even|only)\s+)?([a-z]+s)\b",
    _I,
)
# Words in -s that may follow a modal and are not verbs in -s.
_NOT_VERBS_IN_S = frozenset(
    [
        "always",
        "sometimes",
        "perhaps",
        "besides",
        "towards",
        "afterwards",
        "nevertheless",
        "regardless",
        "as",
        "is",
        "was",
        "has",
        "does",
        "us",
        "his",
        "its",
        "this",
        "thus",
        "yes",
        "less",
        "unless",
        "across",
        "plus",
        "news",
        "series",
        "species",
        "whereas",
        "hers",
        "ours",
        "yours",
        "theirs",
        "anyways",
        "ones",
    ]
)
_THERE_IS = re.compile(
    r"\b(there)\s*(is|was|'s)\s+(many|several|few|a\s+few|two|three|four|five|six|seven|"
    r"eight|nine|ten|[2-9]|\d{2,})\s+([a-z]+)\b",
    _I,
)
_EVERYBODY = re.compile(
    r"\b(everybody|everyone|somebody|someone|nobody|anybody|anyone)\s+"
    r"(were|are|have|do|don't|haven't|aren't|weren't)\b",
    _I,
)
_SINGULAR_OF = {
    "were": "was",
    "are": "is",
    "have": "has",
    "do": "does",
    "don't": "doesn't",
    "haven't": "hasn't",
    "aren't": "isn't",
    "weren't": "wasn't",
}
_LOOK_FORWARD = re.compile(r"\blook(?:s|ed|ing)?\s+forward\s+to\s+([a-z]+)\b", _I)
# Verbs learners put after "look forward to", with their -ing forms.
_GERUNDS = {
    "see": "seeing",
    "meet": "meeting",
    "hear": "hearing",
    "visit": "visiting",
    "work": "working",
    "go": "going",
    "come": "coming",
    "talk": "talking",
    "speak": "speaking",
    "receive": "receiving",
    "get": "getting",
    "start": "starting",
    "learn": "learning",
    "travel": "traveling",
    "read": "reading",
    "watch": "watching",
    "have": "having",
    "be": "being",
    "do": "doing",
    "make": "making",
    "play": "playing",
    "join": "joining",
    "help": "helping",
    "share": "sharing",
    "spend": "spending",
    "celebrate": "celebrating",
    "welcome": "welcoming",
    "hearing": "hearing",
    "chat": "chatting",
    "discuss": "discussing",
    "try": "trying",
}
_BE_AGREE = re.compile(
    r"\b(?:(I)\s*'m|(I)\s+am|(you|we|they)\s*'re|(you|we|they)\s+are|(he|she|it)\s*'s|"
    r"(he|she|it)\s+is)\s+(not\s+)?(agree|disagree)\b",
    _I,
)
_TO_HOME = re.compile(
    r"\b(?:go|goes|going|gone|went|come|comes|coming|came|get|gets|getting|got|arrive|"
    r"arrives|arriving|arrived|return|returns|returning|returned|walk|walks|walked|drive|"
    r"drives|drove|run|runs|ran|head|heads|headed)\s+(to)\s+home\b",
    _I,
)
_ING_ED = re.compile(
    r"\b(?:I\s*'m|I\s+am|I\s+was|we\s*'re|we\s+are|we\s+were|are\s+you|were\s+you)\s+"
    r"(?:very\s+|so\s+|really\s+|quite\s+|not\s+)?(interesting)\s+in\b",
    _I,
)
_WH_QUESTION = re.compile(
    r"^((?:what|where|when|why|how|who|which)(?:\s+(?:long|much|many|old|often|far|time|"
    r"kind\s+of\s+\w+))?)\s+(I|you|he|she|it|we|they)\s+(am|are|is|was|were|can|could|will|"
    r"would|should|have|has)\b",
    _I,
)


def _english_modal(text: str) -> Iterator[Finding]:
    for match in _MODAL.finditer(text):
        word = match.group(1)
        lower = word.lower()
        if lower in _NOT_VERBS_IN_S or lower.endswith(("ss", "us", "is", "ous")) or len(lower) < 4:
            continue
        if word[0].isupper():
            continue
        yield Finding(
            code="conjugation.after_modal",
            category=ErrorCategory.CONJUGATION,
            span=match.span(1),
            suggestion=_base_form(word),
        )


def _base_form(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return word[:-2]
    return word[:-1]


def _english_there_is(text: str) -> Iterator[Finding]:
    for match in _THERE_IS.finditer(text):
        verb = match.group(2)
        plural = {"is": "are", "was": "were", "'s": "are"}[verb.lower()]
        if verb == "'s":
            start, end = match.start(1), match.end(2)
            suggestion = f"{match.group(1)} are"
        else:
            start, end = match.span(2)
            suggestion = plural
        yield Finding(
            code="conjugation.subject_verb",
            category=ErrorCategory.CONJUGATION,
            span=(start, end),
            suggestion=suggestion,
            params={"other": f"{match.group(3)} {match.group(4)}", "person": "3", "number": "plur"},
        )


def _english_everybody(text: str) -> Iterator[Finding]:
    for match in _EVERYBODY.finditer(text):
        verb = match.group(2)
        yield Finding(
            code="conjugation.subject_verb",
            category=ErrorCategory.CONJUGATION,
            span=match.span(2),
            suggestion=_SINGULAR_OF[verb.lower()],
            params={"other": match.group(1), "person": "3", "number": "sing"},
        )


def _english_look_forward(text: str) -> Iterator[Finding]:
    for match in _LOOK_FORWARD.finditer(text):
        verb = match.group(1).lower()
        if verb in _GERUNDS and not verb.endswith("ing"):
            yield Finding(
                code="conjugation.gerund",
                category=ErrorCategory.CONJUGATION,
                span=match.span(1),
                suggestion=_GERUNDS[verb],
            )


def _english_be_agree(text: str) -> Iterator[Finding]:
    for match in _BE_AGREE.finditer(text):
        subject = next(group for group in match.groups()[:6] if group)
        negative = match.group(7) is not None
        verb = match.group(8)
        third = subject.lower() in ("he", "she", "it")
        if negative:
            fixed = f"{subject} {'doesn' if third else 'don'}'t {verb}"
        else:
            fixed = f"{subject} {verb}{'s' if third else ''}"
        yield Finding(
            code="other.be_with_verb",
            category=ErrorCategory.OTHER,
            span=(match.start(), match.end()),
            suggestion=fixed,
        )


def _english_to_home(text: str) -> Iterator[Finding]:
    for match in _TO_HOME.finditer(text):
        yield Finding(
            code="preposition.not_needed",
            category=ErrorCategory.PREPOSITION,
            span=match.span(1),
            suggestion="",
        )


def _english_ing_ed(text: str) -> Iterator[Finding]:
    for match in _ING_ED.finditer(text):
        yield Finding(
            code="vocabulary.ing_ed",
            category=ErrorCategory.VOCABULARY,
            span=match.span(1),
            suggestion="interested",
        )


def _english_wh_question(text: str) -> Iterator[Finding]:
    for start, end in sentences(text):
        sentence = text[start:end]
        if not sentence.rstrip("\"')\u201d").endswith("?"):
            continue
        match = _WH_QUESTION.match(sentence)
        if match is None:
            continue
        wh, subject, verb = match.group(1), match.group(2), match.group(3)
        yield Finding(
            code="word_order.question",
            category=ErrorCategory.WORD_ORDER,
            span=(start, start + match.end()),
            suggestion=f"{wh} {verb} {subject}",
        )


# --- Spanish -------------------------------------------------------------------------

_QUESTION_WORDS = re.compile(
    r"(?:qu[eé]|c[oó]mo|d[oó]nde|ad[oó]nde|cu[aá]ndo|qui[eé]n(?:es)?|cu[aá]l(?:es)?|"
    r"cu[aá]nt[oa]s?|por\s+qu[eé])\b",
    _I,
)
# "a el" + a noun phrase; "a el" at the end or before a pronoun is "a él" without its
# accent ("se lo di a el", "a el le gusta"), not a contraction.
_CONTRACTION = re.compile(
    r"\b(a|de)\s+(el)\s+(?!(?:le|lo|la|les|los|me|te|se|nos|no|y|o|que|también|mismo|"
    r"solo|sí)\b)(?=[^\W\d_])",
    _I,
)
_SER_EN = re.compile(
    r"\b(soy|eres|somos|sois)\s+en\s+(?!realidad\b|serio\b|parte\b|general\b|contra\b|"
    r"favor\b|cambio\b|principio\b)",
    _I,
)
_ESTAR_OF = {"soy": "estoy", "eres": "estás", "somos": "estamos", "sois": "estáis"}


def _spanish_inverted_marks(text: str) -> Iterator[Finding]:
    for start, end in sentences(text):
        sentence = text[start:end]
        closing = sentence.rstrip("\"')\u201d\u00bb.")
        for mark, opening in (("?", "¿"), ("!", "¡")):
            if not closing.endswith(mark) or opening in sentence:
                continue
            # The question may start after a comma: "Hola, cómo estás?"
            offset = 0
            for comma in re.finditer(r",\s*", sentence):
                if _QUESTION_WORDS.match(sentence, comma.end()):
                    offset = comma.end()
            word = re.match(r"[^\W\d_]+", sentence[offset:])
            if word is None:
                continue
            begin = start + offset
            yield Finding(
                code="punctuation.inverted_mark",
                category=ErrorCategory.PUNCTUATION,
                span=(begin, begin + word.end()),
                suggestion=opening + word.group(),
                params={"mark": opening},
            )
            break


def _spanish_contractions(text: str) -> Iterator[Finding]:
    starts = {start for start, _ in sentences(text)}
    for match in _CONTRACTION.finditer(text):
        article_start = match.start(2)
        if match.group(2)[0] == "E" and article_start not in starts:
            continue  # "de El Salvador", "en El País"
        preposition = match.group(1)
        fixed = "al" if preposition.lower() == "a" else "del"
        if preposition[0].isupper():
            fixed = fixed.capitalize()
        yield Finding(
            code="preposition.contraction",
            category=ErrorCategory.PREPOSITION,
            span=(match.start(), match.end(2)),
            suggestion=fixed,
        )


def _spanish_ser_en(text: str) -> Iterator[Finding]:
    for match in _SER_EN.finditer(text):
        verb = match.group(1)
        fixed = _ESTAR_OF[verb.lower()]
        if verb[0].isupper():
            fixed = fixed.capitalize()
        yield Finding(
            code="vocabulary.ser_estar",
            category=ErrorCategory.VOCABULARY,
            span=match.span(1),
            suggestion=fixed,
        )


_RULES: dict[str, tuple[_Rule, ...]] = {
    "en": (
        _english_modal,
        _english_there_is,
        _english_everybody,
        _english_look_forward,
        _english_be_agree,
        _english_to_home,
        _english_ing_ed,
        _english_wh_question,
    ),
    "es": (_spanish_inverted_marks, _spanish_contractions, _spanish_ser_en),
}


class LearnerRulesDetector:
    """Linguo's own patterns for frequent learner mistakes (English and Spanish)."""

    name = "learner_rules"

    def supports(self, language: str) -> bool:
        """English and Spanish."""
        return language in _RULES

    def load(self, language: str) -> None:
        """Nothing to load."""

    def detect(self, text: str, language: str) -> list[Finding]:
        """Every rule of `language` over `text`."""
        return [finding for rule in _RULES[language] for finding in rule(text)]
