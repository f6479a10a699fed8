"""French grammar: Grammalecte (Debian `python3-grammalecte`, pure Python).

Debian installs Grammalecte under /usr/lib/python3/dist-packages, which a virtualenv does
not see. `import grammalecte` is tried first (a venv where it is installed or linked);
otherwise the package folder is looked for in `GRAMMALECTE_PATHS` and imported from there
under its own name (its engine imports its submodules as "grammalecte.fr..."), without
putting the rest of Debian's dist-packages on `sys.path`.

Grammalecte's purely typographic options are off (typographic apostrophes and quotes,
non-breaking spaces, spaces, ligatures, number and unit formatting, inclusive writing,
OCR, Markdown/LaTeX, comma advice, repetitions); what is left is mapped to our codes by
Grammalecte's option (its error `sType`): `gn` (agreement of determiners, nouns and
adjectives), `conj` (subject-verb), `ppas` (participles and adjectives after être/avoir),
`vmode` (subjunctive, "si" + conditional), `infi`, `imp`, `conf` (a/à and other
confusions), `eleu` (elisions, ma/mon amie), `maj` (capitals), `tu` and `inte` (hyphens),
`loc`, `bs`, `pleo` (word choice).

For a gender or number clash Grammalecte reports both words ("La chien": "La" -> "Le" and
"chien" -> "chienne"). They become one error over both words whose suggestion is the fix
that leaves the sentence with fewer agreement errors when re-checked ("Le chien", but
"une bonne" in "une bon idée").
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from linguo.language.analysis.loading import DetectorUnavailable, Lazy
from linguo.language.analysis.model import ErrorCategory, Finding

__all__ = ["GRAMMALECTE_PATHS", "GrammalecteDetector", "import_grammalecte"]

GRAMMALECTE_PATHS = ("/usr/lib/python3/dist-packages", "/usr/share/grammalecte")

# Options switched off: typography, layout and style, not the learner's French.
_OFF = (
    "typo",
    "apos",
    "eepi",
    "esp",
    "tab",
    "nbsp",
    "num",
    "unit",
    "nf",
    "liga",
    "mapos",
    "chim",
    "ocr",
    "minis",
    "poncfin",
    "virg",
    "latex",
    "md",
    "html",
    "mc",
    "idrule",
    "redon1",
    "redon2",
    "neg",
)
_FRENCH_DETERMINERS = frozenset(
    [
        "le",
        "la",
        "les",
        "l",
        "un",
        "une",
        "des",
        "du",
        "au",
        "aux",
        "mon",
        "ma",
        "mes",
        "ton",
        "ta",
        "tes",
        "son",
        "sa",
        "ses",
        "notre",
        "nos",
        "votre",
        "vos",
        "leur",
        "leurs",
        "ce",
        "cet",
        "cette",
        "ces",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "tout",
        "toute",
        "tous",
        "toutes",
        "aucun",
        "aucune",
        "chaque",
        "plusieurs",
        "quelques",
        "certains",
        "certaines",
    ]
)
_FRENCH_ARTICLES = frozenset(["le", "la", "les", "l", "un", "une", "des", "du", "au", "aux"])
_CONTRACTIONS = frozenset({"au", "aux", "du", "des"})
_AGREEMENT_TYPES = frozenset({"gn", "conj", "ppas"})
_PAIR_SUFFIX = re.compile(r"_a\d+_\d+$")
_QUOTED = re.compile(r"[«“]\s*([^»”]+?)\s*[»”]")
_GENDER = re.compile(r"(masculin|féminin)")
_NUMBER = re.compile(r"\b(pluriel|singulier)\b")
_PERSON = re.compile(r"(\d)ᵉ personne du (singulier|pluriel)")


def import_grammalecte(paths: Iterable[str] = GRAMMALECTE_PATHS) -> ModuleType:
    """The `grammalecte` package: importable already, or from one of `paths`."""
    try:
        return importlib.import_module("grammalecte")
    except ImportError:
        pass
    for folder in paths:
        package = Path(folder) / "grammalecte"
        init = package / "__init__.py"
        if not init.is_file():
            continue
        spec = importlib.util.spec_from_file_location(
            "grammalecte", init, submodule_search_locations=[str(package)]
        )
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules["grammalecte"] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules["grammalecte"]
            raise
        return module
    raise DetectorUnavailable(
        f"Grammalecte not found (Debian package python3-grammalecte; looked in {', '.join(paths)})"
    )


@dataclass(slots=True)
class _Engine:
    engine: Any  # grammalecte.fr: parse(text, country, dOptions=...)
    options: dict[str, bool]
    lock: threading.Lock

    def parse(self, text: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.engine.parse(text, "FR", dOptions=self.options))


_FIRST_PARSE = "Je suis là."


def _load(paths: tuple[str, ...]) -> _Engine:
    grammalecte = import_grammalecte(paths)
    checker = grammalecte.GrammarChecker("fr")
    engine = checker.getGCEngine()
    options = dict(engine.getDefaultOptions())
    options.update(dict.fromkeys(_OFF, False))
    loaded = _Engine(engine, options, threading.Lock())
    # Grammalecte builds its rule graphs (some 30,000 objects) at its first parse: build
    # them now, with the rest of the model, not in the middle of a learner's first turn.
    loaded.parse(_FIRST_PARSE)
    return loaded


class GrammalecteDetector:
    """French agreement, conjugation, mood, confusions, elisions."""

    name = "grammalecte"

    def __init__(self, paths: Iterable[str] = GRAMMALECTE_PATHS) -> None:
        folders = tuple(paths)
        self._engine = Lazy("grammalecte", lambda: _load(folders))

    def supports(self, language: str) -> bool:
        """French only."""
        return language == "fr"

    def load(self, language: str) -> None:
        """Load Grammalecte now (`DetectorUnavailable` if it is missing)."""
        self._engine.get()

    def detect(self, text: str, language: str) -> list[Finding]:
        """Grammalecte's grammar errors in `text`, typography left out."""
        engine = self._engine.get()
        raw = [error for error in engine.parse(text) if error.get("sType") not in _OFF]
        findings: list[Finding] = []
        for group in _pairs(raw):
            finding = _finding(text, group[0]) if len(group) == 1 else _merged(engine, text, group)
            if finding is not None:
                findings.append(finding)
        return findings


def _pairs(errors: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The errors grouped by rule: the two sides of one clash come from one rule."""
    groups: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    for index, error in enumerate(errors):
        rule = str(error.get("sRuleId", ""))
        key = _PAIR_SUFFIX.sub("", rule) if error.get("sType") == "gn" else f"{rule}#{index}"
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(error)
    return [groups[key] for key in order]


def _suggestion(error: dict[str, Any], text: str) -> str | None:
    suggestions = [s for s in error.get("aSuggestions") or [] if isinstance(s, str)]
    if not suggestions:
        return None
    suggestion = suggestions[0]
    if "\u2019" not in text:
        suggestion = suggestion.replace("\u2019", "'")  # keep the learner's apostrophes
    return suggestion


def _agreement_errors(engine: _Engine, text: str, start: int, end: int) -> int:
    return sum(
        1
        for error in engine.parse(text)
        if error.get("sType") in _AGREEMENT_TYPES
        and error["nStart"] < end + 20
        and error["nEnd"] > start - 20
    )


def _merged(engine: _Engine, text: str, group: list[dict[str, Any]]) -> Finding | None:
    """One error for the two sides of a clash, with the better of their fixes."""
    start = min(error["nStart"] for error in group)
    end = max(error["nEnd"] for error in group)
    best: tuple[int, int, dict[str, Any], str] | None = None
    for index, error in enumerate(group):
        suggestion = _suggestion(error, text)
        if suggestion is None:
            continue
        fixed = text[: error["nStart"]] + suggestion + text[error["nEnd"] :]
        remaining = _agreement_errors(engine, fixed, start, end)
        if best is None or (remaining, index) < best[:2]:
            best = (remaining, index, error, fixed)
    if best is None:
        return _finding(text, group[0])
    _, _, chosen, fixed = best
    single = _finding(text, chosen)
    if single is None:
        return None
    shift = len(fixed) - len(text)
    params = dict(single.params)
    params["word"] = text[chosen["nStart"] : chosen["nEnd"]]
    return Finding(
        code=single.code,
        category=single.category,
        span=(start, end),
        suggestion=fixed[start : end + shift],
        params=params,
        detail=single.detail,
    )


def _finding(text: str, error: dict[str, Any]) -> Finding | None:
    kind = str(error.get("sType", ""))
    rule = str(error.get("sRuleId", ""))
    message = str(error.get("sMessage", ""))
    start, end = int(error["nStart"]), int(error["nEnd"])
    word = text[start:end]
    suggestion = _suggestion(error, text)
    if kind == "conf":
        # "à le": Grammalecte offers "a le" (a confusion with avoir) before "au".
        contractions = [s for s in error.get("aSuggestions") or [] if s in _CONTRACTIONS]
        if contractions:
            suggestion = contractions[0]
    # "Je " -> "J'": the elided word and the next one become one span ("Je ai" -> "J'ai").
    if kind == "eleu" and suggestion and suggestion[-1] in "'\u2019" and word.endswith(" "):
        following = re.match(r"\s*\S+?(?=[\s,.;:!?]|$)", text[end:])
        if following:
            suggestion += following.group().strip()
            end += following.end()
    params: dict[str, str] = {}
    quoted = [q.rstrip("…. ").strip() for q in _QUOTED.findall(message)]
    others = [q for q in quoted if q and q.lower() != word.strip().lower()]
    if others:
        params["other"] = others[0]
    code, category = _classify(kind, rule, message, word, suggestion, params)
    if code is None:
        return None
    return Finding(
        code=code,
        category=category,
        span=(start, end),
        suggestion=suggestion,
        params=params,
        detail=message or None,
    )


def _classify(
    kind: str,
    rule: str,
    message: str,
    word: str,
    suggestion: str | None,
    params: dict[str, str],
) -> tuple[str | None, ErrorCategory]:
    lowered = word.strip().lower()
    if kind == "gn":
        # A determiner of the wrong gender, or an article of the wrong number, is an
        # article error; a noun or adjective (or "quelques", "tous"...) an agreement one.
        bare = lowered.rstrip("'\u2019")
        gender_clash = "genre" in message
        article = bare in _FRENCH_DETERMINERS and (gender_clash or bare in _FRENCH_ARTICLES)
        category = ErrorCategory.ARTICLE_GENDER if article else ErrorCategory.AGREEMENT
        prefix = "article_gender" if article else "agreement"
        if gender_clash:
            # Grammalecte names the other word's gender: "« chien » est masculin",
            # "« La » est un déterminant féminin".
            if gender := _GENDER.search(message):
                params["gender"] = "masc" if gender.group(1) == "masculin" else "fem"
            return f"{prefix}.gender", category
        if number := _NUMBER.search(message):
            params["number"] = "plur" if number.group(1) == "pluriel" else "sing"
        return f"{prefix}.number", category
    if kind == "conj":
        if person := _PERSON.search(message):
            params["person"] = person.group(1)
            params["number"] = "plur" if person.group(2) == "pluriel" else "sing"
        return "conjugation.subject_verb", ErrorCategory.CONJUGATION
    if kind == "ppas":
        return "agreement.predicate", ErrorCategory.AGREEMENT
    if kind == "vmode":
        if "conditionnel" in message or "_si_" in rule:
            return "conjugation.si_clause", ErrorCategory.CONJUGATION
        return "conjugation.mood", ErrorCategory.CONJUGATION
    if kind == "infi":
        return "conjugation.infinitive", ErrorCategory.CONJUGATION
    if kind == "imp":
        return "conjugation.imperative", ErrorCategory.CONJUGATION
    if kind == "conf":
        target = (suggestion or "").strip().lower()
        if lowered == "a" and target == "à":
            return "preposition.a_accent", ErrorCategory.PREPOSITION
        if target in _CONTRACTIONS:
            return "preposition.contraction", ErrorCategory.PREPOSITION
        return "vocabulary.confusion", ErrorCategory.VOCABULARY
    if kind == "eleu":
        if lowered in ("ma", "ta", "sa"):
            return "article_gender.euphony", ErrorCategory.ARTICLE_GENDER
        return "spelling.elision", ErrorCategory.SPELLING
    if kind == "maj":
        if suggestion and suggestion[:1].isupper():
            return "spelling.capital", ErrorCategory.SPELLING
        return "spelling.lowercase", ErrorCategory.SPELLING
    if kind in ("tu", "inte"):
        return "spelling.hyphen", ErrorCategory.SPELLING
    if kind == "pleo":
        return "vocabulary.redundant", ErrorCategory.VOCABULARY
    if kind in ("loc", "bs"):
        return "vocabulary.general", ErrorCategory.VOCABULARY
    return "other.general", ErrorCategory.OTHER
