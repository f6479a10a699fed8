"""Normalising text the way the database's `linguo_fold` does."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case `text` and strip its accents: "École" -> "ecole"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped).casefold()
