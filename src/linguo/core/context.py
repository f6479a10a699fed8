"""Per-request context (request id, user id) shared by logging, errors and metrics."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("linguo_request_id", default=None)
_user_id: ContextVar[str | None] = ContextVar("linguo_user_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> None:
    """Bind the id of the request being served."""
    _request_id.set(request_id)


def current_user_id() -> str | None:
    """The authenticated user of the request being served, if any."""
    return _user_id.get()


def set_user_id(user_id: str | None) -> None:
    """Bind the authenticated user of the request being served."""
    _user_id.set(user_id)
