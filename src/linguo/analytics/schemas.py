"""Response bodies of analytics: summary, daily statistics, streak, vocabulary, errors."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class SessionCounts(BaseModel):
    """Study sessions: finished lesson attempts and conversations with at least one turn."""

    total: int
    lessons: int
    conversations: int


class MinutesStudied(BaseModel):
    """Study time in whole minutes (each part rounded; `total` is their sum).

    A lesson attempt counts from start to finish (at most 60 minutes), a conversation from
    its start to its last turn (at most 180 minutes), a queue review its response time (at
    most 1 minute).
    """

    total: int
    lessons: int
    conversations: int
    reviews: int


class WordCounts(BaseModel):
    """Cards (vocabulary words and own flashcards) by FSRS state."""

    new: int
    learning: int
    review: int
    relearning: int
    mastered: int = Field(description="In `review` with a memory stability of 21 days or more")
    total: int


class AnalyticsSummary(BaseModel):
    """The learner's figures at a glance."""

    today: date = Field(description="The learner's local date")
    timezone: str
    xp: int = Field(description="Total XP")
    level: int
    level_xp: int = Field(description="Total XP at which the current level started")
    next_level_xp: int = Field(description="Total XP needed for the next level")
    level_progress: float = Field(description="Fraction of the way to the next level (0..1)")
    current_streak: int
    longest_streak: int
    sessions: SessionCounts
    minutes: MinutesStudied
    reviews: int = Field(description="Queue reviews made")
    accuracy: float | None = Field(
        description="Right answers / answers over lesson first answers and queue reviews; "
        "null before any"
    )
    words: WordCounts
    reviews_due_today: int = Field(description="Cards due by the end of the local day")
    reviews_due_next_7_days: int = Field(
        description="Cards due by the end of the 7th local day, today included"
    )


class DailyStatistics(BaseModel):
    """One local day of the learner's activity."""

    date: date
    xp: int
    lessons: int = Field(description="Lesson attempts finished")
    conversations: int = Field(description="Conversations started (with at least one turn)")
    conversation_turns: int
    reviews: int = Field(description="Queue reviews")
    answers: int = Field(description="Lesson first answers and queue reviews")
    correct_answers: int
    accuracy: float | None = Field(description="correct_answers / answers; null without answers")
    minutes: int = Field(description="Minutes studied (rounded)")


class StatisticsTotals(BaseModel):
    """The series summed over its days."""

    xp: int
    lessons: int
    conversations: int
    conversation_turns: int
    reviews: int
    answers: int
    correct_answers: int
    accuracy: float | None
    minutes: int
    active_days: int = Field(description="Days with any activity")


class StatisticsRead(BaseModel):
    """A daily series over the learner's last `days` local days, oldest first, today last."""

    days: int
    timezone: str
    start: date
    end: date
    totals: StatisticsTotals
    series: list[DailyStatistics]


class DayStatus(StrEnum):
    """How a day stands for the streak."""

    ACTIVE = "active"
    FROZEN = "frozen"
    MISSED = "missed"
    PENDING = "pending"


class StreakCalendarEntry(BaseModel):
    """One day of the streak window."""

    date: date
    status: DayStatus = Field(
        description="active, frozen (a freeze covered it), missed, or pending (today so far)"
    )


class StreakAnalytics(BaseModel):
    """The learner's streak and every day of the window, oldest first."""

    current: int
    longest: int
    freezes_equipped: int
    today: date
    today_done: bool
    window_days: int
    active_days: int
    frozen_days: int
    missed_days: int
    active_ratio: float = Field(description="active_days / window_days")
    calendar: list[StreakCalendarEntry]


class LanguageWordCounts(WordCounts):
    """Cards of one language by FSRS state."""

    language: str


class VocabularyAnalytics(WordCounts):
    """All the learner's cards by FSRS state, and per language (largest first)."""

    by_language: list[LanguageWordCounts]


class ErrorStat(BaseModel):
    """An error the learner makes (from their error memory)."""

    code: str
    category: str
    language: str
    occurrences: int
    last_seen_at: datetime
    example: str
    suggestion: str | None
    explanation: str


class ErrorCategoryStat(BaseModel):
    """A category of errors."""

    category: str
    occurrences: int
    errors: int = Field(description="Distinct errors of the category")
    last_seen_at: datetime
    share: float = Field(description="Fraction of all occurrences")


class ConversationErrorStats(BaseModel):
    """Errors found over all the learner's conversation turns."""

    turns: int
    turns_with_errors: int
    errors: int
    error_rate: float | None = Field(description="turns_with_errors / turns; null without turns")


class ErrorAnalytics(BaseModel):
    """The learner's most frequent errors, their categories and conversation totals."""

    total_occurrences: int
    distinct_errors: int
    categories: list[ErrorCategoryStat]
    top: list[ErrorStat]
    conversations: ConversationErrorStats
