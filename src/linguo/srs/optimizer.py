"""Personal FSRS parameters: fit them to a learner's review history, and score them.

Pure functions over `ReviewEvent`s (no database). `fit_parameters` trains FSRS-6 with
fsrs-rs (`fsrs_rs_python`); `log_loss` replays the history with py-fsrs, the scheduler the
app runs, so a fitted parameter set can be checked against the defaults on held-out reviews
before it is adopted.

The fit is CPU-bound and synchronous, and fsrs-rs keeps the GIL while it trains; callers on
an event loop run it in a worker thread or process. It takes well under a second for tens of
thousands of reviews.

Time: fsrs-rs counts the days between two reviews as the difference of the learner's local
calendar dates (a review at 23:30 and one at 00:30 are a day apart), which is why training
takes the learner's time zone. py-fsrs, which `log_loss` replays, counts whole 24-hour
periods instead; the two agree when a learner reviews at about the same time of day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import fsrs_rs_python
from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import (
    DEFAULT_PARAMETERS as _PY_FSRS_DEFAULT_PARAMETERS,
)
from fsrs.scheduler import (
    LOWER_BOUNDS_PARAMETERS,
    UPPER_BOUNDS_PARAMETERS,
)
from fsrs_rs_python import FSRSItem, FSRSReview

__all__ = [
    "DEFAULT_PARAMETERS",
    "MIN_TRAINING_ITEMS",
    "FitResult",
    "NotEnoughReviews",
    "ReviewEvent",
    "build_training_items",
    "fit_and_validate",
    "fit_parameters",
    "log_loss",
]

DEFAULT_PARAMETERS: tuple[float, ...] = tuple(_PY_FSRS_DEFAULT_PARAMETERS)
"""The FSRS-6 default parameters (21 floats), the same as `fsrs.Scheduler`'s."""

MIN_TRAINING_ITEMS = 64
"""Fewest training items (reviews of a card on a later local day than its previous review)
`fit_parameters` accepts. Below 64, fsrs-rs skips gradient descent and fits only the four
initial stabilities (below 8 it returns the defaults unchanged)."""

_PROBABILITY_FLOOR = 1e-6
_DECIMALS = 6  # fsrs-rs computes in float32; more digits would be noise


class NotEnoughReviews(ValueError):
    """The review history is too short to fit personal FSRS parameters."""


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """One review of one card, as the optimizer sees it."""

    card_key: str
    """Any stable id of the card (e.g. `str(card.id)`)."""
    reviewed_at: datetime
    """When the review happened: a time-zone-aware datetime (UTC preferred)."""
    rating: int
    """The FSRS rating: 1 Again, 2 Hard, 3 Good, 4 Easy."""

    def __post_init__(self) -> None:
        if self.reviewed_at.tzinfo is None or self.reviewed_at.utcoffset() is None:
            raise ValueError("reviewed_at must be time-zone aware")
        if isinstance(self.rating, bool) or self.rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1, 2, 3 or 4, not {self.rating!r}")


def _histories(reviews: Iterable[ReviewEvent]) -> list[list[ReviewEvent]]:
    """Reviews grouped by card (cards in order of first appearance), each sorted by time."""
    by_card: dict[str, list[ReviewEvent]] = defaultdict(list)
    for review in reviews:
        by_card[review.card_key].append(review)
    return [sorted(history, key=lambda r: r.reviewed_at) for history in by_card.values()]


def _training_items(
    reviews: Iterable[ReviewEvent], tz: ZoneInfo
) -> tuple[list[FSRSItem], list[int]]:
    """Training items in chronological order of their last review, with aligned card numbers."""
    keyed: list[tuple[datetime, int, int, FSRSItem]] = []
    for card_number, history in enumerate(_histories(reviews)):
        fsrs_reviews: list[FSRSReview] = []
        previous_day = None
        for index, review in enumerate(history):
            day = review.reviewed_at.astimezone(tz).date()
            delta_t = 0 if previous_day is None else (day - previous_day).days
            previous_day = day
            fsrs_reviews.append(FSRSReview(review.rating, delta_t))
            # fsrs-rs learns from the outcome of the last review of each item, and only from
            # long-term ones; same-day reviews still shape the memory state as history.
            if index > 0 and delta_t > 0:
                keyed.append((review.reviewed_at, card_number, index, FSRSItem(fsrs_reviews[:])))
    # fsrs-rs weights items by recency and expects them in the order they were reviewed.
    keyed.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in keyed], [entry[1] for entry in keyed]


def build_training_items(reviews: Iterable[ReviewEvent], *, tz: ZoneInfo) -> list[FSRSItem]:
    """Turn a learner's reviews into fsrs-rs training items.

    Reviews are grouped by card and sorted by time. Each review gets `delta_t`, the number of
    days between the learner's local calendar dates (in `tz`) of it and the card's previous
    review (0 for a card's first review). Every review after a card's first one that happened
    on a later local day (`delta_t > 0`) yields one item: the card's reviews up to and
    including it, so the item's last review is the outcome fsrs-rs learns to predict and the
    earlier ones (same-day ones included) are its history. Items come in chronological order
    of their last review, as fsrs-rs's recency weighting expects.
    """
    items, _ = _training_items(reviews, tz)
    return items


def fit_parameters(reviews: Iterable[ReviewEvent], *, tz: ZoneInfo) -> list[float]:
    """Fit personal FSRS-6 parameters to a learner's reviews with fsrs-rs.

    `tz` is the learner's time zone (days are counted between local calendar dates).
    Returns 21 floats accepted by `fsrs.Scheduler(parameters=...)`.

    Raises `NotEnoughReviews` when there are fewer than `MIN_TRAINING_ITEMS` reviews made on a
    later local day than the card's previous review, or when fsrs-rs finds too little usable
    data (for instance no card with exactly one such review, which it needs to estimate the
    initial stabilities).

    CPU-bound and synchronous; fsrs-rs holds the GIL while it trains.
    """
    items, card_numbers = _training_items(reviews, tz)
    if len(items) < MIN_TRAINING_ITEMS:
        raise NotEnoughReviews(
            f"need at least {MIN_TRAINING_ITEMS} reviews made on a later day than the card's"
            f" previous review, got {len(items)}"
        )
    model = fsrs_rs_python.FSRS(list(DEFAULT_PARAMETERS))
    try:
        raw = model.compute_parameters(items, card_ids=card_numbers)
    except ValueError as exc:  # fsrs-rs raises ValueError("NotEnoughData") among others
        if "NotEnoughData" in str(exc):
            raise NotEnoughReviews("fsrs-rs found too little usable review data") from exc
        raise
    if list(raw) == list(fsrs_rs_python.DEFAULT_PARAMETERS):
        # fsrs-rs's way of saying that under 8 items survived its outlier filter.
        raise NotEnoughReviews("fsrs-rs found too little usable review data")
    parameters = [
        min(max(round(float(value), _DECIMALS), lower), upper)
        for value, lower, upper in zip(
            raw, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True
        )
    ]
    Scheduler(parameters=parameters)  # raises ValueError if py-fsrs would refuse them
    return parameters


def log_loss(
    parameters: Sequence[float],
    reviews: Iterable[ReviewEvent],
    *,
    since: datetime | None = None,
) -> float:
    """Mean binary log loss of the recall predictions `parameters` make for `reviews`.

    Replays each card's history with py-fsrs (`Scheduler(parameters, enable_fuzzing=False)`).
    Every review after a card's first is scored: the prediction is the card's
    retrievability at the review time before the review is applied, the outcome is
    recalled (rating > 1) or not. Predictions are clipped to [1e-6, 1 - 1e-6].

    With `since`, reviews before it only build up the cards' memory states and reviews at
    or after it are scored: pass the whole history and the start of a held-out period.

    py-fsrs predicts recall 1 for a review less than 24 hours after the previous one, so a
    same-day lapse costs about 13.8 whatever the parameters.

    Raises `ValueError` if no review is scored (or if py-fsrs rejects `parameters`).
    """
    scheduler = Scheduler(parameters=parameters, enable_fuzzing=False)
    since_utc = since.astimezone(UTC) if since is not None else None
    total = 0.0
    scored = 0
    for card_number, history in enumerate(_histories(reviews), start=1):
        card = Card(card_id=card_number)  # an explicit id: Card() sleeps 1 ms to make one
        for index, review in enumerate(history):
            at = review.reviewed_at.astimezone(UTC)
            if index > 0 and (since_utc is None or at >= since_utc):
                predicted = scheduler.get_card_retrievability(card, current_datetime=at)
                p = min(max(predicted, _PROBABILITY_FLOOR), 1.0 - _PROBABILITY_FLOOR)
                total -= math.log(p) if review.rating > 1 else math.log(1.0 - p)
                scored += 1
            card, _ = scheduler.review_card(card, Rating(review.rating), review_datetime=at)
    if scored == 0:
        raise ValueError("no review to score: need a card's second or later review")
    return total / scored


HELD_OUT_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class FitResult:
    """A fit checked on held-out reviews; `parameters` is None when it did not help."""

    parameters: list[float] | None
    held_out_reviews: int
    current_log_loss: float
    fitted_log_loss: float


def fit_and_validate(
    reviews: Sequence[ReviewEvent], *, tz: ZoneInfo, current: Sequence[float]
) -> FitResult:
    """Fit on the older 80% of reviews, and adopt a fit on all of them only if it helps.

    The trial fit must predict the newest 20% (scored with their whole history) better than
    the `current` parameters do; then the parameters are refitted on every review. Raises
    `NotEnoughReviews` when either fit lacks data.
    """
    ordered = sorted(reviews, key=lambda review: review.reviewed_at)
    cutoff = ordered[int(len(ordered) * (1 - HELD_OUT_FRACTION))].reviewed_at
    trial = fit_parameters([r for r in ordered if r.reviewed_at < cutoff], tz=tz)
    current_loss = log_loss(current, ordered, since=cutoff)
    trial_loss = log_loss(trial, ordered, since=cutoff)
    held_out = sum(1 for review in ordered if review.reviewed_at >= cutoff)
    if trial_loss >= current_loss:
        return FitResult(None, held_out, current_loss, trial_loss)
    return FitResult(fit_parameters(ordered, tz=tz), held_out, current_loss, trial_loss)
