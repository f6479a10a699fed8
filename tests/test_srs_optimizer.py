"""Personal FSRS parameters: training items, fitting and scoring (pure functions, no servers)."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import fsrs
import fsrs_rs_python
import pytest
from fsrs import Card, Rating, Scheduler
from fsrs_rs_python import FSRSItem

from linguo.srs.optimizer import (
    DEFAULT_PARAMETERS,
    MIN_TRAINING_ITEMS,
    NotEnoughReviews,
    ReviewEvent,
    build_training_items,
    fit_parameters,
    log_loss,
)

NEW_YORK = ZoneInfo("America/New_York")

# A learner who forgets much faster than FSRS's defaults assume: low initial stabilities,
# slow stability growth (w8), weak relearning (w11), a steeper forgetting curve (w20).
FORGETFUL = list(DEFAULT_PARAMETERS)
FORGETFUL[0:4] = [w * 0.35 for w in DEFAULT_PARAMETERS[0:4]]
FORGETFUL[8], FORGETFUL[11], FORGETFUL[20] = 1.2, 0.9, 0.25


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Override conftest's database and Redis cleanup: these tests need neither."""
    yield


def at(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A local wall-clock time in `tz`, as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def shape(item: FSRSItem) -> list[tuple[int, int]]:
    """An item's reviews as (rating, delta_t) pairs (fsrs-rs exposes them only via repr)."""
    pairs = re.findall(r"rating: (\d+), delta_t: (-?\d+)", repr(item))
    assert len(pairs) == len(item.reviews)
    return [(int(rating), int(delta_t)) for rating, delta_t in pairs]


def simulate(parameters: list[float], *, cards: int, days: int, seed: int) -> list[ReviewEvent]:
    """A learner whose memory follows `parameters`, reviewing daily what the defaults schedule.

    Recall happens with the card's true retrievability; reviews fall at the same time of day,
    so py-fsrs's 24-hour days and fsrs-rs's calendar days agree.
    """
    rng = random.Random(seed)
    truth = Scheduler(parameters, learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    app = Scheduler(
        DEFAULT_PARAMETERS, learning_steps=(), relearning_steps=(), enable_fuzzing=False
    )
    start = datetime(2025, 3, 1, 18, tzinfo=UTC)
    new_per_day = math.ceil(cards / (days * 0.6))
    memory: list[Card] = []
    schedule: list[Card] = []
    reviews: list[ReviewEvent] = []
    for day in range(days):
        session = start + timedelta(days=day)
        for _ in range(min(new_per_day, cards - len(memory))):
            memory.append(Card(card_id=len(memory) + 1, due=session))
            schedule.append(Card(card_id=len(schedule) + 1, due=session))
        for n in range(len(memory)):
            now = session + timedelta(seconds=n)
            if schedule[n].due > now:
                continue
            if memory[n].last_review is None:
                rating = rng.choices((1, 2, 3, 4), (0.2, 0.15, 0.5, 0.15))[0]
            elif rng.random() < truth.get_card_retrievability(memory[n], now):
                rating = rng.choices((2, 3, 4), (0.15, 0.7, 0.15))[0]
            else:
                rating = 1
            memory[n], _ = truth.review_card(memory[n], Rating(rating), now)
            schedule[n], _ = app.review_card(schedule[n], Rating(rating), now)
            reviews.append(ReviewEvent(f"card-{n}", now, rating))
    return reviews


def test_default_parameters_are_py_fsrs_defaults() -> None:
    assert len(DEFAULT_PARAMETERS) == 21
    assert fsrs.Scheduler().parameters == DEFAULT_PARAMETERS
    # fsrs-rs has the same defaults, in float32.
    rust_defaults = list(fsrs_rs_python.DEFAULT_PARAMETERS)
    assert rust_defaults == pytest.approx(list(DEFAULT_PARAMETERS), rel=1e-6)


def test_review_event_validates() -> None:
    with pytest.raises(ValueError, match="aware"):
        ReviewEvent("c", datetime(2025, 1, 1, 12), 3)
    with pytest.raises(ValueError, match="rating"):
        ReviewEvent("c", datetime(2025, 1, 1, 12, tzinfo=UTC), 5)


def test_training_items_count_days_between_local_dates() -> None:
    reviews = [
        # Listed out of order: the function sorts each card's reviews by time.
        ReviewEvent("c", at(NEW_YORK, 2024, 3, 12, 8, 0), 3),
        # 23:30 then 00:30 local: one hour apart, but on consecutive local dates (and on the
        # same UTC date, 2024-03-10), so delta_t = 1.
        ReviewEvent("c", at(NEW_YORK, 2024, 3, 9, 23, 30), 3),
        ReviewEvent("c", at(NEW_YORK, 2024, 3, 10, 0, 30), 1),
        # 20 hours later on the same local date (across the DST switch), on the next UTC
        # date: delta_t = 0, so no item ends here, but it stays in later items' history.
        ReviewEvent("c", at(NEW_YORK, 2024, 3, 10, 20, 30), 2),
    ]
    assert at(NEW_YORK, 2024, 3, 10, 20, 30) - at(NEW_YORK, 2024, 3, 10, 0, 30) == timedelta(
        hours=19
    )  # 20 wall-clock hours, 19 real ones: clocks went forward at 02:00

    items = build_training_items(reviews, tz=NEW_YORK)

    assert [shape(item) for item in items] == [
        [(3, 0), (1, 1)],
        [(3, 0), (1, 1), (2, 0), (3, 2)],
    ]
    # Counting UTC dates instead would put the first two reviews on the same day.
    in_utc = build_training_items(reviews, tz=ZoneInfo("UTC"))
    assert [shape(item) for item in in_utc] == [
        [(3, 0), (1, 0), (2, 1)],
        [(3, 0), (1, 0), (2, 1), (3, 1)],
    ]


def test_training_items_are_in_chronological_order_across_cards() -> None:
    day = datetime(2025, 1, 1, 9, tzinfo=UTC)
    reviews = [
        ReviewEvent("a", day, 3),
        ReviewEvent("a", day + timedelta(days=5), 3),
        ReviewEvent("b", day, 4),
        ReviewEvent("b", day + timedelta(days=2), 1),
        ReviewEvent("b", day + timedelta(days=9), 3),
        ReviewEvent("lonely", day, 3),  # one review only: nothing to learn from
    ]
    items = build_training_items(reviews, tz=ZoneInfo("UTC"))
    assert [shape(item) for item in items] == [
        [(4, 0), (1, 2)],  # day 2
        [(3, 0), (3, 5)],  # day 5
        [(4, 0), (1, 2), (3, 7)],  # day 9
    ]
    assert all(item.long_term_review_cnt() > 0 for item in items)


def test_fit_beats_defaults_on_held_out_reviews_of_a_forgetful_learner() -> None:
    reviews = simulate(FORGETFUL, cards=600, days=180, seed=7)
    reviews.sort(key=lambda review: review.reviewed_at)
    cutoff = reviews[int(len(reviews) * 0.8)].reviewed_at
    train = [review for review in reviews if review.reviewed_at < cutoff]
    assert len(train) > 4000

    fitted = fit_parameters(train, tz=ZoneInfo("UTC"))

    assert len(fitted) == 21
    assert all(isinstance(value, float) for value in fitted)
    assert Scheduler(parameters=fitted).parameters == tuple(fitted)
    assert fitted != list(DEFAULT_PARAMETERS)
    # The learner's initial stability after Good (w2) is well below the default.
    assert fitted[2] < DEFAULT_PARAMETERS[2] / 2
    default_loss = log_loss(DEFAULT_PARAMETERS, reviews, since=cutoff)
    fitted_loss = log_loss(fitted, reviews, since=cutoff)
    true_loss = log_loss(FORGETFUL, reviews, since=cutoff)
    assert fitted_loss < default_loss * 0.97
    assert fitted_loss < true_loss * 1.02  # close to the truth
    # Deterministic: the same reviews give the same parameters.
    assert fit_parameters(train, tz=ZoneInfo("UTC")) == fitted


def test_too_few_reviews_raise_not_enough_reviews() -> None:
    with pytest.raises(NotEnoughReviews):
        fit_parameters([], tz=ZoneInfo("UTC"))
    day = datetime(2025, 1, 1, 9, tzinfo=UTC)
    few = [
        ReviewEvent(f"card-{n}", day + timedelta(days=d), 3)
        for n in range(MIN_TRAINING_ITEMS - 1)
        for d in (0, 3)
    ]
    with pytest.raises(NotEnoughReviews) as raised:
        fit_parameters(few, tz=ZoneInfo("UTC"))
    assert isinstance(raised.value, ValueError)
    # Plenty of reviews, but all on the cards' first day: nothing long-term to learn from.
    same_day = [
        ReviewEvent(f"card-{n}", day + timedelta(minutes=m), 3) for n in range(200) for m in (0, 10)
    ]
    with pytest.raises(NotEnoughReviews):
        fit_parameters(same_day, tz=ZoneInfo("UTC"))


def test_reviews_fsrs_rs_cannot_use_raise_not_enough_reviews() -> None:
    # Plenty of items, but every card's first interval is 200 days: fsrs-rs's outlier filter
    # drops first intervals over 100 days (365 after Easy) and the items that build on them.
    day = datetime(2025, 1, 1, 9, tzinfo=UTC)
    reviews = [
        ReviewEvent(f"card-{n}", day + timedelta(days=d), 3)
        for n in range(100)
        for d in (0, 200, 400)
    ]
    assert len(build_training_items(reviews, tz=ZoneInfo("UTC"))) == 200
    with pytest.raises(NotEnoughReviews):
        fit_parameters(reviews, tz=ZoneInfo("UTC"))


def test_log_loss_of_an_exact_prediction() -> None:
    # With initial stability 3 days after Good, FSRS predicts exactly 90% recall 3 days later.
    parameters = list(DEFAULT_PARAMETERS)
    parameters[2] = 3.0
    first = datetime(2025, 1, 1, 9, tzinfo=UTC)
    recalled = [ReviewEvent("a", first, 3), ReviewEvent("a", first + timedelta(days=3), 3)]
    forgotten = [ReviewEvent("b", first, 3), ReviewEvent("b", first + timedelta(days=3), 1)]
    assert log_loss(parameters, recalled) == pytest.approx(-math.log(0.9))
    assert log_loss(parameters, forgotten) == pytest.approx(-math.log(0.1))
    assert log_loss(parameters, recalled + forgotten) == pytest.approx(
        (-math.log(0.9) - math.log(0.1)) / 2
    )


def test_log_loss_prefers_the_parameters_that_match_the_outcomes() -> None:
    # Cards seen once, then forgotten after 30 days.
    first = datetime(2025, 1, 1, 9, tzinfo=UTC)
    reviews = [
        review
        for n in range(10)
        for review in (
            ReviewEvent(f"c{n}", first, 3),
            ReviewEvent(f"c{n}", first + timedelta(days=30), 1),
        )
    ]
    fragile = list(DEFAULT_PARAMETERS)
    # Tiny initial stabilities and the steepest forgetting curve: recall after 30 days < 1%.
    fragile[0:4] = [0.01, 0.01, 0.01, 0.01]
    fragile[20] = 0.8
    sturdy = list(DEFAULT_PARAMETERS)
    sturdy[0:4] = [100.0, 100.0, 100.0, 100.0]  # recall after 30 days ~96%
    assert log_loss(fragile, reviews) < 0.01
    assert log_loss(sturdy, reviews) > 3.0
    assert (
        log_loss(fragile, reviews)
        < log_loss(DEFAULT_PARAMETERS, reviews)
        < log_loss(sturdy, reviews)
    )


def test_log_loss_clips_certain_predictions() -> None:
    # py-fsrs predicts recall 1 within 24 hours; a lapse then costs -log(1e-6), not infinity.
    first = datetime(2025, 1, 1, 9, tzinfo=UTC)
    reviews = [ReviewEvent("a", first, 3), ReviewEvent("a", first + timedelta(hours=2), 1)]
    assert log_loss(DEFAULT_PARAMETERS, reviews) == pytest.approx(-math.log(1e-6))


def test_log_loss_scores_only_reviews_since_the_cutoff() -> None:
    parameters = list(DEFAULT_PARAMETERS)
    parameters[2] = 3.0
    first = datetime(2025, 1, 1, 9, tzinfo=UTC)
    cutoff = first + timedelta(days=10)
    reviews = [
        ReviewEvent("a", first, 3),
        ReviewEvent("a", first + timedelta(days=3), 1),  # before the cutoff: warm-up only
        ReviewEvent("a", first + timedelta(days=20), 3),  # scored, from a's whole history
        ReviewEvent("b", cutoff, 3),  # a card's first review: never scored
        ReviewEvent("b", cutoff + timedelta(days=3), 3),  # scored: predicted exactly 0.9
    ]
    scheduler = Scheduler(parameters, enable_fuzzing=False)
    card, _ = scheduler.review_card(Card(card_id=1), Rating.Good, first)
    card, _ = scheduler.review_card(card, Rating.Again, first + timedelta(days=3))
    p_a = scheduler.get_card_retrievability(card, first + timedelta(days=20))
    assert 0.2 < p_a < 0.9

    assert log_loss(parameters, reviews, since=cutoff) == pytest.approx(
        (-math.log(p_a) - math.log(0.9)) / 2
    )


def test_log_loss_needs_something_to_score() -> None:
    first = datetime(2025, 1, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="no review to score"):
        log_loss(DEFAULT_PARAMETERS, [ReviewEvent("a", first, 3), ReviewEvent("b", first, 1)])
    with pytest.raises(ValueError, match="no review to score"):
        log_loss(DEFAULT_PARAMETERS, [])
    with pytest.raises(ValueError, match="no review to score"):
        log_loss(
            DEFAULT_PARAMETERS,
            [ReviewEvent("a", first, 3), ReviewEvent("a", first + timedelta(days=1), 3)],
            since=first + timedelta(days=2),
        )
