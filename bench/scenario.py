"""What simulated learners do, shared by the load test (bench/locustfile.py) and the
per-route CPU benchmark (bench/routes.py), which must not import locust (it patches the
standard library with gevent)."""

from __future__ import annotations

import random
from typing import Any

RATINGS = ((0, 1, 2, 3), (0.10, 0.15, 0.60, 0.15))
"""Review ratings (again, hard, good, easy) and how often learners give each."""

# What a beginner writes to the tutor: short sentences, a few with typical mistakes.
LEARNER_MESSAGES = {
    "fr": (
        "Bonjour, je m'appelle Sam et je suis étudiant à Paris.",
        "Hier je suis allé au marché avec mon ami et nous avons acheté des pommes.",
        "J'aime beaucoup le café le matin mais je ne bois pas de thé.",
        "Ma soeur est plus grand que moi et elle habite à Lyon.",
        "Le week-end je joue au football avec mes amis dans le parc.",
        "Je voudrais visiter la France parce que j'aime la cuisine française.",
        "Est-ce que tu peux m'aider avec mes devoirs de français ?",
        "Je suis fatigué parce que j'ai travaillé toute la journée.",
    ),
    "es": (
        "Hola, me llamo Sam y soy estudiante en Madrid.",
        "Ayer fui al mercado con mi amigo y compramos manzanas.",
        "Me gusta mucho el café por la mañana pero no bebo té.",
        "Mi hermana es más alto que yo y vive en Sevilla.",
    ),
    "en": (
        "Hello, my name is Sam and I am a student in London.",
        "Yesterday I goed to the market with my friend and we buyed apples.",
        "I like very much the coffee in the morning but I don't drink tea.",
    ),
}


def guess_answer(exercise: dict[str, Any], remembered: dict[str, str]) -> str:
    """The learner's answer: remembered from a previous mistake, else a plausible guess."""
    if exercise["id"] in remembered:
        return remembered[exercise["id"]]
    choices: list[str] = exercise.get("choices") or []
    if exercise["type"] in ("cards", "options") and choices:
        return random.choice(choices)
    if exercise["type"] == "chips" and choices:
        return " ".join(choices[: max(1, len(choices) // 2)])
    return exercise.get("prompt") or "bonjour"
