"""The storage and speech providers: local files and espeak-ng, for real."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from linguo.providers.speech import EspeakTTS, SpeechUnavailable
from linguo.providers.storage import InvalidKey, LocalStorage


@pytest.fixture(autouse=True)
async def _clean_state() -> AsyncIterator[None]:
    """No database here: replaces conftest's cleanup."""
    yield


async def test_local_storage_round_trips_bytes_and_content_type(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    assert not await storage.exists("audio/ab/clip.wav")
    await storage.put("audio/ab/clip.wav", b"RIFF1234", "audio/wav")
    stored = await storage.get("audio/ab/clip.wav")
    assert (stored.data, stored.content_type) == (b"RIFF1234", "audio/wav")
    await storage.put("audio/ab/clip.wav", b"new", "audio/x-wav")
    assert (await storage.get("audio/ab/clip.wav")).data == b"new"
    assert await storage.delete("audio/ab/clip.wav")
    assert not await storage.delete("audio/ab/clip.wav")
    with pytest.raises(FileNotFoundError):
        await storage.get("audio/ab/clip.wav")
    # Nothing but the folders is left behind: no temporary files.
    assert [path for path in (tmp_path / "media").rglob("*") if path.is_file()] == []


@pytest.mark.parametrize(
    "key", ["../secret", "a/../../b", "/etc/passwd", "Audio/x.wav", "a//b", "", "a/", ".hidden"]
)
async def test_local_storage_refuses_keys_that_leave_its_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "media")
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        await storage.get(key)
    assert not (tmp_path / "secret").exists()


async def test_espeak_speaks_a_playable_wav_whose_length_is_known() -> None:
    assert EspeakTTS().available(), "make test installs Debian espeak-ng"
    short = await EspeakTTS().synthesize("Bonjour.", "fr")
    long = await EspeakTTS().synthesize("Bonjour, je m'appelle Marie et j'habite à Paris.", "fr")
    for audio in (short, long):
        assert audio.mime_type == "audio/wav"
        with wave.open(io.BytesIO(audio.data)) as clip:
            frames_ms = clip.getnframes() * 1000 / clip.getframerate()
        # The header's sizes are real (a streamed WAV from a pipe has placeholders).
        assert abs(frames_ms - audio.duration_ms) <= 1
    assert 200 < short.duration_ms < long.duration_ms < 10_000


async def test_espeak_reports_a_missing_program_and_empty_text() -> None:
    with pytest.raises(SpeechUnavailable):
        await EspeakTTS(binary="no-such-espeak").synthesize("hola", "es")
    with pytest.raises(ValueError, match="nothing to say"):
        await EspeakTTS().synthesize("   ", "es")
