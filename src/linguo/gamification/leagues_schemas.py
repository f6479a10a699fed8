"""Response bodies of weekly leagues."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from linguo.models.leagues import LeagueOutcome


class LeaderboardEntryRead(BaseModel):
    """One learner's place in the group this week."""

    rank: int
    user_id: uuid.UUID
    display_name: str
    xp: int = Field(description="XP earned this league week")
    zone: Literal["promotion", "safe", "demotion"] = Field(
        description="Where this rank would take the learner if the week ended now"
    )


class LeaderboardRead(BaseModel):
    """The caller's league group this week (Monday 00:00 UTC to the next Monday)."""

    league: str = Field(description="Tier name, Bronze .. Diamond")
    tier: int = Field(description="0 (Bronze) .. 9 (Diamond)")
    week_start: date = Field(description="Monday of the league week (UTC)")
    week_end: date = Field(description="Sunday, the last day of the league week (UTC)")
    ends_at: datetime = Field(description="When the week ends and ranks are settled")
    joined: bool = Field(description="False until the caller earns their first XP this week")
    my_rank: int | None
    my_xp: int
    promotion_rank: int | None = Field(description="Ranks 1..this go up a tier (none in Diamond)")
    demotion_rank: int | None = Field(
        description="Ranks from this down go down a tier (none in Bronze)"
    )
    group_size: int = Field(description="Most learners a group takes")
    entries: list[LeaderboardEntryRead]


class LeagueWeekRead(BaseModel):
    """One past or current week of the learner in a league."""

    week_start: date
    league: str
    tier: int
    xp: int
    rank: int | None = Field(description="Final rank; null until the week is settled")
    group_members: int
    outcome: LeagueOutcome | None = Field(
        description="promoted, stayed or demoted; null until settled"
    )
