"""Speech adapters: text-to-speech behind a Protocol, with Debian's espeak-ng offline."""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import wave
from dataclasses import dataclass
from typing import Protocol


class SpeechUnavailable(RuntimeError):
    """The speech engine is missing or failed."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Synthesised speech."""

    data: bytes
    mime_type: str
    duration_ms: int


class TextToSpeech(Protocol):
    """Turns text in a language into audio."""

    name: str

    async def synthesize(self, text: str, language: str) -> Audio:
        """Speech for `text` read in `language` (ISO 639-1)."""


class EspeakTTS:
    """espeak-ng (Debian package `espeak-ng`): every language, offline, WAV output."""

    name = "espeak-ng"

    def __init__(self, binary: str = "espeak-ng", *, words_per_minute: int = 150) -> None:
        self.binary = binary
        self.words_per_minute = words_per_minute

    def available(self) -> bool:
        """Whether the espeak-ng program is installed."""
        return shutil.which(self.binary) is not None

    async def synthesize(self, text: str, language: str) -> Audio:
        """See TextToSpeech.synthesize; the text goes on stdin, never on the command line."""
        if not text.strip():
            raise ValueError("nothing to say")
        try:
            process = await asyncio.create_subprocess_exec(
                self.binary,
                "-v",
                language,
                "-s",
                str(self.words_per_minute),
                "--stdin",
                "--stdout",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise SpeechUnavailable(f"{self.binary} is not installed") from exc
        data, errors = await asyncio.wait_for(process.communicate(text.encode()), timeout=30)
        if process.returncode != 0 or not data:
            raise SpeechUnavailable(f"{self.binary} failed: {errors.decode(errors='replace')}")
        data, duration_ms = _complete_wav(data)
        return Audio(data=data, mime_type="audio/wav", duration_ms=duration_ms)


def _complete_wav(data: bytes) -> tuple[bytes, int]:
    """Fill in the sizes a streamed WAV header leaves unknown; returns it and its length.

    espeak-ng writing to a pipe cannot seek back, so the RIFF and data chunk sizes it
    writes are dummy values that players and `wave` misread.
    """
    marker = data.find(b"data", 12)
    if not data.startswith(b"RIFF") or marker < 0:
        raise SpeechUnavailable("the speech engine did not produce WAV audio")
    payload = len(data) - (marker + 8)
    fixed = bytearray(data)
    fixed[4:8] = struct.pack("<I", len(data) - 8)
    fixed[marker + 4 : marker + 8] = struct.pack("<I", payload)
    with wave.open(io.BytesIO(bytes(fixed))) as audio:
        frame_size = audio.getsampwidth() * audio.getnchannels()
        duration_ms = round(payload / frame_size * 1000 / audio.getframerate())
    return bytes(fixed), duration_ms
