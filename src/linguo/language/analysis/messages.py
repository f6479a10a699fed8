"""Messages and explanations for the learner, in English, French and Spanish.

Every error has a `code`, "<category>.<kind>". For each code and native language there are
two lists of templates: the short `message` (one line) and the `explanation` (why, and
how to fix it). The first template whose placeholders all have values is used, so the
most specific wording comes first. A code without templates falls back to its
category's "<category>.general" templates. When the explanation does not show the
suggestion itself, a "Write ..." sentence is added.

Placeholders: {word} (the mistaken text), {suggestion}, {other} (the word it must agree
with, or the word that triggers the rule), {gender}, {number}, {person}, {language} (the
language being learnt), {mark}. Words are quoted the native language's way ("..." in
English, « ... » in French, «...» in Spanish).
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from rapidfuzz.distance import DamerauLevenshtein

from linguo.language.analysis.model import ErrorCategory, Finding, Severity

__all__ = [
    "EXPLANATION_LANGUAGES",
    "explanation_language",
    "language_code",
    "render",
    "severity_for",
]

# Native languages with explanations; any other gets English.
EXPLANATION_LANGUAGES = ("en", "fr", "es")
_FALLBACK = "en"

_QUOTES = {
    "en": ("\u201c", "\u201d"),
    "fr": ("\u00ab\u00a0", "\u00a0\u00bb"),
    "es": ("\u00ab", "\u00bb"),
}

_LANGUAGE_NAMES = {
    "en": {"en": "English", "fr": "French", "es": "Spanish"},
    "fr": {"en": "anglais", "fr": "français", "es": "espagnol"},
    "es": {"en": "inglés", "fr": "francés", "es": "español"},
}
_GENDERS = {
    "en": {"masc": "masculine", "fem": "feminine"},
    "fr": {"masc": "masculin", "fem": "féminin"},
    "es": {"masc": "masculino", "fem": "femenino"},
}
_NUMBERS = {
    "en": {"sing": "singular", "plur": "plural"},
    "fr": {"sing": "singulier", "plur": "pluriel"},
    "es": {"sing": "singular", "plur": "plural"},
}
_PERSONS = {
    "en": {"1": "first person", "2": "second person", "3": "third person"},
    "fr": {"1": "première personne", "2": "deuxième personne", "3": "troisième personne"},
    "es": {"1": "primera persona", "2": "segunda persona", "3": "tercera persona"},
}
# "{person} {number}" as one phrase: "third person plural", "troisième personne du pluriel".
_PERSON_NUMBER = {
    "en": "{person} {number}",
    "fr": "{person} du {number}",
    "es": "{person} del {number}",
}
_WRITE = {"en": "Write {suggestion}.", "fr": "Écris {suggestion}.", "es": "Escribe {suggestion}."}
_REMOVE = {"en": "Remove {word}.", "fr": "Supprime {word}.", "es": "Quita {word}."}

_Templates = Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]

# code -> native language -> (message templates, explanation templates)
_TEMPLATES: dict[str, _Templates] = {
    # --- Spelling ----------------------------------------------------------------------
    "spelling.general": {
        "en": (("Check the spelling of {word}.",), ("Check the spelling of {word}.",)),
        "fr": (("Vérifie l'orthographe de {word}.",), ("Vérifie l'orthographe de {word}.",)),
        "es": (("Revisa la ortografía de {word}.",), ("Revisa la ortografía de {word}.",)),
    },
    "spelling.unknown_word": {
        "en": (
            ("Check the spelling of {word}.",),
            (
                "{word} is not in the {language} dictionary. Did you mean {suggestion}?",
                "{word} is not in the {language} dictionary: check its spelling.",
            ),
        ),
        "fr": (
            ("Vérifie l'orthographe de {word}.",),
            (
                "{word} n'est pas dans le dictionnaire {language}. "
                "Voulais-tu écrire {suggestion}\u00a0?",
                "{word} n'est pas dans le dictionnaire {language}\u00a0: vérifie son orthographe.",
            ),
        ),
        "es": (
            ("Revisa la ortografía de {word}.",),
            (
                "{word} no está en el diccionario de {language}. ¿Querías escribir {suggestion}?",
                "{word} no está en el diccionario de {language}: revisa su ortografía.",
            ),
        ),
    },
    "spelling.accent": {
        "en": (
            ("Check the accents of {word}.",),
            ("Write {suggestion}: in {language}, accents are part of the spelling.",),
        ),
        "fr": (
            ("Vérifie les accents de {word}.",),
            ("Écris {suggestion}\u00a0: en {language}, les accents font partie de l'orthographe.",),
        ),
        "es": (
            ("Revisa los acentos de {word}.",),
            ("Escribe {suggestion}: en {language}, los acentos forman parte de la ortografía.",),
        ),
    },
    "spelling.capital": {
        "en": (
            ("{word} needs a capital letter.",),
            ("In {language}, {suggestion} is written with a capital letter.",),
        ),
        "fr": (
            ("{word} prend une majuscule.",),
            ("En {language}, on écrit {suggestion} avec une majuscule.",),
        ),
        "es": (
            ("{word} lleva mayúscula.",),
            ("En {language}, {suggestion} se escribe con mayúscula.",),
        ),
    },
    "spelling.lowercase": {
        "en": (
            ("{word} takes a small letter.",),
            ("In {language}, {suggestion} is written without a capital letter here.",),
        ),
        "fr": (
            ("{word} s'écrit avec une minuscule.",),
            ("En {language}, on écrit {suggestion} sans majuscule ici.",),
        ),
        "es": (
            ("{word} se escribe con minúscula.",),
            ("En {language}, {suggestion} se escribe sin mayúscula aquí.",),
        ),
    },
    "spelling.elision": {
        "en": (
            ("Elision: {word}.",),
            (
                "Before a vowel or a silent h, French drops the last vowel of short words "
                "such as je, le, de or que: write {suggestion}, not {word}.",
                "Before a vowel or a silent h, French drops the last vowel of short words "
                "such as je, le, de or que.",
            ),
        ),
        "fr": (
            ("Élision\u00a0: {word}.",),
            (
                "Devant une voyelle ou un h muet, on élide\u00a0: écris {suggestion} "
                "et non {word}.",
                "Devant une voyelle ou un h muet, on élide les petits mots comme je, le, "
                "de ou que.",
            ),
        ),
        "es": (
            ("Elisión: {word}.",),
            (
                "Delante de vocal o de h muda, el francés elide la vocal de palabras cortas "
                "como je, le, de o que: escribe {suggestion}, no {word}.",
                "Delante de vocal o de h muda, el francés elide la vocal de palabras cortas "
                "como je, le, de o que.",
            ),
        ),
    },
    "spelling.hyphen": {
        "en": (
            ("Hyphen: {word}.",),
            ("Write {suggestion}: the hyphen is part of the spelling here.",),
        ),
        "fr": (
            ("Trait d'union\u00a0: {word}.",),
            ("Écris {suggestion}\u00a0: le trait d'union fait partie de l'orthographe ici.",),
        ),
        "es": (
            ("Guion: {word}.",),
            ("Escribe {suggestion}: el guion forma parte de la ortografía aquí.",),
        ),
    },
    "spelling.irregular": {
        "en": (
            ("Irregular form: {word}.",),
            (
                "{word} follows the regular rule, but this word is irregular: write {suggestion}.",
                "{word} follows the regular rule, but this word is irregular.",
            ),
        ),
        "fr": (
            ("Forme irrégulière\u00a0: {word}.",),
            (
                "{word} suit la règle générale, mais ce mot est irrégulier\u00a0: "
                "écris {suggestion}.",
                "{word} suit la règle générale, mais ce mot est irrégulier.",
            ),
        ),
        "es": (
            ("Forma irregular: {word}.",),
            (
                "{word} sigue la regla general, pero esta palabra es irregular: "
                "escribe {suggestion}.",
                "{word} sigue la regla general, pero esta palabra es irregular.",
            ),
        ),
    },
    # --- Agreement ---------------------------------------------------------------------
    "agreement.general": {
        "en": (
            ("Agreement: {word}.",),
            ("{word} does not agree with the words it goes with.",),
        ),
        "fr": (
            ("Accord\u00a0: {word}.",),
            ("{word} ne s'accorde pas avec les mots auxquels il se rapporte.",),
        ),
        "es": (
            ("Concordancia: {word}.",),
            ("{word} no concuerda con las palabras a las que acompaña.",),
        ),
    },
    "agreement.gender": {
        "en": (
            ("Gender agreement: {word}.",),
            (
                "{word} does not agree with {other}, which is {gender}.",
                "{word} does not agree in gender with {other}.",
                "{word} does not have the right gender here.",
            ),
        ),
        "fr": (
            ("Accord en genre\u00a0: {word}.",),
            (
                "{word} ne s'accorde pas avec {other}, qui est {gender}.",
                "{word} ne s'accorde pas en genre avec {other}.",
                "{word} n'a pas le bon genre ici.",
            ),
        ),
        "es": (
            ("Concordancia de género: {word}.",),
            (
                "{word} no concuerda con {other}, que es {gender}.",
                "{word} no concuerda en género con {other}.",
                "{word} no tiene el género correcto aquí.",
            ),
        ),
    },
    "agreement.number": {
        "en": (
            ("Number agreement: {word}.",),
            (
                "{word} should be {number}, like {other}.",
                "{word} does not agree in number with {other}.",
                "{word} should be {number} here.",
                "{word} does not agree in number with the words around it.",
            ),
        ),
        "fr": (
            ("Accord en nombre\u00a0: {word}.",),
            (
                "{word} devrait être au {number}, comme {other}.",
                "{word} ne s'accorde pas en nombre avec {other}.",
                "{word} devrait être au {number} ici.",
                "{word} ne s'accorde pas en nombre avec les mots qui l'entourent.",
            ),
        ),
        "es": (
            ("Concordancia de número: {word}.",),
            (
                "{word} debería estar en {number}, como {other}.",
                "{word} no concuerda en número con {other}.",
                "{word} debería estar en {number} aquí.",
                "{word} no concuerda en número con las palabras de alrededor.",
            ),
        ),
    },
    "agreement.predicate": {
        "en": (
            ("Agreement: {word}.",),
            (
                "{word} must agree in gender and number with {other}.",
                "{word} must agree in gender and number with the word it describes.",
            ),
        ),
        "fr": (
            ("Accord\u00a0: {word}.",),
            (
                "{word} doit s'accorder en genre et en nombre avec {other}.",
                "{word} doit s'accorder en genre et en nombre avec le mot auquel il se rapporte.",
            ),
        ),
        "es": (
            ("Concordancia: {word}.",),
            (
                "{word} debe concordar en género y número con {other}.",
                "{word} debe concordar en género y número con la palabra a la que se refiere.",
            ),
        ),
    },
    # --- Articles and gender -----------------------------------------------------------
    "article_gender.general": {
        "en": (
            ("Article: {word}.",),
            ("{word} is not the right article here.",),
        ),
        "fr": (
            ("Article\u00a0: {word}.",),
            ("{word} n'est pas le bon article ici.",),
        ),
        "es": (
            ("Artículo: {word}.",),
            ("{word} no es el artículo correcto aquí.",),
        ),
    },
    "article_gender.gender": {
        "en": (
            ("Article and gender: {word}.",),
            (
                "{word} does not agree with {other}, which is {gender}.",
                "{word} does not agree in gender with {other}.",
                "{word} does not have the gender of its noun.",
            ),
        ),
        "fr": (
            ("Article et genre\u00a0: {word}.",),
            (
                "{word} ne s'accorde pas avec {other}, qui est {gender}.",
                "{word} ne s'accorde pas en genre avec {other}.",
                "{word} n'a pas le genre de son nom.",
            ),
        ),
        "es": (
            ("Artículo y género: {word}.",),
            (
                "{word} no concuerda con {other}, que es {gender}.",
                "{word} no concuerda en género con {other}.",
                "{word} no tiene el género de su sustantivo.",
            ),
        ),
    },
    "article_gender.number": {
        "en": (
            ("Article and number: {word}.",),
            (
                "{word} should be {number}, like {other}.",
                "{word} does not agree in number with {other}.",
                "{word} does not have the number of its noun.",
            ),
        ),
        "fr": (
            ("Article et nombre\u00a0: {word}.",),
            (
                "{word} devrait être au {number}, comme {other}.",
                "{word} ne s'accorde pas en nombre avec {other}.",
                "{word} n'a pas le nombre de son nom.",
            ),
        ),
        "es": (
            ("Artículo y número: {word}.",),
            (
                "{word} debería estar en {number}, como {other}.",
                "{word} no concuerda en número con {other}.",
                "{word} no tiene el número de su sustantivo.",
            ),
        ),
    },
    "article_gender.a_an": {
        "en": (
            ("Use {suggestion} here.",),
            (
                "Use \u201can\u201d before a vowel sound and \u201ca\u201d before a "
                "consonant sound.",
            ),
        ),
        "fr": (
            ("Mets {suggestion} ici.",),
            (
                "En anglais, on écrit «\u00a0an\u00a0» devant un son voyelle et "
                "«\u00a0a\u00a0» devant un son consonne.",
            ),
        ),
        "es": (
            ("Usa {suggestion} aquí.",),
            (
                "En inglés, se usa «an» delante de un sonido vocálico y «a» delante de un "
                "sonido consonántico.",
            ),
        ),
    },
    "article_gender.euphony": {
        "en": (
            ("Use {suggestion} here.", "Possessive before a vowel: {word}."),
            (
                "Before a feminine word starting with a vowel or a silent h, French uses "
                "mon, ton, son instead of ma, ta, sa.",
            ),
        ),
        "fr": (
            ("Mets {suggestion} ici.", "Possessif devant une voyelle\u00a0: {word}."),
            (
                "Devant un mot féminin qui commence par une voyelle ou un h muet, on "
                "utilise mon, ton, son au lieu de ma, ta, sa.",
            ),
        ),
        "es": (
            ("Usa {suggestion} aquí.", "Posesivo delante de vocal: {word}."),
            (
                "Delante de una palabra femenina que empieza por vocal o h muda, el francés "
                "usa mon, ton, son en lugar de ma, ta, sa.",
            ),
        ),
    },
    # --- Conjugation -------------------------------------------------------------------
    "conjugation.general": {
        "en": (
            ("Verb form: {word}.",),
            ("{word} is not the right form of the verb here.",),
        ),
        "fr": (
            ("Conjugaison\u00a0: {word}.",),
            ("{word} n'est pas la bonne forme du verbe ici.",),
        ),
        "es": (
            ("Conjugación: {word}.",),
            ("{word} no es la forma correcta del verbo aquí.",),
        ),
    },
    "conjugation.subject_verb": {
        "en": (
            ("Verb form: {word}.",),
            (
                "{word} does not agree with its subject {other} ({person}).",
                "{word} does not agree with its subject {other}.",
                "{word} does not agree with its subject.",
            ),
        ),
        "fr": (
            ("Conjugaison\u00a0: {word}.",),
            (
                "{word} ne s'accorde pas avec son sujet {other} ({person}).",
                "{word} ne s'accorde pas avec son sujet {other}.",
                "{word} ne s'accorde pas avec son sujet.",
            ),
        ),
        "es": (
            ("Conjugación: {word}.",),
            (
                "{word} no concuerda con su sujeto {other} ({person}).",
                "{word} no concuerda con su sujeto {other}.",
                "{word} no concuerda con su sujeto.",
            ),
        ),
    },
    "conjugation.mood": {
        "en": (
            ("Verb mood: {word}.",),
            (
                "After {other}, the verb goes in the subjunctive.",
                "This verb is not in the right mood here.",
            ),
        ),
        "fr": (
            ("Mode du verbe\u00a0: {word}.",),
            (
                "Après {other}, le verbe se met au subjonctif.",
                "Ce verbe n'est pas au bon mode ici.",
            ),
        ),
        "es": (
            ("Modo verbal: {word}.",),
            (
                "Después de {other}, el verbo va en subjuntivo.",
                "Este verbo no está en el modo correcto aquí.",
            ),
        ),
    },
    "conjugation.si_clause": {
        "en": (
            ("Verb after \u201csi\u201d: {word}.",),
            ("After \u201csi\u201d (if), French uses the imperfect, not the conditional.",),
        ),
        "fr": (
            ("Verbe après «\u00a0si\u00a0»\u00a0: {word}.",),
            ("Après «\u00a0si\u00a0», on n'emploie pas le conditionnel mais l'imparfait.",),
        ),
        "es": (
            ("Verbo después de «si»: {word}.",),
            ("Después de «si», el francés usa el imperfecto, no el condicional.",),
        ),
    },
    "conjugation.infinitive": {
        "en": (
            ("Infinitive: {word}.",),
            ("This verb should be in the infinitive.",),
        ),
        "fr": (
            ("Infinitif\u00a0: {word}.",),
            ("Ce verbe devrait être à l'infinitif.",),
        ),
        "es": (
            ("Infinitivo: {word}.",),
            ("Este verbo debería ir en infinitivo.",),
        ),
    },
    "conjugation.imperative": {
        "en": (
            ("Imperative: {word}.",),
            ("{word} is not the right imperative form.",),
        ),
        "fr": (
            ("Impératif\u00a0: {word}.",),
            ("{word} n'est pas la bonne forme de l'impératif.",),
        ),
        "es": (
            ("Imperativo: {word}.",),
            ("{word} no es la forma correcta del imperativo.",),
        ),
    },
    "conjugation.after_did": {
        "en": (
            ("Verb form: {word}.",),
            (
                "After \u201cdid\u201d, \u201cdidn't\u201d or \u201cdoes\u201d, use the base "
                "form of the verb.",
            ),
        ),
        "fr": (
            ("Forme du verbe\u00a0: {word}.",),
            (
                "Après «\u00a0did\u00a0», «\u00a0didn't\u00a0» ou «\u00a0does\u00a0», "
                "l'anglais utilise la base verbale.",
            ),
        ),
        "es": (
            ("Forma verbal: {word}.",),
            ("Después de «did», «didn't» o «does», el inglés usa la forma base del verbo.",),
        ),
    },
    "conjugation.after_modal": {
        "en": (
            ("Verb form: {word}.",),
            ("After can, must, will, should and other modals, use the base form, without -s.",),
        ),
        "fr": (
            ("Forme du verbe\u00a0: {word}.",),
            (
                "Après can, must, will, should et les autres modaux, on met la base "
                "verbale, sans -s.",
            ),
        ),
        "es": (
            ("Forma verbal: {word}.",),
            ("Después de can, must, will, should y otros modales, se usa la forma base, sin -s.",),
        ),
    },
    "conjugation.gerund": {
        "en": (
            ("Verb form: {word}.",),
            (
                "In \u201clook forward to\u201d, \u201cto\u201d is a preposition: the verb "
                "takes -ing.",
            ),
        ),
        "fr": (
            ("Forme du verbe\u00a0: {word}.",),
            (
                "Dans «\u00a0look forward to\u00a0», «\u00a0to\u00a0» est une préposition\u00a0: "
                "le verbe prend -ing.",
            ),
        ),
        "es": (
            ("Forma verbal: {word}.",),
            ("En «look forward to», «to» es una preposición: el verbo va en -ing.",),
        ),
    },
    "conjugation.irregular": {
        "en": (
            ("Irregular verb: {word}.",),
            (
                "This verb is irregular: write {suggestion}, not {word}.",
                "This verb is irregular: {word} is not one of its forms.",
            ),
        ),
        "fr": (
            ("Verbe irrégulier\u00a0: {word}.",),
            (
                "Ce verbe est irrégulier\u00a0: écris {suggestion} et non {word}.",
                "Ce verbe est irrégulier\u00a0: {word} n'est pas une de ses formes.",
            ),
        ),
        "es": (
            ("Verbo irregular: {word}.",),
            (
                "Este verbo es irregular: escribe {suggestion}, no {word}.",
                "Este verbo es irregular: {word} no es una de sus formas.",
            ),
        ),
    },
    # --- Prepositions ------------------------------------------------------------------
    "preposition.general": {
        "en": (
            ("Preposition: {word}.",),
            ("{word} is not the right preposition here.",),
        ),
        "fr": (
            ("Préposition\u00a0: {word}.",),
            ("{word} n'est pas la bonne préposition ici.",),
        ),
        "es": (
            ("Preposición: {word}.",),
            ("{word} no es la preposición correcta aquí.",),
        ),
    },
    "preposition.a_accent": {
        "en": (
            ("Preposition: {word}.",),
            (
                "\u201ca\u201d is a form of the verb \u201cavoir\u201d (has); the "
                "preposition is \u201cà\u201d.",
            ),
        ),
        "fr": (
            ("Préposition\u00a0: {word}.",),
            ("«\u00a0a\u00a0» est le verbe avoir\u00a0; la préposition s'écrit «\u00a0à\u00a0».",),
        ),
        "es": (
            ("Preposición: {word}.",),
            ("«a» es una forma del verbo «avoir» (tener); la preposición se escribe «à».",),
        ),
    },
    "preposition.contraction": {
        "en": (
            ("Contraction: {word}.",),
            (
                "{word} contracts into {suggestion}.",
                "The preposition and the article contract into one word here.",
            ),
        ),
        "fr": (
            ("Contraction\u00a0: {word}.",),
            (
                "{word} se contracte en {suggestion}.",
                "La préposition et l'article se contractent en un seul mot ici.",
            ),
        ),
        "es": (
            ("Contracción: {word}.",),
            (
                "{word} se contrae en {suggestion}.",
                "La preposición y el artículo se contraen en una sola palabra aquí.",
            ),
        ),
    },
    "preposition.not_needed": {
        "en": (
            ("Preposition: {word}.",),
            ("No preposition is needed here.",),
        ),
        "fr": (
            ("Préposition\u00a0: {word}.",),
            ("Il ne faut pas de préposition ici.",),
        ),
        "es": (
            ("Preposición: {word}.",),
            ("Aquí no hace falta preposición.",),
        ),
    },
    # --- Word order --------------------------------------------------------------------
    "word_order.general": {
        "en": (
            ("Word order: {word}.",),
            ("The words are not in the usual order here.",),
        ),
        "fr": (
            ("Ordre des mots\u00a0: {word}.",),
            ("Les mots ne sont pas dans l'ordre habituel ici.",),
        ),
        "es": (
            ("Orden de las palabras: {word}.",),
            ("Las palabras no están en el orden habitual aquí.",),
        ),
    },
    "word_order.question": {
        "en": (
            ("Word order in a question: {word}.",),
            (
                "In an English question, the auxiliary comes before the subject: "
                "\u201cWhere are you going?\u201d.",
            ),
        ),
        "fr": (
            ("Ordre des mots dans une question\u00a0: {word}.",),
            (
                "Dans une question en anglais, l'auxiliaire se place avant le sujet\u00a0: "
                "«\u00a0Where are you going?\u00a0».",
            ),
        ),
        "es": (
            ("Orden en una pregunta: {word}.",),
            (
                "En una pregunta en inglés, el auxiliar va antes del sujeto: "
                "«Where are you going?».",
            ),
        ),
    },
    # --- Vocabulary --------------------------------------------------------------------
    "vocabulary.general": {
        "en": (
            ("Word choice: {word}.",),
            ("{word} does not fit here.",),
        ),
        "fr": (
            ("Choix du mot\u00a0: {word}.",),
            ("{word} ne convient pas ici.",),
        ),
        "es": (
            ("Elección de palabra: {word}.",),
            ("{word} no encaja aquí.",),
        ),
    },
    "vocabulary.confusion": {
        "en": (
            ("Word choice: {word}.",),
            (
                "{word} is easy to confuse with {suggestion}, the word that fits here.",
                "{word} is probably not the word you mean here.",
            ),
        ),
        "fr": (
            ("Choix du mot\u00a0: {word}.",),
            (
                "{word} se confond facilement avec {suggestion}, le mot qui convient ici.",
                "{word} n'est sans doute pas le mot que tu veux dire ici.",
            ),
        ),
        "es": (
            ("Elección de palabra: {word}.",),
            (
                "{word} se confunde fácilmente con {suggestion}, la palabra que corresponde aquí.",
                "{word} probablemente no es la palabra que quieres decir aquí.",
            ),
        ),
    },
    "vocabulary.redundant": {
        "en": (
            ("Repetition: {word}.",),
            (
                "{word} says the same thing twice: {suggestion} is enough.",
                "{word} says the same thing twice.",
            ),
        ),
        "fr": (
            ("Redondance\u00a0: {word}.",),
            (
                "{word} dit deux fois la même chose\u00a0: {suggestion} suffit.",
                "{word} dit deux fois la même chose.",
            ),
        ),
        "es": (
            ("Redundancia: {word}.",),
            (
                "{word} dice dos veces lo mismo: basta con {suggestion}.",
                "{word} dice dos veces lo mismo.",
            ),
        ),
    },
    "vocabulary.ser_estar": {
        "en": (
            ("Ser or estar: {word}.",),
            ("To say where someone is, Spanish uses \u201cestar\u201d, not \u201cser\u201d.",),
        ),
        "fr": (
            ("Ser ou estar\u00a0: {word}.",),
            (
                "Pour dire où se trouve quelqu'un, l'espagnol utilise «\u00a0estar\u00a0», "
                "pas «\u00a0ser\u00a0».",
            ),
        ),
        "es": (
            ("Ser o estar: {word}.",),
            ("Para decir dónde está alguien, se usa «estar», no «ser».",),
        ),
    },
    "vocabulary.ing_ed": {
        "en": (
            ("Word choice: {word}.",),
            (
                "Adjectives in -ing describe what causes a feeling (the music is interesting); "
                "adjectives in -ed describe how someone feels (I am interested in music).",
            ),
        ),
        "fr": (
            ("Choix du mot\u00a0: {word}.",),
            (
                "Les adjectifs en -ing décrivent ce qui provoque un sentiment (the music is "
                "interesting)\u00a0; ceux en -ed, ce que l'on ressent (I am interested in music).",
            ),
        ),
        "es": (
            ("Elección de palabra: {word}.",),
            (
                "Los adjetivos en -ing describen lo que provoca un sentimiento (the music is "
                "interesting); los terminados en -ed, lo que uno siente "
                "(I am interested in music).",
            ),
        ),
    },
    # --- Punctuation -------------------------------------------------------------------
    "punctuation.general": {
        "en": (
            ("Punctuation: {word}.",),
            ("Check the punctuation here.",),
        ),
        "fr": (
            ("Ponctuation\u00a0: {word}.",),
            ("Vérifie la ponctuation ici.",),
        ),
        "es": (
            ("Puntuación: {word}.",),
            ("Revisa la puntuación aquí.",),
        ),
    },
    "punctuation.apostrophe": {
        "en": (
            ("Apostrophe: {word}.",),
            ("{word} needs an apostrophe: {suggestion}.", "{word} needs an apostrophe."),
        ),
        "fr": (
            ("Apostrophe\u00a0: {word}.",),
            (
                "Il manque une apostrophe à {word}\u00a0: {suggestion}.",
                "Il manque une apostrophe à {word}.",
            ),
        ),
        "es": (
            ("Apóstrofo: {word}.",),
            ("A {word} le falta un apóstrofo: {suggestion}.", "A {word} le falta un apóstrofo."),
        ),
    },
    "punctuation.inverted_mark": {
        "en": (
            ("Opening {mark} missing.",),
            ("Spanish questions and exclamations open with ¿ or ¡ and close with ? or !.",),
        ),
        "fr": (
            ("Il manque le {mark} d'ouverture.",),
            (
                "En espagnol, les questions et les exclamations s'ouvrent par ¿ ou ¡ et se "
                "ferment par ? ou !.",
            ),
        ),
        "es": (
            ("Falta el signo de apertura {mark}.",),
            (
                "En español, las preguntas y exclamaciones se abren con ¿ o ¡ y se "
                "cierran con ? o !.",
            ),
        ),
    },
    # --- Other -------------------------------------------------------------------------
    "other.general": {
        "en": (
            ("Check {word}.",),
            ("Something is not quite right here.",),
        ),
        "fr": (
            ("Vérifie {word}.",),
            ("Quelque chose ne va pas tout à fait ici.",),
        ),
        "es": (
            ("Revisa {word}.",),
            ("Aquí hay algo que no está del todo bien.",),
        ),
    },
    "other.be_with_verb": {
        "en": (
            ("Extra \u201cto be\u201d: {word}.",),
            ("\u201cAgree\u201d is a verb: say \u201cI agree\u201d, without \u201cam\u201d.",),
        ),
        "fr": (
            ("«\u00a0to be\u00a0» en trop\u00a0: {word}.",),
            (
                "«\u00a0Agree\u00a0» est un verbe\u00a0: on dit «\u00a0I agree\u00a0», "
                "sans «\u00a0am\u00a0».",
            ),
        ),
        "es": (
            ("«to be» de más: {word}.",),
            ("«Agree» es un verbo: se dice «I agree», sin «am».",),
        ),
    },
    "other.double_comparative": {
        "en": (
            ("Comparative: {word}.",),
            ("Use either \u201cmore\u201d or the -er form, not both.",),
        ),
        "fr": (
            ("Comparatif\u00a0: {word}.",),
            ("Utilise soit «\u00a0more\u00a0», soit la forme en -er, mais pas les deux.",),
        ),
        "es": (
            ("Comparativo: {word}.",),
            ("Usa «more» o la forma en -er, pero no las dos.",),
        ),
    },
    "other.repeated_word": {
        "en": (("Repeated word: {word}.",), ("{word} is written twice.",)),
        "fr": (("Mot répété\u00a0: {word}.",), ("{word} est écrit deux fois.",)),
        "es": (("Palabra repetida: {word}.",), ("{word} está escrito dos veces.",)),
    },
}

# Codes that are minor by default (see `Severity`); every other code is major.
_MINOR_CODES = frozenset(
    {
        "spelling.accent",
        "spelling.capital",
        "spelling.lowercase",
        "spelling.hyphen",
        "spelling.elision",
        "other.repeated_word",
    }
)
_MINOR_CATEGORIES = frozenset({ErrorCategory.PUNCTUATION})


def language_code(language: str) -> str:
    """The ISO 639-1 part of a language tag: "fr-FR" -> "fr", "en_GB" -> "en"."""
    return language.strip().lower().replace("_", "-").split("-")[0]


def explanation_language(native_language: str) -> str:
    """The language explanations are written in: `native_language` if we have it, else en."""
    code = language_code(native_language)
    return code if code in EXPLANATION_LANGUAGES else _FALLBACK


def severity_for(finding: Finding, word: str) -> Severity:
    """The finding's own severity, else its code's default.

    An unknown word one edit away from its suggestion ("recieve") is a slip: minor.
    """
    if finding.severity is not None:
        return finding.severity
    if finding.code in _MINOR_CODES or finding.category in _MINOR_CATEGORIES:
        return Severity.MINOR
    if (
        finding.code == "spelling.unknown_word"
        and finding.suggestion
        and DamerauLevenshtein.distance(word.lower(), finding.suggestion.lower()) <= 1
    ):
        return Severity.MINOR
    return Severity.MAJOR


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _pick(templates: tuple[str, ...], values: Mapping[str, str]) -> tuple[str, str]:
    """The first template whose placeholders all have values, filled in, and the template."""
    for template in templates:
        if _fields(template) <= values.keys():
            return template.format_map(values), template
    last = templates[-1]
    return last.format_map({key: "" for key in _fields(last)} | dict(values)), last


def _values(finding: Finding, word: str, language: str, native: str) -> dict[str, str]:
    opening, closing = _QUOTES[native]
    values: dict[str, str] = {"word": f"{opening}{word}{closing}"}
    params = finding.params
    if finding.suggestion is not None:
        values["suggestion"] = f"{opening}{finding.suggestion}{closing}"
    if params.get("other"):
        values["other"] = f"{opening}{params['other']}{closing}"
    if params.get("mark"):
        values["mark"] = params["mark"]
    if (gender := params.get("gender")) in _GENDERS[native]:
        values["gender"] = _GENDERS[native][gender]
    number = params.get("number")
    if number in _NUMBERS[native]:
        values["number"] = _NUMBERS[native][number]
    if (person := params.get("person")) in _PERSONS[native] and number in _NUMBERS[native]:
        values["person"] = _PERSON_NUMBER[native].format(
            person=_PERSONS[native][person], number=_NUMBERS[native][number]
        )
    values["language"] = _LANGUAGE_NAMES[native].get(language, language)
    return values


def _templates(code: str, category: ErrorCategory) -> _Templates:
    return _TEMPLATES.get(code) or _TEMPLATES[f"{category}.general"]


def render(finding: Finding, word: str, language: str, native_language: str) -> tuple[str, str]:
    """The (message, explanation) of a finding about `word`, in `native_language`.

    `language` is the language of the learner's text. Native languages without
    explanations get English ones.
    """
    native = explanation_language(native_language)
    templates = _templates(finding.code, finding.category)
    messages, explanations = templates[native]
    values = _values(finding, word, language_code(language), native)
    message, _ = _pick(messages, values)
    explanation, template = _pick(explanations, values)
    if finding.suggestion is not None and "suggestion" not in _fields(template):
        extra = _WRITE[native] if finding.suggestion else _REMOVE[native]
        explanation = f"{explanation} {extra.format_map(values)}"
    return message, explanation


def all_codes() -> frozenset[str]:
    """Every code with its own templates (for tests and documentation)."""
    return frozenset(_TEMPLATES)
