"""Queries of media resources (the `media_resources` table)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.content import Exercise, MediaKind, MediaResource


@dataclass(frozen=True, slots=True)
class NewMedia:
    """A file already in storage that needs its `media_resources` row."""

    kind: MediaKind
    storage_key: str
    mime_type: str
    size_bytes: int
    duration_ms: int | None = None
    language: str | None = None
    transcript: str | None = None


async def get_by_key(session: AsyncSession, storage_key: str) -> MediaResource | None:
    """The media resource stored under `storage_key`, if any."""
    return await session.scalar(
        select(MediaResource).where(MediaResource.storage_key == storage_key)
    )


async def speech_for_transcripts(
    session: AsyncSession, language: str, transcripts: Collection[str]
) -> Sequence[MediaResource]:
    """Audio resources of `language` saying any of `transcripts`, by storage key."""
    if not transcripts:
        return []
    stmt = (
        select(MediaResource)
        .where(
            MediaResource.kind == MediaKind.AUDIO,
            MediaResource.language == language,
            MediaResource.transcript.in_(list(transcripts)),
        )
        .order_by(MediaResource.storage_key)
    )
    return (await session.scalars(stmt)).all()


async def insert_media(session: AsyncSession, files: Sequence[NewMedia]) -> dict[str, uuid.UUID]:
    """Create the rows of `files` (rows that already exist are kept); ids by storage key.

    Concurrent imports may create the same content-addressed file: the first row wins.
    """
    if not files:
        return {}
    stmt = (
        insert(MediaResource)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "kind": item.kind,
                    "storage_key": item.storage_key,
                    "mime_type": item.mime_type,
                    "size_bytes": item.size_bytes,
                    "duration_ms": item.duration_ms,
                    "language": item.language,
                    "transcript": item.transcript,
                    "reference_count": 0,
                }
                for item in files
            ]
        )
        .on_conflict_do_nothing(index_elements=[MediaResource.storage_key])
    )
    await session.execute(stmt)
    keys = [item.storage_key for item in files]
    rows = await session.execute(
        select(MediaResource.storage_key, MediaResource.id).where(
            MediaResource.storage_key.in_(keys)
        )
    )
    return {key: media_id for key, media_id in rows.all()}


async def refresh_reference_counts(session: AsyncSession, media_ids: Collection[uuid.UUID]) -> None:
    """Set `reference_count` of these resources to the number of exercises using them.

    Rows whose count is already right are not written.
    """
    if not media_ids:
        return
    using = (
        select(func.count())
        .select_from(Exercise)
        .where(Exercise.audio_media_id == MediaResource.id)
        .scalar_subquery()
    )
    await session.execute(
        update(MediaResource)
        .where(MediaResource.id.in_(list(media_ids)), MediaResource.reference_count != using)
        .values(reference_count=using, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
