"""Where media files live: a small Protocol, and the local-filesystem default.

Keys are relative, slash-separated names (`audio/ab/abcdef.wav`) so that an S3 adapter can
use them as object keys unchanged. Content is addressed by the caller (e.g. by hash).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
MAX_KEY_LENGTH = 512


class InvalidKey(ValueError):
    """A storage key that is not a safe relative name."""


def check_key(key: str) -> str:
    """`key` if it is lower-case `segment/segment` with no `..`; else InvalidKey."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidKey(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A stored file's bytes and what they are."""

    data: bytes
    content_type: str


class Storage(Protocol):
    """A blob store. Implementations must be safe to share between requests."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there, atomically."""

    async def get(self, key: str) -> StoredObject:
        """The object under `key`; FileNotFoundError if there is none."""

    async def delete(self, key: str) -> bool:
        """Remove `key`; False if it did not exist."""

    async def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""


class LocalStorage:
    """Files under a root folder; the content type is kept in a `.type` file beside each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """See Storage.put (write to a temporary file, then rename)."""
        path = self._path(key)
        await asyncio.to_thread(self._write, path, data, content_type)

    @staticmethod
    def _write(path: Path, data: bytes, content_type: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, payload in ((path, data), (_type_file(path), content_type.encode())):
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
            os.replace(temporary, target)

    async def get(self, key: str) -> StoredObject:
        """See Storage.get."""
        path = self._path(key)
        return await asyncio.to_thread(self._read, path)

    @staticmethod
    def _read(path: Path) -> StoredObject:
        data = path.read_bytes()
        type_file = _type_file(path)
        content_type = type_file.read_text() if type_file.exists() else "application/octet-stream"
        return StoredObject(data=data, content_type=content_type)

    async def delete(self, key: str) -> bool:
        """See Storage.delete."""
        path = self._path(key)

        def remove() -> bool:
            _type_file(path).unlink(missing_ok=True)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

        return await asyncio.to_thread(remove)

    async def exists(self, key: str) -> bool:
        """See Storage.exists."""
        return await asyncio.to_thread(self._path(key).is_file)


def _type_file(path: Path) -> Path:
    return path.with_name(path.name + ".type")
