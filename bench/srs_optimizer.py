"""Does fitting personal FSRS parameters predict a learner's memory better than the defaults?

Simulates learners whose memory follows KNOWN FSRS-6 parameters that differ clearly from the
defaults (one forgets fast, one remembers well, one whose memories strengthen slowly), with
py-fsrs as the ground-truth memory model. Every day each learner studies a few new cards and
reviews the cards that are due, scheduled with the DEFAULT parameters as a new learner's
would be. A review is recalled with probability equal to the card's true retrievability at
that moment (random.Random(seed)); a lapse is rated Again, a recall Hard, Good or Easy.

Each learner's reviews are split chronologically: the first 80% train
`linguo.srs.optimizer.fit_parameters`, the last 20% are held out. The table compares the
held-out log loss of the default, fitted and true parameters (the true ones are the floor
no fit can beat on average), and the script exits with status 1 when the fitted parameters
are not better than the defaults on average, so it is a real check.

Learners review at a fixed local time, in time zones without daylight saving time and with no
learning steps, so py-fsrs's 24-hour day count (the ground truth) and fsrs-rs's local
calendar-day count (the fit) agree.

Run:  .venv/bin/python bench/srs_optimizer.py [--learners N] [--cards N] [--days N] [--seed S]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fsrs import Card, Rating, Scheduler

from linguo.srs.optimizer import (
    DEFAULT_PARAMETERS,
    NotEnoughReviews,
    ReviewEvent,
    fit_parameters,
    log_loss,
)

FIRST_RATINGS = ((1, 2, 3, 4), (0.20, 0.15, 0.50, 0.15))
"""A new card's first rating (Again, Hard, Good, Easy) and how often each is given."""
RECALL_RATINGS = ((2, 3, 4), (0.15, 0.70, 0.15))
"""The rating of a recalled card (Hard, Good, Easy) and how often each is given."""
TRAIN_SHARE = 0.8
INTRODUCTION_SHARE = 0.6
"""New cards are spread over this share of the simulated days."""


def perturbed(changes: dict[int, float], *, initial_stability_factor: float) -> tuple[float, ...]:
    """The default parameters with the four initial stabilities scaled and `changes` applied."""
    weights = list(DEFAULT_PARAMETERS)
    for index in range(4):
        weights[index] *= initial_stability_factor
    for index, value in changes.items():
        weights[index] = value
    return tuple(weights)


@dataclass(frozen=True)
class Profile:
    """A kind of learner: their true memory parameters and when they study."""

    name: str
    parameters: tuple[float, ...]
    tz: ZoneInfo
    session_hour: int
    changed: tuple[int, ...] = ()


PROFILES = (
    Profile(
        "forgetful",
        # Low initial stabilities, slow stability growth (w8), weak relearning (w11),
        # a steeper forgetting curve (w20).
        perturbed({8: 1.2, 11: 0.9, 20: 0.25}, initial_stability_factor=0.35),
        ZoneInfo("Asia/Tokyo"),
        7,
        (0, 1, 2, 3, 8, 11, 20),
    ),
    Profile(
        "strong memory",
        # High initial stabilities, fast growth (w8) that slows less as stability rises (w9),
        # a flatter forgetting curve (w20).
        perturbed({8: 2.6, 9: 0.1, 20: 0.1}, initial_stability_factor=3.0),
        ZoneInfo("America/Sao_Paulo"),
        22,
        (0, 1, 2, 3, 8, 9, 20),
    ),
    Profile(
        "slow growth",
        # Default initial stabilities, but stability grows slowly with each recall (w8), and
        # even less for well-recalled cards (w10), with a steeper forgetting curve (w20).
        perturbed({8: 1.1, 10: 0.5, 20: 0.2}, initial_stability_factor=1.0),
        ZoneInfo("Asia/Kolkata"),
        19,
        (8, 10, 20),
    ),
)


def simulate(profile: Profile, *, cards: int, days: int, rng: random.Random) -> list[ReviewEvent]:
    """A learner's reviews over `days` days: `cards` new cards, spread over the first 60%."""
    no_steps: tuple[timedelta, ...] = ()
    truth = Scheduler(
        profile.parameters, learning_steps=no_steps, relearning_steps=no_steps, enable_fuzzing=False
    )
    scheduling = Scheduler(
        DEFAULT_PARAMETERS, learning_steps=no_steps, relearning_steps=no_steps, enable_fuzzing=False
    )
    new_per_day = math.ceil(cards / max(1, int(days * INTRODUCTION_SHARE)))
    first_session = datetime(2025, 1, 6, profile.session_hour, tzinfo=profile.tz)
    memory: list[Card] = []  # the learner's true memory of each card
    schedule: list[Card] = []  # the app's view of each card (default parameters)
    reviews: list[ReviewEvent] = []
    for day in range(days):
        session = (first_session + timedelta(days=day)).astimezone(UTC)
        for _ in range(min(new_per_day, cards - len(memory))):
            # Explicit ids (Card() sleeps 1 ms to make one) and due now (not at the wall clock).
            memory.append(Card(card_id=len(memory) + 1, due=session))
            schedule.append(Card(card_id=len(schedule) + 1, due=session))
        for number in range(len(memory)):
            # The same second of the session every day, so a card's reviews are whole days apart.
            at = session + timedelta(seconds=number)
            if schedule[number].due > at:
                continue
            if memory[number].last_review is None:
                rating = rng.choices(*FIRST_RATINGS)[0]
            elif rng.random() < truth.get_card_retrievability(memory[number], at):
                rating = rng.choices(*RECALL_RATINGS)[0]
            else:
                rating = 1
            memory[number], _ = truth.review_card(memory[number], Rating(rating), at)
            schedule[number], _ = scheduling.review_card(schedule[number], Rating(rating), at)
            reviews.append(ReviewEvent(f"card-{number}", at, rating))
    return reviews


@dataclass(frozen=True)
class Result:
    """One learner's outcome."""

    learner: str
    profile: Profile
    train_reviews: int
    held_out_reviews: int
    default_loss: float
    fitted_loss: float
    true_loss: float
    fit_seconds: float
    fitted: list[float]

    @property
    def improvement(self) -> float:
        """Relative reduction of the held-out log loss, fitted vs default."""
        return (self.default_loss - self.fitted_loss) / self.default_loss


def run_learner(number: int, *, cards: int, days: int, seed: int) -> Result:
    """Simulate one learner, fit on the first 80% of their reviews, score the rest."""
    profile = PROFILES[number % len(PROFILES)]
    reviews = simulate(profile, cards=cards, days=days, rng=random.Random(seed * 1000 + number))
    reviews.sort(key=lambda review: review.reviewed_at)
    cutoff = reviews[int(len(reviews) * TRAIN_SHARE)].reviewed_at
    train = [review for review in reviews if review.reviewed_at < cutoff]
    started = time.perf_counter()
    fitted = fit_parameters(train, tz=profile.tz)
    fit_seconds = time.perf_counter() - started
    return Result(
        learner=f"#{number + 1} {profile.name}",
        profile=profile,
        train_reviews=len(train),
        held_out_reviews=len(reviews) - len(train),
        default_loss=log_loss(DEFAULT_PARAMETERS, reviews, since=cutoff),
        fitted_loss=log_loss(fitted, reviews, since=cutoff),
        true_loss=log_loss(profile.parameters, reviews, since=cutoff),
        fit_seconds=fit_seconds,
        fitted=fitted,
    )


def print_results(results: list[Result]) -> None:
    """The comparison table, then the changed parameters: default, true and fitted."""
    header = (
        f"{'learner':<18} {'train':>6} {'held-out':>8} {'default LL':>10} {'fitted LL':>10}"
        f" {'true LL':>8} {'improvement':>11} {'fit time':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.learner:<18} {r.train_reviews:>6} {r.held_out_reviews:>8}"
            f" {r.default_loss:>10.4f} {r.fitted_loss:>10.4f} {r.true_loss:>8.4f}"
            f" {r.improvement:>+11.1%} {r.fit_seconds * 1000:>7.0f}ms"
        )
    print("-" * len(header))
    print(
        f"{'mean':<18} {'':>6} {'':>8}"
        f" {statistics.fmean(r.default_loss for r in results):>10.4f}"
        f" {statistics.fmean(r.fitted_loss for r in results):>10.4f}"
        f" {statistics.fmean(r.true_loss for r in results):>8.4f}"
        f" {statistics.fmean(r.improvement for r in results):>+11.1%}"
    )
    print("\nParameters the learners' memories differ in (default / true / fitted):")
    for r in results:
        cells = "  ".join(
            f"w{i}={DEFAULT_PARAMETERS[i]:.3g}/{r.profile.parameters[i]:.3g}/{r.fitted[i]:.3g}"
            for i in r.profile.changed
        )
        print(f"  {r.learner:<18} {cells}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when fitted parameters beat the defaults on average, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--learners", type=int, default=3, help="simulated learners (default 3)")
    parser.add_argument("--cards", type=int, default=800, help="cards per learner (default 800)")
    parser.add_argument("--days", type=int, default=240, help="days simulated (default 240)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.learners < 1 or args.cards < 1 or args.days < 2:
        parser.error("need at least 1 learner, 1 card and 2 days")

    started = time.perf_counter()
    try:
        results = [
            run_learner(number, cards=args.cards, days=args.days, seed=args.seed)
            for number in range(args.learners)
        ]
    except NotEnoughReviews as exc:
        parser.error(f"too little simulated data, raise --cards or --days ({exc})")
    print_results(results)
    print(f"\nTotal {time.perf_counter() - started:.1f}s (simulation, fits and scoring).")

    default = statistics.fmean(r.default_loss for r in results)
    fitted = statistics.fmean(r.fitted_loss for r in results)
    if fitted >= default:
        print(f"FAIL: fitted parameters ({fitted:.4f}) not better than defaults ({default:.4f})")
        return 1
    print(f"OK: fitted parameters beat the defaults ({fitted:.4f} < {default:.4f} mean log loss)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
