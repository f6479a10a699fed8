"""HTTP routes of conversation sessions: /sessions/* (the WebSocket lives in ws.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request

from linguo.conversation import service
from linguo.conversation.hub import SessionHub
from linguo.conversation.schemas import (
    MessageCreate,
    MessagesPage,
    SessionCreate,
    SessionCreated,
    SessionRead,
    SessionSummary,
    SessionUpdate,
    TurnResult,
)
from linguo.core.deps import AppSettings, CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.providers.llm.chain import ProviderChain

router = APIRouter(prefix="/sessions", tags=["conversation"], responses=error_responses(401))


async def get_chain(request: Request) -> ProviderChain:
    """The app's language-model chain (no providers: the offline tutor answers)."""
    chain: ProviderChain = request.app.state.llm_chain
    return chain


async def get_hub(request: Request) -> SessionHub:
    """The app's WebSocket fan-out."""
    hub: SessionHub = request.app.state.session_hub
    return hub


Chain = Annotated[ProviderChain, Depends(get_chain)]
Hub = Annotated[SessionHub, Depends(get_hub)]


@router.post("", status_code=201, response_model=SessionCreated, responses=error_responses(422))
async def create_session(
    body: SessionCreate,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    chain: Chain,
    now: Now,
) -> SessionCreated:
    """Open a conversation in the learner's target language, greeted by the tutor.

    Styles: tutor, casual, travel, business, roleplay, storytelling, debate, interviewer.
    """
    return await service.create_session(session, user, body, settings, chain, now=now)


@router.get("/{session_id}", response_model=SessionRead, responses=error_responses(404))
async def get_session(session_id: uuid.UUID, user: CurrentUser, session: DbSession) -> SessionRead:
    """One of the caller's sessions."""
    return SessionRead.model_validate(await service.get_session(session, session_id, user))


@router.get("/{session_id}/messages", response_model=MessagesPage, responses=error_responses(404))
async def list_messages(
    session_id: uuid.UUID,
    user: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MessagesPage:
    """The session's messages, oldest first."""
    items, total = await service.list_messages(
        session, session_id, user, limit=limit, offset=offset
    )
    return MessagesPage(items=items, total=total)


@router.post(
    "/{session_id}/messages", response_model=TurnResult, responses=error_responses(404, 409)
)
async def send_message(
    session_id: uuid.UUID,
    body: MessageCreate,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    chain: Chain,
    hub: Hub,
    now: Now,
    background: BackgroundTasks,
) -> TurnResult:
    """Say something to the tutor: errors found, words practised, XP, and the reply.

    409 `session_closed` once the session is completed or abandoned. The result is also
    sent to the session's WebSocket connections, after it is stored.
    """
    result = await service.take_turn(
        session,
        session_id,
        user,
        body.content,
        body.suggested_word_ids or [],
        settings,
        chain,
        now=now,
    )
    background.add_task(
        hub.broadcast,
        str(session_id),
        {"type": "turn_result", "data": result.model_dump(mode="json")},
    )
    return result


@router.patch("/{session_id}", response_model=SessionRead, responses=error_responses(404, 409))
async def update_session(
    session_id: uuid.UUID, body: SessionUpdate, user: CurrentUser, session: DbSession, now: Now
) -> SessionRead:
    """Pause, resume, complete or abandon. A completed or abandoned session can't reopen."""
    changed = await service.change_status(session, session_id, user, body.status, now=now)
    return SessionRead.model_validate(changed)


@router.get("/{session_id}/summary", response_model=SessionSummary, responses=error_responses(404))
async def session_summary(
    session_id: uuid.UUID, user: CurrentUser, session: DbSession
) -> SessionSummary:
    """XP, turns, accuracy (share of turns without errors), words practised, top errors."""
    return await service.summary(session, session_id, user)
