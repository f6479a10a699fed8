"""Media files: where they are stored, their URLs, synthesised speech, and serving them.

Files live in a `Storage` (local folder by default: `settings.media_dir`, else
`<data_dir>/media`); every file a learner can fetch has a `media_resources` row, and only
those are served, at `/api/v1/media/<storage key>`.

Speech is content addressed: the key of a recording is derived from its language, the
engine's name and the text (``audio/<lang>/<h[:2]>/<h>.wav`` with h = SHA-256 of the three),
so a text is synthesised once and its URL can be cached forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import uuid
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.content import media_repository
from linguo.content.media_repository import NewMedia
from linguo.core.errors import NotFound
from linguo.models.content import MediaKind, MediaResource
from linguo.providers.speech import EspeakTTS, SpeechUnavailable, TextToSpeech
from linguo.providers.storage import InvalidKey, LocalStorage, Storage, StoredObject, check_key

logger = logging.getLogger(__name__)

MEDIA_URL_PREFIX = "/api/v1/media/"
CACHE_CONTROL = "public, max-age=31536000, immutable"
"""Media keys are content addressed: a URL always names the same bytes."""

_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/flac": "flac",
}
WAV = "audio/wav"
_RANGE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)


def storage_from_settings(settings: Settings) -> Storage:
    """The media storage: a folder, `settings.media_dir` or else `<data_dir>/media`."""
    return LocalStorage(settings.media_dir or settings.data_dir / "media")


def media_url(storage_key: str) -> str:
    """The API path serving the file stored under `storage_key`."""
    return MEDIA_URL_PREFIX + storage_key


def default_tts() -> TextToSpeech | None:
    """espeak-ng when it is installed, else None (no speech)."""
    engine = EspeakTTS()
    return engine if engine.available() else None


# --------------------------------------------------------------------------- speech


def speech_stem(language: str, engine: str, text: str) -> str:
    """The storage key of the recording of `text` without its extension."""
    digest = hashlib.sha256(f"{language}\n{engine}\n{text}".encode()).hexdigest()
    return f"audio/{language.lower()}/{digest[:2]}/{digest}"


def speech_key(language: str, engine: str, text: str, mime_type: str = WAV) -> str:
    """The content-addressed storage key of the recording of `text` (a valid storage key)."""
    extension = _EXTENSIONS.get(mime_type.split(";")[0].strip().lower(), "bin")
    return check_key(f"{speech_stem(language, engine, text)}.{extension}")


def wav_duration_ms(data: bytes) -> int | None:
    """The length of a WAV file in milliseconds; None if `data` is not a readable WAV."""
    try:
        with wave.open(io.BytesIO(data)) as audio:
            frames, rate = audio.getnframes(), audio.getframerate()
    except (wave.Error, EOFError):
        return None
    return round(frames * 1000 / rate) if rate else None


@dataclass
class SpeechPlan:
    """Recordings for a list of texts, prepared before anything is written to the database.

    `existing` are resources already recorded (ids by text); `new` are files now in storage
    that need a row (by text); `missing` are texts with no recording, because there is no
    engine or it failed (`problem` says which).
    """

    existing: dict[str, uuid.UUID] = field(default_factory=dict)
    new: dict[str, NewMedia] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    problem: str | None = None


async def prepare_speech(
    session: AsyncSession,
    storage: Storage,
    tts: TextToSpeech | None,
    language: str,
    texts: Sequence[str],
    *,
    concurrency: int = 4,
) -> SpeechPlan:
    """Find or synthesise (a few at a time) and store the recording of every text.

    Only reads the database. A text recorded before by the same engine is reused; so is a
    WAV file left in storage by an import that was rolled back. Without an engine, any
    stored recording of the text (by any engine) is reused.
    """
    plan = SpeechPlan()
    if not texts:
        return plan
    rows = await media_repository.speech_for_transcripts(session, language, set(texts))
    by_text: dict[str, list[MediaResource]] = {}
    for row in rows:
        if row.transcript is not None:
            by_text.setdefault(row.transcript, []).append(row)
    to_make: list[str] = []
    for text in texts:
        candidates = by_text.get(text, [])
        if tts is not None:
            stem = speech_stem(language, tts.name, text) + "."
            candidates = [row for row in candidates if row.storage_key.startswith(stem)]
        if candidates:
            plan.existing[text] = candidates[0].id
        else:
            to_make.append(text)
    if tts is None:
        plan.missing = to_make
        plan.problem = "no text-to-speech engine is installed" if to_make else None
        return plan

    limit = asyncio.Semaphore(concurrency)

    async def make(text: str) -> NewMedia | str:
        async with limit:
            try:
                return await _record(storage, tts, language, text)
            except (SpeechUnavailable, TimeoutError, OSError, ValueError) as exc:
                return str(exc) or type(exc).__name__

    results = await asyncio.gather(*(make(text) for text in to_make))
    for text, result in zip(to_make, results, strict=True):
        if isinstance(result, NewMedia):
            plan.new[text] = result
        else:
            plan.missing.append(text)
            plan.problem = plan.problem or f"text-to-speech failed: {result.strip()}"
    return plan


@dataclass(frozen=True, slots=True)
class Speech:
    """Where recordings go and what makes them (None: no engine installed)."""

    storage: Storage
    tts: TextToSpeech | None


async def record_speech(
    session: AsyncSession, speech: Speech, language: str, text: str
) -> uuid.UUID | None:
    """The media id of a recording of `text`, reused or made now; None when none can be made."""
    plan = await prepare_speech(session, speech.storage, speech.tts, language, [text])
    if text in plan.existing:
        return plan.existing[text]
    if text in plan.new:
        made = plan.new[text]
        return (await media_repository.insert_media(session, [made]))[made.storage_key]
    return None


async def _record(storage: Storage, tts: TextToSpeech, language: str, text: str) -> NewMedia:
    key = speech_key(language, tts.name, text, WAV)
    if await storage.exists(key):
        stored = await storage.get(key)
        duration = wav_duration_ms(stored.data)
        if duration is not None:
            return _speech_media(key, WAV, stored.data, duration, language, text)
    audio = await tts.synthesize(text, language)
    key = speech_key(language, tts.name, text, audio.mime_type)
    await storage.put(key, audio.data, audio.mime_type)
    return _speech_media(key, audio.mime_type, audio.data, audio.duration_ms, language, text)


def _speech_media(
    key: str, mime_type: str, data: bytes, duration_ms: int, language: str, text: str
) -> NewMedia:
    return NewMedia(
        kind=MediaKind.AUDIO,
        storage_key=key,
        mime_type=mime_type,
        size_bytes=len(data),
        duration_ms=duration_ms,
        language=language,
        transcript=text,
    )


# --------------------------------------------------------------------------- serving


async def find_media(session: AsyncSession, storage_key: str) -> MediaResource:
    """The media resource under `storage_key`; 404 for unknown or malformed keys."""
    try:
        check_key(storage_key)
    except InvalidKey:
        raise NotFound("No such media file.") from None
    media = await media_repository.get_by_key(session, storage_key)
    if media is None:
        raise NotFound("No such media file.")
    return media


async def read_media(storage: Storage, media: MediaResource) -> StoredObject:
    """The file of a media resource; 404 (and a logged error) if storage lost it."""
    try:
        return await storage.get(media.storage_key)
    except FileNotFoundError:
        logger.error("media file missing from storage", extra={"key": media.storage_key})
        raise NotFound("No such media file.") from None


def media_etag(media: MediaResource) -> str:
    """A strong ETag for the resource's file (keys are content addressed)."""
    digest = hashlib.sha256(f"{media.storage_key}:{media.size_bytes}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks)."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in tags or bare in (tag.removeprefix("W/") for tag in tags)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a single `Range: bytes=...` asks for, if it can be served.

    Anything else (several ranges, other units, unsatisfiable) gives None: the whole file is
    sent instead, which RFC 9110 allows.
    """
    match = _RANGE.match(header or "")
    if match is None or size == 0:
        return None
    first_text, last_text = match.groups()
    if first_text:
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    elif last_text:
        first, last = max(size - int(last_text), 0), size - 1
    else:
        return None
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)
