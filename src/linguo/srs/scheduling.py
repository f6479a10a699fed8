"""The bridge to py-fsrs: every scheduling decision is made by `fsrs.Scheduler`.

The API's ratings 0..3 (again, hard, good, easy) are FSRS's 1..4. py-fsrs has no
"new" state (a fresh card is Learning at step 0), so a stored card with no review yet
is `new` here and becomes a fresh `fsrs.Card` when it is first reviewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from fsrs import Card, Rating, Scheduler, State

from linguo.models.srs import CardState, SrsCard
from linguo.srs.optimizer import DEFAULT_PARAMETERS

__all__ = ["DEFAULT_PARAMETERS", "RATINGS", "SchedulerConfig", "review", "scheduler_for"]

RATINGS: dict[int, Rating] = {
    0: Rating.Again,
    1: Rating.Hard,
    2: Rating.Good,
    3: Rating.Easy,
}
_TO_FSRS_STATE = {
    CardState.LEARNING: State.Learning,
    CardState.REVIEW: State.Review,
    CardState.RELEARNING: State.Relearning,
}
_FROM_FSRS_STATE = {fsrs_state: state for state, fsrs_state in _TO_FSRS_STATE.items()}


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """What a learner's scheduler depends on."""

    parameters: tuple[float, ...]
    desired_retention: float
    fuzzing: bool

    @property
    def decay(self) -> float:
        """FSRS-6's forgetting-curve exponent (negative), from the last parameter."""
        return -self.parameters[20]

    @property
    def factor(self) -> float:
        """The forgetting curve's factor, chosen so that R = 0.9 when t equals stability."""
        return float(0.9 ** (1 / self.decay) - 1)


@lru_cache(maxsize=1024)
def scheduler_for(config: SchedulerConfig) -> Scheduler:
    """A py-fsrs scheduler (shared: schedulers hold configuration only)."""
    return Scheduler(
        parameters=config.parameters,
        desired_retention=config.desired_retention,
        enable_fuzzing=config.fuzzing,
    )


def to_fsrs_card(card: SrsCard, now: datetime) -> Card:
    """The py-fsrs card for a stored card; a new card is a fresh Learning card due now."""
    # An explicit card_id: without one py-fsrs sleeps a millisecond to make a unique one.
    card_id = card.id.int >> 65
    if card.state is CardState.NEW:
        return Card(card_id=card_id, due=now)
    return Card(
        card_id=card_id,
        state=_TO_FSRS_STATE[card.state],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )


def card_state(card: Card) -> CardState:
    """Our state for a py-fsrs card that has been reviewed."""
    return _FROM_FSRS_STATE[card.state]


def review(config: SchedulerConfig, card: SrsCard, rating: int, now: datetime) -> Card:
    """The card after a review with API rating 0..3 at `now` (UTC), as py-fsrs computes it."""
    utc_now = now.astimezone(UTC)
    scheduled, _ = scheduler_for(config).review_card(
        to_fsrs_card(card, utc_now), RATINGS[rating], review_datetime=utc_now
    )
    return scheduled


def retrievability(config: SchedulerConfig, card: SrsCard, now: datetime) -> float | None:
    """Probability of recall now (py-fsrs's formula); None for a card never reviewed."""
    if card.state is CardState.NEW or card.last_review is None:
        return None
    return float(scheduler_for(config).get_card_retrievability(to_fsrs_card(card, now), now))
