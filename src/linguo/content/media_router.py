"""Media files (lesson audio, images) served from the storage provider.

Public (an `<audio src>` sends no token) and cacheable forever: keys are content addressed.
Only files with a `media_resources` row are served.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from linguo.content import media
from linguo.core.deps import DbSession
from linguo.core.errors import error_responses
from linguo.providers.storage import Storage

router = APIRouter(prefix="/media", tags=["media"])


async def get_storage(request: Request) -> Storage:
    """The app's media storage (`app.state.storage`)."""
    storage: Storage = request.app.state.storage
    return storage


AppStorage = Annotated[Storage, Depends(get_storage)]


async def get_speech(request: Request) -> media.Speech:
    """The app's storage and text-to-speech engine, to record exercise audio."""
    return media.Speech(storage=request.app.state.storage, tts=request.app.state.tts)


AppSpeech = Annotated[media.Speech, Depends(get_speech)]

_FILE_TYPES = ("audio/*", "image/*", "application/octet-stream")


@router.get(
    "/{key:path}",
    response_class=Response,
    summary="A media file",
    responses={
        200: {
            "description": "The file, with its content type",
            "content": {media_type: {} for media_type in _FILE_TYPES},
        },
        206: {
            "description": "The bytes asked for by a single `Range: bytes=first-last`",
            "content": {media_type: {} for media_type in _FILE_TYPES},
        },
        304: {"description": "Not modified (If-None-Match names the current ETag)"},
        **error_responses(404),
    },
)
async def get_media(
    session: DbSession,
    storage: AppStorage,
    key: Annotated[str, Path(description="Storage key, as in an exercise's `audio_url`")],
    if_none_match: Annotated[str | None, Header()] = None,
    range_header: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """The file stored under `key`, e.g. a listening exercise's audio (no token needed).

    Answers with `Cache-Control: public, max-age=31536000, immutable` and an ETag (304 on
    If-None-Match); a single byte range is honoured (206), as Safari's audio player needs.
    """
    resource = await media.find_media(session, key)
    etag = media.media_etag(resource)
    headers = {"ETag": etag, "Cache-Control": media.CACHE_CONTROL, "Accept-Ranges": "bytes"}
    if media.etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    stored = await media.read_media(storage, resource)
    content_type = stored.content_type or resource.mime_type
    size = len(stored.data)
    wanted = media.byte_range(range_header, size)
    if wanted is None:
        return Response(content=stored.data, media_type=content_type, headers=headers)
    first, last = wanted
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Response(
        content=stored.data[first : last + 1],
        status_code=206,
        media_type=content_type,
        headers=headers,
    )
