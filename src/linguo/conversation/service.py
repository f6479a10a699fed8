"""Conversation sessions with the tutor: one code path for REST and WebSocket turns.

A turn, in the transaction of the request (or of the WebSocket message):

1. the learner's message is analysed (`language.analysis`, off the event loop; with a
   language model configured, `llm_review.LLMReviewer` adds what the model finds);
2. the target words the tutor asked for (and any the learner suggested) are looked for by
   lemma; each one used is logged as a review through `srs.service.record_practice`
   (right = Good, with an error on or around it = Hard, misspelt or misused = Again);
3. each error is counted in the learner's error memory; errors seen `FOCUS_MIN_OCCURRENCES`
   times or more come back as focus points of the tutor's later turns;
4. XP is awarded by `turn_xp` and a `ConversationTurnCompleted` event is published;
5. the tutor replies: the configured LLM chain with a system prompt carrying the level,
   native language, focus points, target words and style, falling back to the offline
   tutor, which also answers when no LLM is configured.

XP per turn (documented in the README): 2 for a message of at least 3 words, 2 more when
no error was found, 1 per target word used without error; nothing for a message shorter
than 3 words or repeating an earlier message of the session.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.conversation import repository
from linguo.conversation.analysis import FoundError, analyse_message
from linguo.conversation.llm_review import LLMReviewer
from linguo.conversation.offline_tutor import (
    Correction,
    OfflineTutor,
    TargetWord,
    TutorTurn,
)
from linguo.conversation.prompts import chat_messages
from linguo.conversation.schemas import (
    AssistantTurn,
    ErrorFeedback,
    ErrorRead,
    MessageRead,
    PractisedWord,
    SessionCreate,
    SessionCreated,
    SessionRead,
    SessionSummary,
    Span,
    TargetWordRead,
    TopError,
    TurnResult,
    WordFeedback,
)
from linguo.conversation.words import find_word, tokens
from linguo.core.db import release_connection
from linguo.core.errors import Conflict, ErrorCode, NotFound
from linguo.core.events import events
from linguo.gamification import repository as gamification_repository
from linguo.language.text import fold
from linguo.models.conversation import (
    ConversationMessage,
    ConversationSession,
    MessageRole,
    SessionStatus,
)
from linguo.models.gamification import XpSource
from linguo.models.identity import User
from linguo.models.srs import ReviewSource
from linguo.models.vocabulary import PartOfSpeech
from linguo.providers.llm.base import ChatMessage, ChatResult
from linguo.providers.llm.chain import ProviderChain
from linguo.srs import service as srs_service
from linguo.srs.service import PRACTICE_RATINGS, PracticeOutcome
from linguo.vocabulary import repository as vocabulary_repository

FOCUS_MIN_OCCURRENCES = 2
FOCUS_POINTS = 3
TARGETS_PER_TURN = 2
TARGET_CANDIDATES = 12
GRAMMAR_WORDS = frozenset(
    {
        PartOfSpeech.DETERMINER,
        PartOfSpeech.PREPOSITION,
        PartOfSpeech.CONJUNCTION,
        PartOfSpeech.PRONOUN,
    }
)
HISTORY_MESSAGES = 12
XP_TURN = 2
XP_NO_ERRORS = 2
XP_PER_WORD = 1
MIN_WORDS_FOR_XP = 3
FINAL_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.ABANDONED})
# Errors on the word itself mean it was not recalled right.
RECALL_CATEGORIES = frozenset({"spelling", "vocabulary"})

offline_tutor = OfflineTutor()

DeltaSink = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConversationTurnCompleted:
    """Domain event: a learner's message was answered (gamification counts these)."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    turn_number: int
    xp_awarded: int
    error_count: int
    words_used: int
    at: datetime


class SessionClosed(Conflict):
    """The session is completed or abandoned."""

    code = ErrorCode.SESSION_CLOSED


# --------------------------------------------------------------------------- sessions


async def _owned(
    session: AsyncSession, session_id: uuid.UUID, user: User, *, lock: bool = False
) -> ConversationSession:
    found = await repository.get_session(session, session_id, user.id, lock=lock)
    if found is None:
        raise NotFound("No such session.")
    return found


def _open(conversation: ConversationSession) -> ConversationSession:
    """The session, unless it is completed or abandoned (409 session_closed)."""
    if conversation.status in FINAL_STATUSES:
        raise SessionClosed(f"This session is {conversation.status.value}; start a new one.")
    return conversation


async def get_session(
    session: AsyncSession, session_id: uuid.UUID, user: User
) -> ConversationSession:
    """The learner's own session; 404 for anyone else's."""
    return await _owned(session, session_id, user)


async def _targets(
    session: AsyncSession,
    user: User,
    conversation: ConversationSession,
    settings: Settings,
    now: datetime,
) -> list[TargetWord]:
    """1-2 words from the learner's review queue in the session's language."""
    entries = await srs_service.build_queue(
        session, user, settings, limit=TARGET_CANDIDATES, include_flashcards=False, now=now
    )
    targets = []
    for entry in entries:
        if entry.word_id is None or entry.language != conversation.language:
            continue
        if entry.part_of_speech in GRAMMAR_WORDS:
            continue  # "de" or "et" make poor conversation targets; content words do
        translations = entry.translations.get(conversation.native_language) or []
        targets.append(
            TargetWord(
                word_id=entry.word_id,
                word=entry.word,
                translation=translations[0] if translations else None,
                is_new=entry.is_new,
            )
        )
        if len(targets) == TARGETS_PER_TURN:
            break
    return targets


async def _focus_points(
    session: AsyncSession, user: User, conversation: ConversationSession
) -> list[str]:
    recurring = await repository.recurring_errors(
        session,
        user.id,
        conversation.language,
        min_occurrences=FOCUS_MIN_OCCURRENCES,
        limit=FOCUS_POINTS,
    )
    return [memory.explanation for memory in recurring]


async def _reply(
    chain: ProviderChain,
    turn: TutorTurn,
    history: list[ConversationMessage],
    on_delta: DeltaSink | None,
) -> ChatResult:
    """The tutor's reply: the LLM chain when configured (offline as its fallback), else offline."""

    async def offline(_messages: list[ChatMessage]) -> ChatResult:
        return ChatResult(text=offline_tutor.reply(turn), provider="offline", model="offline-tutor")

    if not chain.providers:
        result = await offline([])
        if on_delta is not None:
            await on_delta(result.text)
        return result
    per_turn = chain.with_fallback(offline)
    messages = chat_messages(turn, history)
    if on_delta is None:
        return await per_turn.complete(messages, temperature=0.7, max_tokens=400)
    stream = per_turn.stream(messages, temperature=0.7, max_tokens=400)
    async with stream:
        async for delta in stream:
            await on_delta(delta)
    return stream.result()


def _read(conversation: ConversationSession) -> SessionRead:
    return SessionRead.model_validate(conversation)


def _target_reads(targets: list[TargetWord]) -> list[TargetWordRead]:
    return [
        TargetWordRead(
            word_id=target.word_id,
            word=target.word,
            translation=target.translation,
            is_new=target.is_new,
        )
        for target in targets
    ]


async def _assistant_message(
    session: AsyncSession,
    conversation: ConversationSession,
    result: ChatResult,
    targets: list[TargetWord],
    turn_number: int,
    now: datetime,
) -> AssistantTurn:
    message = ConversationMessage(
        session_id=conversation.id,
        role=MessageRole.ASSISTANT,
        content=result.text,
        turn_number=turn_number,
        engine=result.provider,
        details={
            "targets": [read.model_dump() for read in _target_reads(targets)],
            "model": result.model,
        },
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return AssistantTurn(
        message=MessageRead.model_validate(message), targets=_target_reads(targets)
    )


def _tutor_turn(
    conversation: ConversationSession,
    *,
    turn_number: int,
    learner_message: str | None,
    corrections: tuple[Correction, ...],
    focus_points: list[str],
    targets: list[TargetWord],
) -> TutorTurn:
    return TutorTurn(
        language=conversation.language,
        native_language=conversation.native_language,
        level=conversation.level,
        style=conversation.conversation_style,
        topic=conversation.topic,
        turn_number=turn_number,
        learner_message=learner_message,
        corrections=corrections,
        focus_points=tuple(focus_points),
        target_words=tuple(targets),
        session_seed=str(conversation.id),
    )


async def create_session(
    session: AsyncSession,
    user: User,
    data: SessionCreate,
    settings: Settings,
    chain: ProviderChain,
    *,
    now: datetime,
) -> SessionCreated:
    """Open a session in the learner's target language; greet them when asked."""
    conversation = ConversationSession(
        id=uuid.uuid4(),
        user_id=user.id,
        status=SessionStatus.IN_PROGRESS,
        conversation_style=data.conversation_style,
        topic=data.topic,
        language=user.target_language,
        native_language=user.native_language,
        level=user.proficiency_level,
        planned_duration_minutes=data.planned_duration_minutes,
        started_at=now,
        last_activity_at=now,
    )
    session.add(conversation)
    await session.flush()
    assistant_turn = None
    if data.generate_greeting:
        targets = await _targets(session, user, conversation, settings, now)
        turn = _tutor_turn(
            conversation,
            turn_number=0,
            learner_message=None,
            corrections=(),
            focus_points=await _focus_points(session, user, conversation),
            targets=targets,
        )
        result = await _reply(chain, turn, [], None)
        assistant_turn = await _assistant_message(session, conversation, result, targets, 0, now)
    return SessionCreated(session=_read(conversation), assistant_turn=assistant_turn)


async def list_messages(
    session: AsyncSession, session_id: uuid.UUID, user: User, *, limit: int, offset: int
) -> tuple[list[MessageRead], int]:
    """A page of the session's messages, oldest first."""
    await _owned(session, session_id, user)
    messages, total = await repository.list_messages(
        session, session_id, limit=limit, offset=offset
    )
    return [MessageRead.model_validate(message) for message in messages], total


async def change_status(
    session: AsyncSession,
    session_id: uuid.UUID,
    user: User,
    status: SessionStatus,
    *,
    now: datetime,
) -> ConversationSession:
    """Pause, resume, complete or abandon; a completed or abandoned session stays so."""
    conversation = await _owned(session, session_id, user, lock=True)
    if conversation.status == status:
        return conversation
    if conversation.status in FINAL_STATUSES:
        raise SessionClosed(f"This session is {conversation.status.value}.")
    conversation.status = status
    conversation.last_activity_at = now
    if status in FINAL_STATUSES:
        conversation.ended_at = now
    await session.flush()
    return conversation


# --------------------------------------------------------------------------- turns


def turn_xp(word_count: int, error_count: int, clean_words: int, *, repeated: bool) -> int:
    """XP for one learner message (see the module docstring)."""
    if word_count < MIN_WORDS_FOR_XP or repeated:
        return 0
    return XP_TURN + (XP_NO_ERRORS if error_count == 0 else 0) + XP_PER_WORD * clean_words


def _outcome(span: tuple[int, int], errors: list[FoundError]) -> PracticeOutcome:
    start, end = span
    touching = [error for error in errors if error.start < end and start < error.end]
    if not touching:
        return PracticeOutcome.CORRECT
    on_word = [e for e in touching if e.start >= start and e.end <= end]
    if any(error.category in RECALL_CATEGORIES for error in on_word):
        return PracticeOutcome.WRONG
    return PracticeOutcome.CORRECT_WITH_HELP


def _summary_line(errors: list[FoundError]) -> str:
    if not errors:
        return "No errors found."
    counts = Counter(error.category for error in errors)
    parts = [f"{count} {category.replace('_', ' ')}" for category, count in counts.most_common()]
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} {noun}: " + ", ".join(parts) + "."


async def take_turn(
    session: AsyncSession,
    session_id: uuid.UUID,
    user: User,
    content: str,
    suggested_word_ids: list[int],
    settings: Settings,
    chain: ProviderChain,
    *,
    now: datetime,
    on_delta: DeltaSink | None = None,
) -> TurnResult:
    """Answer one learner message (see the module docstring); 409 on a closed session."""
    conversation = _open(await _owned(session, session_id, user))
    # The analysis needs only the message and the session's languages, which never change.
    # It runs before the session is locked and without a pooled connection: it is CPU work
    # (or an LLM call) that would otherwise hold both.
    await release_connection(session)
    errors = await analyse_message(
        content,
        conversation.language,
        conversation.native_language,
        reviewer=LLMReviewer(chain) if chain.providers else None,
    )
    conversation = _open(await _owned(session, session_id, user, lock=True))
    conversation.status = SessionStatus.IN_PROGRESS
    turn_number = conversation.turn_count + 1

    # Target words: those the tutor asked for last, and any the learner says they practised.
    recent = await repository.recent_messages(session, conversation.id, limit=HISTORY_MESSAGES)
    asked = next((m for m in reversed(recent) if m.role is MessageRole.ASSISTANT), None)
    if asked is None and len(recent) == HISTORY_MESSAGES:
        asked = await repository.last_assistant_message(session, conversation.id)
    wanted: dict[int, str] = {}
    if asked is not None:
        for target in asked.details.get("targets", []):
            wanted[int(target["word_id"])] = target["word"]
    words = await vocabulary_repository.get_words(
        session, sorted(set(wanted) | set(suggested_word_ids))
    )
    text_tokens = tokens(content, conversation.language)
    feedback: list[WordFeedback] = []
    practised: dict[int, PracticeOutcome] = {}
    for word_id in sorted(set(wanted) | set(suggested_word_ids)):
        word = words.get(word_id)
        if word is None or word.language != conversation.language:
            continue
        span = find_word(text_tokens, word.word, word.lemma, conversation.language)
        if span is None:
            feedback.append(
                WordFeedback(
                    word_id=word_id, word=word.word, was_used=False, had_error=False, rating=None
                )
            )
            continue
        outcome = practised[word_id] = _outcome(span, errors)
        feedback.append(
            WordFeedback(
                word_id=word_id,
                word=word.word,
                was_used=True,
                had_error=outcome is not PracticeOutcome.CORRECT,
                rating=PRACTICE_RATINGS[outcome],
            )
        )
    await srs_service.record_practice(
        session, user, practised, settings, source=ReviewSource.CONVERSATION, now=now
    )
    clean_words = sum(outcome is PracticeOutcome.CORRECT for outcome in practised.values())

    await repository.remember_errors(
        session,
        user_id=user.id,
        language=conversation.language,
        errors=[
            repository.ErrorSeen(
                code=error.code,
                category=error.category,
                example=content[error.start : error.end],
                suggestion=error.suggestion,
                explanation=error.explanation,
            )
            for error in errors
        ],
        now=now,
    )
    # `recent` holds the whole session while it is shorter than the window.
    said = (
        recent
        if len(recent) < HISTORY_MESSAGES
        else await repository.user_messages(session, conversation.id)
    )
    earlier = {fold(m.content) for m in said if m.role is MessageRole.USER}
    xp = turn_xp(len(text_tokens), len(errors), clean_words, repeated=fold(content) in earlier)
    user_message = ConversationMessage(
        session_id=conversation.id,
        role=MessageRole.USER,
        content=content,
        turn_number=turn_number,
        details={
            "errors": [error.as_dict() for error in errors],
            "words": [item.model_dump() for item in feedback],
            "xp": xp,
        },
        created_at=now,
    )
    session.add(user_message)
    conversation.turn_count = turn_number
    conversation.error_free_turns += not errors
    conversation.error_count += len(errors)
    conversation.xp_earned += xp
    conversation.last_activity_at = now
    await session.flush()
    await events.publish(
        session,
        ConversationTurnCompleted(
            user_id=user.id,
            session_id=conversation.id,
            turn_number=turn_number,
            xp_awarded=xp,
            error_count=len(errors),
            words_used=sum(item.was_used for item in feedback),
            at=now,
        ),
    )
    # Report what the ledger really awarded: doubled while an XP boost runs.
    awarded = await gamification_repository.xp_awarded(
        session, user.id, XpSource.CONVERSATION, f"{conversation.id}:{turn_number}"
    )
    if awarded is not None and awarded != xp:
        conversation.xp_earned += awarded - xp
        user_message.details = {**user_message.details, "xp": awarded}
        xp = awarded

    targets = await _targets(session, user, conversation, settings, now)
    history = [*recent, user_message][-HISTORY_MESSAGES:]
    turn = _tutor_turn(
        conversation,
        turn_number=turn_number,
        learner_message=content,
        corrections=tuple(
            Correction(
                original=content[error.start : error.end],
                suggestion=error.suggestion,
                explanation=error.explanation,
                category=error.category,
            )
            for error in errors
        ),
        focus_points=await _focus_points(session, user, conversation),
        targets=targets,
    )
    result = await _reply(chain, turn, history, on_delta)
    assistant_turn = await _assistant_message(
        session, conversation, result, targets, turn_number, now
    )
    return TurnResult(
        session=_read(conversation),
        user_message=MessageRead.model_validate(user_message),
        assistant_turn=assistant_turn,
        xp_awarded=xp,
        error_feedback=ErrorFeedback(
            summary=_summary_line(errors),
            errors=[
                ErrorRead(
                    code=error.code,
                    category=error.category,
                    message=error.message,
                    span=Span(start=error.start, end=error.end),
                    suggestion=error.suggestion,
                    severity=error.severity,
                    explanation=error.explanation,
                )
                for error in errors
            ],
        ),
        word_feedback=feedback,
    )


# --------------------------------------------------------------------------- summary


async def summary(session: AsyncSession, session_id: uuid.UUID, user: User) -> SessionSummary:
    """XP, turns, accuracy, words practised and the session's most frequent errors."""
    conversation = await _owned(session, session_id, user)
    used: dict[int, dict[str, Any]] = {}
    errors: dict[str, dict[str, Any]] = {}
    for message in await repository.user_messages(session, conversation.id):
        for word in message.details.get("words", []):
            if not word.get("was_used"):
                continue
            entry = used.setdefault(
                word["word_id"], {"word": word["word"], "times_used": 0, "times_with_error": 0}
            )
            entry["times_used"] += 1
            entry["times_with_error"] += bool(word.get("had_error"))
        for error in message.details.get("errors", []):
            entry = errors.setdefault(
                error["code"],
                {
                    "category": error["category"],
                    "occurrences": 0,
                    "example": "",
                    "suggestion": None,
                },
            )
            entry["occurrences"] += 1
            entry["example"] = message.content[error["start"] : error["end"]]
            entry["suggestion"] = error.get("suggestion")
    end = conversation.ended_at or conversation.last_activity_at
    turns = conversation.turn_count
    return SessionSummary(
        session_id=conversation.id,
        status=conversation.status,
        xp=conversation.xp_earned,
        turns=turns,
        accuracy=round(conversation.error_free_turns / turns, 4) if turns else None,
        minutes=round((end - conversation.started_at).total_seconds() / 60, 2),
        words_practised=[
            PractisedWord(word_id=word_id, **entry) for word_id, entry in sorted(used.items())
        ],
        top_errors=[
            TopError(code=code, **entry)
            for code, entry in sorted(errors.items(), key=lambda item: -item[1]["occurrences"])[:5]
        ],
    )
