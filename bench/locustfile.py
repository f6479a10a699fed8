"""A day of learners using Linguo, for locust (`make bench` runs it; see bench/README.md).

Each simulated learner registers, logs in, and then, with 1-3 s of thinking between requests,
does what a learner does over a day, weighted by how often it happens: reviews words from
the spaced-repetition queue most often, plays lessons of the demo French course (`linguo
seed`), glances at their analytics, league and the shop, and now and then talks to the
(offline) tutor for three messages.

Learners cannot see answers, so they guess: a random option where there are options, the
word bank in order for chips, the prompt for typed exercises. Like a person, a learner
remembers the answer the server showed after a mistake and gives it the next time the same
exercise comes up, so learners pass lessons and move through the course during a long run.

Every request is named by its route ("POST /lessons/{id}/start"). Expected business
answers (409 `out_of_hearts`, `lesson_locked`, `attempt_finished`) count as successes;
anything else that is not the documented success status (5xx, 401, other 4xx, a body
without the expected fields) counts as a failure, with the error code in the message.

Measurement: with LINGUO_BENCH_MEASURE_SECONDS set, statistics are reset once every learner
has been spawned and has finished signing in (so the argon2 password hashing of a burst of
sign-ups does not count against the routes of a normal day), and the test stops that many
seconds later. Register/login timings of the ramp-up are kept apart and written, with the
measurement window, to LINGUO_BENCH_REPORT_FILE (JSON; bench/run.py reads it).
LINGUO_BENCH_LANGUAGE: the course language (default `fr`, the demo course).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import uuid
from typing import Any

import gevent
from bench.scenario import LEARNER_MESSAGES, RATINGS, guess_answer
from locust import FastHttpUser, between, events, task
from locust.env import Environment

API = "/api/v1"
SIGN_IN_ATTEMPTS = 3
LANGUAGE = os.environ.get("LINGUO_BENCH_LANGUAGE", "fr")
MEASURE_SECONDS = float(os.environ.get("LINGUO_BENCH_MEASURE_SECONDS", "0"))
AUTH_ROUTES = ("POST /auth/register", "POST /auth/login")
EXPECTED_CONFLICTS = frozenset({"out_of_hearts", "lesson_locked", "attempt_finished"})
auth_timings: dict[str, list[float]] = {route: [] for route in AUTH_ROUTES}
ramp_up_failures: dict[str, dict[str, int]] = {}
"""Failures before the measurement window, by route and error (the reset would drop them)."""
refusals: dict[str, int] = {}
"""Expected business refusals (409 out_of_hearts...) in the measured window, by route and code."""
window: dict[str, Any] = {"all_signed_in": False}
signed_in = 0
"""Learners that have finished on_start (whether or not signing in worked)."""


@events.request.add_listener
def _record_ramp_up(
    name: str, response_time: float, exception: BaseException | None, **_: Any
) -> None:
    if window["all_signed_in"]:
        return
    if exception is not None:
        errors = ramp_up_failures.setdefault(name, {})
        errors[str(exception)] = errors.get(str(exception), 0) + 1
    elif name in auth_timings:
        auth_timings[name].append(response_time)


def _measure(environment: Environment) -> None:
    runner = environment.runner
    assert runner is not None
    started = time.monotonic()
    while runner.state != "running" or signed_in < runner.target_user_count:
        gevent.sleep(0.1)
    runner.stats.reset_all()
    window.update(
        all_signed_in=True,
        sign_in_s=round(time.monotonic() - started, 1),
        reset_at=time.time(),
        users=runner.user_count,
    )
    gevent.sleep(MEASURE_SECONDS)
    window["measured_s"] = round(time.time() - window["reset_at"], 2)
    runner.quit()


@events.test_start.add_listener
def _start_measurement_window(environment: Environment, **_: Any) -> None:
    if MEASURE_SECONDS > 0 and environment.runner is not None:
        gevent.spawn(_measure, environment)


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "count": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max_ms": ordered[-1],
    }


def _route_figures(environment: Environment) -> dict[str, dict[str, Any]]:
    """Per route (and "Aggregated"): counts, requests/s over the window, percentiles in ms."""
    assert environment.runner is not None
    stats = environment.runner.stats
    seconds = window.get("measured_s") or max(time.time() - stats.total.start_time, 1e-3)
    figures = {}
    for name, entry in [
        *((entry.name, entry) for entry in stats.entries.values()),
        ("Aggregated", stats.total),
    ]:
        if entry.num_requests == 0:
            continue
        figures[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "requests_per_s": round(entry.num_requests / seconds, 2),
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p90_ms": entry.get_response_time_percentile(0.90),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
        }
    return figures


@events.quitting.add_listener
def _write_report(environment: Environment, **_: Any) -> None:
    path = os.environ.get("LINGUO_BENCH_REPORT_FILE")
    if not path or environment.runner is None:
        return
    runner = environment.runner
    report = {
        "window": window,
        "routes": _route_figures(environment),
        "failures": [
            {"route": error.name, "error": str(error.error), "occurrences": error.occurrences}
            for error in runner.stats.errors.values()
        ],
        "scenario_errors": [
            {"count": row["count"], "message": row["msg"], "traceback": row["traceback"]}
            for row in runner.exceptions.values()
        ],
        "sign_in": {route: _percentiles(times) for route, times in auth_timings.items() if times},
        "ramp_up_failures": ramp_up_failures,
        "refusals": refusals,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(report, file)


def _error_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return None


class Learner(FastHttpUser):
    """One learner's day: reviews most often, then lessons, glances, the odd conversation."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        """Sign up and sign in."""
        global signed_in
        # A client address of its own, as real learners have (the API trusts X-Forwarded-For
        # from loopback), so per-IP rate-limit counters are spread as in production.
        self.client_address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.1"
        self.email = f"bench-{uuid.uuid4().hex}@bench.linguo.dev"
        self.password = "bench-password-" + uuid.uuid4().hex[:12]
        self.token = ""
        self.course_id: str | None = None
        self.remembered: dict[str, str] = {}
        try:
            # A sign-up or sign-in can time out while the server is saturated; a learner
            # tries again (a 409 email_taken then means the first sign-up did land).
            for attempt in range(SIGN_IN_ATTEMPTS):
                if attempt > 0 and self._sign_in():
                    break
                self._call(
                    "POST",
                    "/auth/register",
                    "POST /auth/register",
                    201,
                    payload={
                        "email": self.email,
                        "password": self.password,
                        "full_name": "Bench Learner",
                        "native_language": "en",
                        "target_language": LANGUAGE,
                    },
                    allowed_conflicts=frozenset({"email_taken"}),
                )
                if self._sign_in():
                    break
                gevent.sleep(attempt + 1)
        finally:
            signed_in += 1

    def _sign_in(self) -> bool:
        """Log in; True once the learner holds an access token."""
        tokens = self._call(
            "POST",
            "/auth/login",
            "POST /auth/login",
            200,
            payload={"email": self.email, "password": self.password},
            needs=("access_token",),
        )
        self.token = tokens["access_token"] if isinstance(tokens, dict) else ""
        return bool(self.token)

    def _call(
        self,
        method: str,
        path: str,
        name: str,
        expected_status: int,
        *,
        payload: Any = None,
        needs: tuple[str, ...] = (),
        allowed_conflicts: frozenset[str] = frozenset(),
    ) -> Any:
        """One request; returns the JSON body, or None when it failed or was refused.

        `needs`: fields the client reads from an object body; a body without them fails.
        """
        headers = {"X-Forwarded-For": self.client_address}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with self.client.request(
            method, API + path, name=name, json=payload, headers=headers, catch_response=True
        ) as response:
            body: Any = None
            if response.content:
                try:
                    body = response.json()
                except ValueError:
                    body = None
            code = _error_code(body)
            if response.status_code == expected_status:
                missing = [key for key in needs if not isinstance(body, dict) or key not in body]
                if missing:
                    response.failure(f"{response.status_code} body lacks {', '.join(missing)}")
                    return None
                response.success()
                return body
            if response.status_code == 409 and code in allowed_conflicts:
                response.success()
                if window["all_signed_in"]:
                    refusals[f"{name} 409 {code}"] = refusals.get(f"{name} 409 {code}", 0) + 1
                return None
            detail = code or (response.text or "")[:120]
            response.failure(f"{response.status_code} {detail}")
            return None

    def think(self) -> None:
        """Pause between two actions within one task, like between two screens."""
        self.wait()

    @task(6)
    def review_words(self) -> None:
        """Open the review queue and review up to five words."""
        queue = self._call("GET", "/progress/queue?limit=5", "GET /progress/queue", 200)
        if not isinstance(queue, list):
            return
        for item in queue[:5]:
            if item.get("word_id") is None:
                continue
            self.think()
            self._call(
                "POST",
                "/progress/review",
                "POST /progress/review",
                200,
                payload={
                    "word_id": item["word_id"],
                    "rating": random.choices(*RATINGS)[0],
                    "response_time_ms": random.randint(1500, 9000),
                },
            )

    @task(3)
    def play_lesson(self) -> None:
        """List courses, open the course, play the next lesson to the end and finish it."""
        courses = self._call("GET", f"/courses?language={LANGUAGE}", "GET /courses", 200)
        if not courses:
            return
        self.course_id = self.course_id or courses[0]["id"]
        self.think()
        course = self._call(
            "GET", f"/courses/{self.course_id}", "GET /courses/{id}", 200, needs=("units",)
        )
        if not isinstance(course, dict):
            return
        lessons = [lesson for unit in course["units"] for lesson in unit["lessons"]]
        playable = [lesson for lesson in lessons if lesson["status"] == "available"]
        if not playable:  # everything passed (or nothing open): practise a passed lesson
            playable = [lesson for lesson in lessons if lesson["status"] == "passed"]
        if not playable:
            return
        lesson = playable[0] if random.random() < 0.8 else random.choice(playable)
        self.think()
        attempt = self._call(
            "POST",
            f"/lessons/{lesson['id']}/start",
            "POST /lessons/{id}/start",
            201,
            needs=("attempt_id", "exercises"),
            allowed_conflicts=EXPECTED_CONFLICTS,
        )
        if not isinstance(attempt, dict):
            return
        attempt_id = attempt["attempt_id"]
        for exercise in attempt["exercises"]:
            self.think()
            result = self._call(
                "POST",
                f"/attempts/{attempt_id}/answers",
                "POST /attempts/{id}/answers",
                200,
                payload={
                    "exercise_id": exercise["id"],
                    "answer": guess_answer(exercise, self.remembered),
                    "time_spent_ms": random.randint(2000, 12000),
                },
                needs=("correct", "expected"),
                allowed_conflicts=EXPECTED_CONFLICTS,
            )
            if result is None:  # out of hearts (or a failure already counted): stop playing
                break
            if not result["correct"]:
                self.remembered[exercise["id"]] = result["expected"]
        self.think()
        self._call(
            "POST",
            f"/attempts/{attempt_id}/finish",
            "POST /attempts/{id}/finish",
            200,
            needs=("score", "passed"),
        )

    @task(1)
    def talk_to_the_tutor(self) -> None:
        """Open a conversation, send three messages, end it."""
        created = self._call(
            "POST",
            "/sessions",
            "POST /sessions",
            201,
            payload={"planned_duration_minutes": 10, "topic": "daily life"},
            needs=("session", "assistant_turn"),
        )
        if not isinstance(created, dict):
            return
        session_id = created["session"]["id"]
        messages = LEARNER_MESSAGES.get(LANGUAGE, LEARNER_MESSAGES["fr"])
        for content in random.sample(messages, 3):
            self.think()
            turn = self._call(
                "POST",
                f"/sessions/{session_id}/messages",
                "POST /sessions/{id}/messages",
                200,
                payload={"content": content},
                needs=("assistant_turn", "error_feedback"),
            )
            if turn is None:
                return
        self.think()
        self._call(
            "PATCH",
            f"/sessions/{session_id}",
            "PATCH /sessions/{id}",
            200,
            payload={"status": "completed"},
        )

    @task(2)
    def read_analytics(self) -> None:
        """The progress screen."""
        self._call("GET", "/analytics/summary", "GET /analytics/summary", 200, needs=("xp",))

    @task(2)
    def read_leaderboard(self) -> None:
        """The league screen."""
        self._call("GET", "/leaderboard", "GET /leaderboard", 200, needs=("entries",))

    @task(1)
    def browse_shop(self) -> None:
        """The shop screen."""
        self._call("GET", "/shop", "GET /shop", 200)

    @task(2)
    def open_app(self) -> None:
        """The app's home screen loads the account (XP, streak, level)."""
        self._call("GET", "/users/me", "GET /users/me", 200, needs=("id",))
