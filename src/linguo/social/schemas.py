"""Request and response bodies of follows, the feed and the sharing setting."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from linguo.models.social import ActivityKind


class ConnectionRead(BaseModel):
    """A learner in a followers or following list."""

    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    display_name: str = Field(description="Full name, or the email's local part")
    followed_at: datetime


class FeedEntryRead(BaseModel):
    """One activity of a followed learner."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: uuid.UUID
    display_name: str
    kind: ActivityKind
    data: dict[str, Any] = Field(
        description="lesson_passed: lesson_id, lesson_title, course_id, course_title, score, "
        "perfect; streak_milestone: days; other kinds: what their domain records"
    )
    created_at: datetime


class SocialSettingsRead(BaseModel):
    """The learner's sharing choice."""

    share_activity: bool


class SocialSettingsUpdate(BaseModel):
    """Turn sharing of activity with followers on or off."""

    model_config = ConfigDict(extra="forbid")

    share_activity: bool = Field(strict=True)
