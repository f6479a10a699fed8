"""Tables of the kernel itself, shared by every domain."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base


class CacheGeneration(Base):
    """A counter bumped in the transaction that changes a cached catalogue.

    Cache keys embed the generation, so a change made by any process (the CLI included)
    invalidates the cached answers of every server, whatever the cache backend.
    """

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=1, server_default=text("1"))
