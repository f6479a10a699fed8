"""Run Alembic migrations programmatically (used by `linguo migrate`, `serve` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    """The Alembic script directory: inside the wheel, or the repository's `migrations/`."""
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("Alembic migrations directory not found")


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at our scripts and, when given, the database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision` (e.g. "base")."""
    command.downgrade(alembic_config(database_url), revision)


def head_revisions() -> set[str]:
    """The head revision(s) of the migration scripts this code ships."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
