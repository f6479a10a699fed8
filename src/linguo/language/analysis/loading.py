"""Loading models and dictionaries once per process, lazily and thread-safely."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import structlog

__all__ = ["DetectorUnavailable", "Lazy"]

logger = structlog.get_logger("linguo.language.analysis")

T = TypeVar("T")


class DetectorUnavailable(RuntimeError):
    """A detector cannot run: its package, model or dictionary is missing."""


class Lazy(Generic[T]):
    """A value built by `factory` on first use, once, whichever thread asks first.

    When the factory fails (a missing package, model or dictionary), one warning is
    logged and every later `get` raises `DetectorUnavailable` at once, without trying
    again: analysis goes on without that detector.
    """

    def __init__(self, name: str, factory: Callable[[], T]) -> None:
        self.name = name
        self._factory = factory
        self._lock = threading.Lock()
        self._loaded = False
        self._value: T | None = None
        self._error: str | None = None

    def get(self) -> T:
        """The value, built now if need be; `DetectorUnavailable` if it cannot be built."""
        if not self._loaded:
            with self._lock:
                if not self._loaded and self._error is None:
                    self._load()
        if self._error is not None:
            raise DetectorUnavailable(self._error)
        return self._value  # type: ignore[return-value]  # set when loaded

    @property
    def failed(self) -> bool:
        """Whether loading was tried and failed."""
        return self._error is not None

    def _load(self) -> None:
        try:
            value = self._factory()
        except DetectorUnavailable as exc:
            self._error = str(exc)
        except Exception as exc:  # an ImportError, a missing file, a broken model...
            self._error = f"{type(exc).__name__}: {exc}"
        else:
            self._value = value
            self._loaded = True
            return
        logger.warning("analysis_detector_unavailable", detector=self.name, reason=self._error)
