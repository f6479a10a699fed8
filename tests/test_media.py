"""Media files: synthesised lesson audio served at /api/v1/media/<key>.

Covers what a browser's <audio> element relies on (public access, the content type, a valid
WAV, byte ranges, long-lived caching with ETag revalidation), that only recorded media is
served (no arbitrary or traversing paths), and the reference counts kept by imports.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from linguo.content.importer import CourseImportReport, import_course
from linguo.content.librelingo import load_course
from linguo.content.media import (
    CACHE_CONTROL,
    byte_range,
    default_tts,
    etag_matches,
    media_url,
    speech_key,
    storage_from_settings,
)
from linguo.core.db import Database
from linguo.providers.speech import TextToSpeech
from linguo.providers.storage import LocalStorage, check_key
from tests.conftest import TestServers, make_settings

API = "/api/v1"

COURSE_YAML = """\
Course:
  Language:
    Name: Spanish
    IETF BCP 47: es
  For speakers of:
    Name: English
    IETF BCP 47: en
  License:
    Name: Attribution 4.0 International
    Short name: CC BY 4.0
    Link: https://creativecommons.org/licenses/by/4.0/
  Special characters: []
Modules:
  - basics/
Settings:
  Audio:
    Enabled: True
"""

MODULE_YAML = """\
Module:
  Name: Basics
Skills:
{skills}
"""

ANIMALS_YAML = """\
Skill:
  Name: Animals
  Id: animals
New words:
  - Word: gato
    Translation: cat
  - Word: perro
    Translation: dog
Phrases:
  - Phrase: El gato come
    Translation: The cat eats
Mini-dictionary:
  Spanish:
    - el: the
    - come: eats
  English:
    - the: el
    - eats: come
"""

COLOURS_YAML = """\
Skill:
  Name: Colours
  Id: colours
New words:
  - Word: rojo
    Translation: red
  - Word: azul
    Translation: blue
Phrases: []
"""


def write_course(root: Path, skills: tuple[str, ...] = ("animals", "colours")) -> Path:
    """A two-skill Spanish course in LibreLingo's format under root/tiny-spanish."""
    course = root / "tiny-spanish"
    (course / "basics" / "skills").mkdir(parents=True, exist_ok=True)
    (course / "course.yaml").write_text(COURSE_YAML, encoding="utf-8")
    listed = "\n".join(f"  - {skill}.yaml" for skill in skills)
    (course / "basics" / "module.yaml").write_text(
        MODULE_YAML.format(skills=listed), encoding="utf-8"
    )
    (course / "basics" / "skills" / "animals.yaml").write_text(ANIMALS_YAML, encoding="utf-8")
    (course / "basics" / "skills" / "colours.yaml").write_text(COLOURS_YAML, encoding="utf-8")
    return course


@pytest.fixture
def tts() -> TextToSpeech:
    engine = default_tts()
    assert engine is not None, "espeak-ng is installed by make test"
    return engine


@pytest.fixture
def storage(tmp_path: Path, app: FastAPI) -> Iterator[LocalStorage]:
    """A fresh media folder, also the one the shared app serves from."""
    local = LocalStorage(tmp_path / "media")
    saved = app.state.storage
    app.state.storage = local
    yield local
    app.state.storage = saved


async def import_path(
    database: Database, path: Path, storage: LocalStorage, tts: TextToSpeech | None
) -> CourseImportReport:
    async with database.session() as session:
        return await import_course(session, load_course(path), storage=storage, tts=tts)


async def listening_audio(database: Database) -> list[dict[str, Any]]:
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT e.audio_text, m.storage_key, m.mime_type, m.size_bytes, m.duration_ms,"
                " m.reference_count, m.transcript, m.language"
                " FROM exercises e JOIN media_resources m ON m.id = e.audio_media_id"
                " WHERE e.type = 'listening' ORDER BY e.audio_text"
            )
        )
        return [dict(row._mapping) for row in rows]


async def test_listening_audio_is_a_public_cacheable_wav(
    client: httpx.AsyncClient,
    database: Database,
    storage: LocalStorage,
    tts: TextToSpeech,
    tmp_path: Path,
) -> None:
    report = await import_path(database, write_course(tmp_path), storage, tts)
    assert report.media_created == 5 and report.warnings == ()
    audio = await listening_audio(database)
    assert [row["audio_text"] for row in audio] == ["El gato come", "azul", "gato", "perro", "rojo"]
    first = audio[0]
    assert first["storage_key"] == speech_key("es", "espeak-ng", "El gato come")
    assert first["storage_key"].startswith("audio/es/") and first["storage_key"].endswith(".wav")
    assert first["mime_type"] == "audio/wav" and first["language"] == "es"
    assert first["transcript"] == "El gato come" and first["reference_count"] == 1

    # No token: an <audio src> sends none.
    response = await client.get(media_url(first["storage_key"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == CACHE_CONTROL
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == first["size_bytes"] == len(response.content)
    assert "content-encoding" not in response.headers
    with wave.open(io.BytesIO(response.content)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 0.3 < seconds < 5
    assert abs(seconds * 1000 - first["duration_ms"]) < 50

    etag = response.headers["etag"]
    again = await client.get(media_url(first["storage_key"]), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == CACHE_CONTROL
    weak = await client.get(
        media_url(first["storage_key"]), headers={"If-None-Match": f'"other", W/{etag}'}
    )
    assert weak.status_code == 304
    stale = await client.get(media_url(first["storage_key"]), headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200 and stale.content == response.content

    # Safari's player asks for byte ranges.
    partial = await client.get(media_url(first["storage_key"]), headers={"Range": "bytes=0-3"})
    assert partial.status_code == 206 and partial.content == b"RIFF"
    assert partial.headers["content-range"] == f"bytes 0-3/{first['size_bytes']}"
    tail = await client.get(media_url(first["storage_key"]), headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == response.content[-10:]
    unsatisfiable = await client.get(
        media_url(first["storage_key"]), headers={"Range": f"bytes={first['size_bytes']}-"}
    )
    assert unsatisfiable.status_code == 200 and unsatisfiable.content == response.content


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "audio/es/00/0000000000000000000000000000000000000000000000000000000000000000.wav",
        "..%2F..%2Fpyproject.toml",
        "audio/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "audio//es.wav",
        "Audio/ES/x.wav",
        "%00",
        "",
    ],
)
async def test_unknown_and_invalid_keys_are_not_found(
    client: httpx.AsyncClient, storage: LocalStorage, path: str
) -> None:
    assert_not_found(await client.get(f"{API}/media/{path}"))


async def test_only_recorded_media_is_served(
    client: httpx.AsyncClient, storage: LocalStorage, database: Database
) -> None:
    # A file that is in storage but has no media resource is not served.
    await storage.put("audio/es/ab/private.wav", b"RIFF....", "audio/wav")
    assert_not_found(await client.get(f"{API}/media/audio/es/ab/private.wav"))
    # A resource whose file storage lost is a 404 too, not a 500.
    async with database.session() as session:
        await session.execute(
            text(
                "INSERT INTO media_resources (id, kind, storage_key, mime_type, size_bytes)"
                " VALUES (gen_random_uuid(), 'audio', 'audio/es/cd/lost.wav', 'audio/wav', 8)"
            )
        )
    assert_not_found(await client.get(f"{API}/media/audio/es/cd/lost.wav"))


async def test_reference_counts_follow_the_exercises(
    database: Database, storage: LocalStorage, tts: TextToSpeech, tmp_path: Path
) -> None:
    course = write_course(tmp_path)
    await import_path(database, course, storage, tts)
    assert {row["reference_count"] for row in await listening_audio(database)} == {1}

    # The Colours skill leaves the course: its lesson and exercises go, its audio is unused
    # (the files stay: they are content addressed and cheap to keep).
    write_course(tmp_path, skills=("animals",))
    report = await import_path(database, course, storage, tts)
    assert report.changed and report.lessons == 1 and report.media_created == 0
    async with database.session() as session:
        rows = await session.execute(
            text("SELECT transcript, reference_count FROM media_resources")
        )
        counts = {transcript: count for transcript, count in rows.all()}
    assert counts == {"El gato come": 1, "gato": 1, "perro": 1, "rojo": 0, "azul": 0}

    # Back again: the recordings are reused, not made twice.
    write_course(tmp_path)
    report = await import_path(database, course, storage, tts)
    assert report.media_created == 0 and report.lessons == 2
    assert {row["reference_count"] for row in await listening_audio(database)} == {1}


def test_speech_keys_are_valid_content_addressed_storage_keys() -> None:
    key = speech_key("pt-BR", "espeak-ng", "Olá, tudo bem?")
    assert check_key(key) == key and key.startswith("audio/pt-br/")
    assert key == speech_key("pt-BR", "espeak-ng", "Olá, tudo bem?")
    assert key != speech_key("pt-BR", "espeak-ng", "Olá, tudo bem")
    assert key != speech_key("pt-BR", "other-engine", "Olá, tudo bem?")
    assert speech_key("es", "x", "hola", "audio/mpeg").endswith(".mp3")


def test_storage_lives_in_the_media_dir_or_the_data_dir(
    servers: TestServers, tmp_path: Path
) -> None:
    configured = storage_from_settings(make_settings(servers, media_dir=tmp_path / "m"))
    assert isinstance(configured, LocalStorage) and configured.root == tmp_path / "m"
    default = storage_from_settings(make_settings(servers, data_dir=tmp_path / "d", media_dir=None))
    assert isinstance(default, LocalStorage) and default.root == tmp_path / "d" / "media"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-3", 10, (0, 3)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-4", 10, (6, 9)),
        ("bytes=-40", 10, (0, 9)),
        ("bytes=2-400", 10, (2, 9)),
        ("BYTES = 1 - 2", 10, (1, 2)),
        ("bytes=10-", 10, None),
        ("bytes=4-2", 10, None),
        ("bytes=0-1,4-5", 10, None),
        ("bytes=-", 10, None),
        ("bytes=1_0-", 100, None),
        ("items=0-1", 10, None),
        ("bytes=0-1", 0, None),
        (None, 10, None),
    ],
)
def test_byte_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"a"', True),
        ('W/"a"', True),
        ('"b", "a"', True),
        ("*", True),
        ('"b"', False),
        (None, False),
    ],
)
def test_if_none_match(header: str | None, expected: bool) -> None:
    assert etag_matches(header, '"a"') is expected
