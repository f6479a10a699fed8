"""HTTP routes of personal flashcards: /flashcards."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, UploadFile, status

from linguo.core.deps import AppSettings, CurrentUser, DbSession, Now
from linguo.core.errors import BadRequest, error_responses
from linguo.core.pagination import Page, Pagination
from linguo.flashcards import export, service
from linguo.flashcards.schemas import (
    FlashcardCreate,
    FlashcardEventRead,
    FlashcardRead,
    FlashcardUpdate,
    ImportSummary,
)
from linguo.srs.router import review_result
from linguo.srs.schemas import CardReview, ReviewResult

router = APIRouter(prefix="/flashcards", tags=["flashcards"], responses=error_responses(401))

FlashcardId = Annotated[uuid.UUID, Path()]


class InvalidBackup(BadRequest):
    """The uploaded backup cannot be imported."""

    message = "The file cannot be imported."


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FlashcardRead,
    responses=error_responses(409),
)
async def create_flashcard(
    data: FlashcardCreate, user: CurrentUser, session: DbSession, now: Now
) -> FlashcardRead:
    """Add your own word or phrase; it joins your queue as a new card."""
    return await service.create_flashcard(session, user, data, now=now)


@router.get("", response_model=Page[FlashcardRead])
async def list_flashcards(
    user: CurrentUser,
    session: DbSession,
    page: Pagination,
    search: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> Page[FlashcardRead]:
    """Your flashcards, newest first, with their scheduling state."""
    items, total = await service.list_flashcards(session, user, search=search, page=page)
    return Page[FlashcardRead](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The cards as a file",
            "content": {"text/csv": {}, "text/tab-separated-values": {}},
        }
    },
)
async def export_cards(
    user: CurrentUser,
    session: DbSession,
    format: Annotated[
        export.ExportFormat, Query(description="csv (backup, re-importable) or anki (TSV)")
    ] = "csv",
    cards: Annotated[
        Literal["all", "flashcards", "words"], Query(description="Which cards to export")
    ] = "all",
) -> Response:
    """Download your cards with their scheduling data (CSV backup or Anki-importable TSV)."""
    body = await service.export_cards(
        session,
        user,
        file_format=format,
        words=cards in ("all", "words"),
        flashcards=cards in ("all", "flashcards"),
    )
    media_type, extension = (
        ("text/tab-separated-values", "txt") if format == "anki" else ("text/csv", "csv")
    )
    return Response(
        content=body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="linguo-cards.{extension}"'},
    )


@router.post("/import", response_model=ImportSummary, responses=error_responses(400))
async def import_cards(
    file: UploadFile, user: CurrentUser, session: DbSession, now: Now
) -> ImportSummary:
    """Restore cards from a CSV made by `/flashcards/export?format=csv`, with their schedule.

    Any bad line refuses the whole file (400, the problems listed in `details`). The upload
    is bounded by the API's body limit (`LINGUO_MAX_BODY_BYTES`; 413 above it).
    """
    raw = await file.read()
    try:
        rows = export.parse_backup(export.decode_backup(raw))
        return await service.import_backup(session, user, rows, now=now)
    except export.BackupFileError as exc:
        raise InvalidBackup(details={"errors": exc.errors}) from exc


@router.get("/{flashcard_id:uuid}", response_model=FlashcardRead, responses=error_responses(404))
async def read_flashcard(
    flashcard_id: FlashcardId, user: CurrentUser, session: DbSession
) -> FlashcardRead:
    """One of your flashcards."""
    return await service.get_flashcard(session, user, flashcard_id)


@router.patch(
    "/{flashcard_id:uuid}", response_model=FlashcardRead, responses=error_responses(404, 409)
)
async def update_flashcard(
    flashcard_id: FlashcardId,
    changes: FlashcardUpdate,
    user: CurrentUser,
    session: DbSession,
    now: Now,
) -> FlashcardRead:
    """Edit a flashcard; its schedule is kept."""
    return await service.update_flashcard(session, user, flashcard_id, changes, now=now)


@router.delete(
    "/{flashcard_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_flashcard(
    flashcard_id: FlashcardId, user: CurrentUser, session: DbSession, now: Now
) -> Response:
    """Delete a flashcard and its schedule."""
    await service.delete_flashcard(session, user, flashcard_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{flashcard_id:uuid}/review", response_model=ReviewResult, responses=error_responses(404)
)
async def review_flashcard(
    flashcard_id: FlashcardId,
    data: CardReview,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    now: Now,
) -> ReviewResult:
    """Rate your recall of a flashcard (0 again .. 3 easy); FSRS schedules the next review."""
    outcome = await service.review_flashcard(
        session,
        user,
        flashcard_id,
        data.rating,
        settings,
        duration_ms=data.response_time_ms,
        now=now,
    )
    return review_result(outcome)


@router.get(
    "/{flashcard_id:uuid}/events",
    response_model=Page[FlashcardEventRead],
    responses=error_responses(404),
)
async def flashcard_events(
    flashcard_id: FlashcardId, user: CurrentUser, session: DbSession, page: Pagination
) -> Page[FlashcardEventRead]:
    """A flashcard's history (created, updated, reviewed), newest first."""
    items, total = await service.flashcard_events(session, user, flashcard_id, page)
    return Page[FlashcardEventRead](items=items, total=total, limit=page.limit, offset=page.offset)
