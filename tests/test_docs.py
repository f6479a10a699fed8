"""The configuration is documented: every setting is in the README table and .env.example."""

from __future__ import annotations

from pathlib import Path

import pytest

from linguo.config import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = [
        f"LINGUO_{name.upper()}"
        for name in Settings.model_fields
        if f"LINGUO_{name.upper()}" not in text
    ]
    assert missing == [], f"{document} does not document {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:15])
    assert "make run" in head and "make test" in head
