"""Request and response bodies of conversation sessions (REST and WebSocket)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from linguo.conversation.offline_tutor import CONVERSATION_STYLES
from linguo.core.schemas import NO_NUL
from linguo.models.conversation import MessageRole, SessionStatus

ConversationStyle = Literal[
    "tutor", "casual", "travel", "business", "roleplay", "storytelling", "debate", "interviewer"
]
assert set(ConversationStyle.__args__) == set(CONVERSATION_STYLES)  # type: ignore[attr-defined]

WordId = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]
MessageText = Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]


class SessionCreate(BaseModel):
    """A new conversation with the tutor, in the learner's target language."""

    model_config = ConfigDict(extra="forbid")

    planned_duration_minutes: Annotated[int, Field(strict=True, ge=5, le=180)]
    topic: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)] | None = None
    conversation_style: ConversationStyle = "tutor"
    generate_greeting: Annotated[bool, Field(strict=True)] = True


class SessionUpdate(BaseModel):
    """A status change: pause, resume, complete or abandon."""

    model_config = ConfigDict(extra="forbid")

    status: SessionStatus


class SessionRead(BaseModel):
    """A conversation session."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: SessionStatus
    conversation_style: str
    topic: str | None
    language: str = Field(description="The language practised")
    native_language: str = Field(description="The language of explanations")
    level: str
    planned_duration_minutes: int
    started_at: datetime
    last_activity_at: datetime
    ended_at: datetime | None
    turn_count: int
    xp_earned: int


class MessageRead(BaseModel):
    """One message of a session."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    role: MessageRole
    content: str
    turn_number: int
    engine: str | None = Field(description="offline, openai or anthropic for tutor messages")
    created_at: datetime


class TargetWordRead(BaseModel):
    """A word the tutor asks the learner to use next."""

    word_id: int
    word: str
    translation: str | None
    is_new: bool


class AssistantTurn(BaseModel):
    """The tutor's message and the words it asks the learner to use."""

    message: MessageRead
    targets: list[TargetWordRead]


class SessionCreated(BaseModel):
    """A new session and, when asked, the tutor's greeting."""

    session: SessionRead
    assistant_turn: AssistantTurn | None


class MessageCreate(BaseModel):
    """What the learner says; `suggested_word_ids` are words they meant to practise."""

    model_config = ConfigDict(extra="forbid")

    content: MessageText
    suggested_word_ids: Annotated[list[WordId], Field(max_length=20)] | None = None


class Span(BaseModel):
    """Character offsets [start, end) into the learner's text."""

    start: int
    end: int


class ErrorRead(BaseModel):
    """One error in the learner's message."""

    code: str
    category: str
    message: str
    span: Span
    suggestion: str | None
    severity: str
    explanation: str = Field(description="In the learner's native language")


class ErrorFeedback(BaseModel):
    """Everything found wrong in the message, and a one-line summary."""

    summary: str
    errors: list[ErrorRead]


class WordFeedback(BaseModel):
    """Whether a target word was used, and how it was logged for spaced repetition."""

    word_id: int
    word: str
    was_used: bool
    had_error: bool
    rating: int | None = Field(description="The FSRS rating logged (0..3); null if not used")


class TurnResult(BaseModel):
    """The outcome of one learner message."""

    session: SessionRead
    user_message: MessageRead
    assistant_turn: AssistantTurn
    xp_awarded: int
    error_feedback: ErrorFeedback
    word_feedback: list[WordFeedback]


class MessagesPage(BaseModel):
    """Messages of a session, oldest first."""

    items: list[MessageRead]
    total: int


class TopError(BaseModel):
    """An error made in the session."""

    code: str
    category: str
    occurrences: int
    example: str
    suggestion: str | None


class PractisedWord(BaseModel):
    """A target word the learner used in the session."""

    word_id: int
    word: str
    times_used: int
    times_with_error: int


class SessionSummary(BaseModel):
    """How the session went."""

    session_id: uuid.UUID
    status: SessionStatus
    xp: int
    turns: int
    accuracy: float | None = Field(description="Share of turns without errors; null: no turns")
    minutes: float
    words_practised: list[PractisedWord]
    top_errors: list[TopError]
