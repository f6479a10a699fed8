"""WebSocket of a conversation session: `/api/v1/sessions/{id}/ws` (protocol in API.md).

The token comes as `?token=` (browsers cannot set headers on a WebSocket) or as an
`Authorization: Bearer` header. The socket is accepted first, then closed with 1008 when
the token is bad or the session is not the caller's, so clients always see the close code.

Each learner message runs as its own task: the turn's deltas and result are broadcast to
every connection of the session (on every replica, through the hub) while this connection
keeps answering heartbeats. Turns of one session are serialised by the session's row lock.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.conversation import service
from linguo.conversation.hub import Connection, SessionHub
from linguo.conversation.schemas import MessageText, SessionRead, WordId
from linguo.core.db import Database
from linguo.core.errors import AppError, ErrorCode
from linguo.core.jobs import deferred_jobs
from linguo.core.security import decode_access_token
from linguo.models.identity import User

router = APIRouter(tags=["conversation"])


class UserMessage(BaseModel):
    """The learner says something."""

    type: Literal["user_message"]
    content: MessageText
    suggested_words: Annotated[list[WordId], Field(max_length=20)] = []


class Typing(BaseModel):
    """The learner started or stopped typing."""

    type: Literal["typing"]
    is_typing: Annotated[bool, Field(strict=True)]


class Heartbeat(BaseModel):
    """Keep-alive; answered with the server time."""

    type: Literal["heartbeat"]


ClientMessage = TypeAdapter(
    Annotated[UserMessage | Typing | Heartbeat, Field(discriminator="type")]
)


@asynccontextmanager
async def _unit_of_work(database: Database) -> AsyncIterator[AsyncSession]:
    """One transaction, committed at the end; jobs sent after the commit (as for requests)."""
    async with database.sessionmaker() as session, deferred_jobs() as jobs:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        await jobs.send()


def _error(code: str, detail: Any) -> dict[str, Any]:
    return {"type": "error", "data": {"code": code, "detail": detail}}


async def _authorise(websocket: WebSocket, session_id: str) -> tuple[User, SessionRead] | None:
    app = websocket.app
    settings: Settings = app.state.settings
    token = websocket.query_params.get("token")
    header = websocket.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token:
        return None
    try:
        claims = decode_access_token(token, key=app.state.signing_key, issuer=settings.jwt_issuer)
        conversation_id = uuid.UUID(session_id)
    except (AppError, ValueError):
        return None
    async with _unit_of_work(app.state.db) as session:
        user = await session.get(User, claims.user_id)
        if user is None or not user.is_active:
            return None
        try:
            conversation = await service.get_session(session, conversation_id, user)
        except AppError:
            return None
        session.expunge(user)
        return user, SessionRead.model_validate(conversation)


async def _turn(
    websocket: WebSocket,
    hub: SessionHub,
    connection: Connection,
    user: User,
    session_id: str,
    message: UserMessage,
) -> None:
    app = websocket.app
    clock = app.state.clock

    async def delta(text: str) -> None:
        await hub.broadcast(session_id, {"type": "assistant_delta", "data": {"text": text}})

    try:
        async with _unit_of_work(app.state.db) as session:
            user_here = await session.merge(user, load=False)
            result = await service.take_turn(
                session,
                uuid.UUID(session_id),
                user_here,
                message.content,
                message.suggested_words,
                app.state.settings,
                app.state.llm_chain,
                now=clock(),
                on_delta=delta,
            )
    except AppError as exc:
        await connection.deliver(_error(exc.code, exc.message))
        return
    await hub.broadcast(session_id, {"type": "turn_result", "data": result.model_dump(mode="json")})


@router.websocket("/sessions/{session_id}/ws")
async def session_socket(websocket: WebSocket, session_id: str) -> None:
    """Live conversation: session_ready, then user_message / typing / heartbeat."""
    await websocket.accept()
    authorised = await _authorise(websocket, session_id)
    if authorised is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    user, conversation = authorised
    hub: SessionHub = websocket.app.state.session_hub
    connection = Connection(id=uuid.uuid4().hex, user_id=str(user.id), send=websocket.send_json)
    await hub.join(session_id, connection)
    turns: set[asyncio.Task[None]] = set()
    try:
        await websocket.send_json(
            {
                "type": "session_ready",
                "data": {
                    "session": conversation.model_dump(mode="json"),
                    "active_user_ids": await hub.active_user_ids(session_id),
                },
            }
        )
        while True:
            incoming = await websocket.receive()
            if incoming["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(incoming.get("code", 1000))
            raw = incoming.get("text") or (incoming.get("bytes") or b"").decode(errors="replace")
            try:
                message = ClientMessage.validate_python(json.loads(raw))
            except json.JSONDecodeError:
                await websocket.send_json(_error(ErrorCode.VALIDATION_ERROR, "not valid JSON"))
                continue
            except ValidationError as exc:
                detail = [
                    {"loc": list(error["loc"]), "message": error["msg"]} for error in exc.errors()
                ]
                await websocket.send_json(_error(ErrorCode.VALIDATION_ERROR, detail))
                continue
            if isinstance(message, Heartbeat):
                await hub.touch(session_id, connection)
                now: datetime = websocket.app.state.clock()
                await websocket.send_json(
                    {"type": "heartbeat", "data": {"server_time": now.isoformat()}}
                )
            elif isinstance(message, Typing):
                await hub.broadcast(
                    session_id,
                    {
                        "type": "typing",
                        "data": {"user_id": str(user.id), "is_typing": message.is_typing},
                    },
                    exclude=connection.id,
                )
            else:
                task = asyncio.create_task(
                    _turn(websocket, hub, connection, user, session_id, message)
                )
                turns.add(task)
                task.add_done_callback(turns.discard)
    except WebSocketDisconnect:
        pass
    finally:
        connection.closed = True
        await hub.leave(session_id, connection)
        # A turn already under way finishes and is stored; others still receive it.
        if turns:
            await asyncio.gather(*turns, return_exceptions=True)
