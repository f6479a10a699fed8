"""The error envelope: every failure answers `{"error": {code, message, details, request_id}}`."""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from linguo.core.context import current_request_id

logger = structlog.get_logger("linguo.errors")


class ErrorCode(StrEnum):
    """The one central list of error codes clients can rely on."""

    VALIDATION_ERROR = "validation_error"
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code, not a secret
    INVALID_CREDENTIALS = "invalid_credentials"
    ACCOUNT_DISABLED = "account_disabled"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an error code, not a secret
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    EMAIL_TAKEN = "email_taken"
    UNKNOWN_WORDS = "unknown_words"
    FLASHCARD_EXISTS = "flashcard_exists"
    LESSON_LOCKED = "lesson_locked"
    OUT_OF_HEARTS = "out_of_hearts"
    ATTEMPT_FINISHED = "attempt_finished"
    NOT_IN_ATTEMPT = "not_in_attempt"
    LESSON_EMPTY = "lesson_empty"
    INVALID_COURSE = "invalid_course"
    SESSION_CLOSED = "session_closed"
    COURSE_EMPTY = "course_empty"
    INVALID_PREREQUISITE = "invalid_prerequisite"
    INVALID_HOST = "invalid_host"
    CORS_REJECTED = "cors_rejected"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    NOT_READY = "not_ready"
    OVERLOADED = "overloaded"
    DATABASE_UNAVAILABLE = "database_unavailable"
    INTERNAL_ERROR = "internal_error"
    INSUFFICIENT_GEMS = "insufficient_gems"
    ITEM_LIMIT_REACHED = "item_limit_reached"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    ITEM_NOT_OWNED = "item_not_owned"
    ITEM_NOT_ACTIVATABLE = "item_not_activatable"
    BOOST_ACTIVE = "boost_active"
    HEARTS_FULL = "hearts_full"
    CANNOT_FOLLOW_SELF = "cannot_follow_self"


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a human message and optional details."""

    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    """The body of every error response."""

    error: ErrorBody


class AppError(Exception):
    """Base class for errors raised on purpose by services; mapped to the envelope."""

    status_code: int = 400
    code: ErrorCode = ErrorCode.BAD_REQUEST
    message: str = "The request could not be processed."
    # When True the request's transaction is committed before the error is answered,
    # for refusals that must leave a trace (e.g. revoking a token family on reuse).
    commit_transaction: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    """A business rule refused the request."""


class NotAuthenticated(AppError):
    """No credentials were sent."""

    status_code = 401
    code = ErrorCode.NOT_AUTHENTICATED
    message = "Authentication is required."

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"WWW-Authenticate": "Bearer"})


class InvalidToken(NotAuthenticated):
    """The credentials sent are malformed, expired or revoked."""

    code = ErrorCode.INVALID_TOKEN
    message = "The token is invalid or has expired."


class Forbidden(AppError):
    """The caller is known but may not do this."""

    status_code = 403
    code = ErrorCode.FORBIDDEN
    message = "You do not have permission to do this."


class NotFound(AppError):
    """The resource does not exist or belongs to someone else."""

    status_code = 404
    code = ErrorCode.NOT_FOUND
    message = "Not found."


class Conflict(AppError):
    """The request conflicts with the current state."""

    status_code = 409
    code = ErrorCode.CONFLICT
    message = "The request conflicts with the current state."


class RateLimited(AppError):
    """Too many requests in the current window."""

    status_code = 429
    code = ErrorCode.RATE_LIMITED
    message = "Too many requests; slow down."

    def __init__(self, retry_after: int, *, scope: str) -> None:
        super().__init__(
            details={"retry_after": retry_after, "scope": scope},
            headers={"Retry-After": str(retry_after)},
        )


_HTTP_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.NOT_READY,
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build an envelope response carrying the current request id."""
    request_id = current_request_id()
    body = ErrorEnvelope(
        error=ErrorBody(code=code, message=message, details=details, request_id=request_id)
    )
    all_headers = dict(headers or {})
    if request_id:
        all_headers["X-Request-ID"] = request_id
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=all_headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is left out on purpose: it may be a password.
    return [
        {"loc": list(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type")}
        for err in exc.errors()
    ]


async def _handle_app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, ErrorCode.VALIDATION_ERROR, "The request is not valid.", _validation_details(exc)
    )


# FastAPI's words for a body it could not decode (bytes that are not UTF-8 JSON).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _handle_http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        return error_response(
            422,
            ErrorCode.VALIDATION_ERROR,
            "The request body is not valid JSON.",
            [{"loc": ["body"], "message": "could not be decoded", "type": "json_invalid"}],
        )
    code = _HTTP_STATUS_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
    if exc.status_code >= 500:
        code = ErrorCode.INTERNAL_ERROR
    default_message = HTTPStatus(exc.status_code).phrase
    message = exc.detail if isinstance(exc.detail, str) else default_message
    return error_response(exc.status_code, code, message, headers=dict(exc.headers or {}))


# PostgreSQL text cannot hold NUL (U+0000) or characters the database encoding lacks; such
# input fails at the database, after validation, and is the client's fault, not ours.
_UNSTORABLE_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


def _sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a database error (the asyncpg adapter exposes it as `sqlstate`)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else None


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if _sqlstate(exc) in _UNSTORABLE_TEXT_SQLSTATES:
        return error_response(
            422,
            ErrorCode.VALIDATION_ERROR,
            "The request contains text that cannot be stored (for example a NUL character).",
            [{"loc": ["body"], "message": "contains an unstorable character", "type": "string"}],
        )
    if exc.connection_invalidated:
        # The connection died under the request (a database restart or failover); the
        # pool has already dropped it and every connection older than it.
        logger.warning("database_connection_lost", detail=str(exc.orig).splitlines()[0])
        return error_response(
            503,
            ErrorCode.DATABASE_UNAVAILABLE,
            "The database connection was lost; try again.",
            headers={"Retry-After": str(DATABASE_UNAVAILABLE_RETRY_AFTER)},
        )
    return await _handle_unexpected(request, exc)


# Seconds a client should wait before retrying when every database connection is busy.
OVERLOADED_RETRY_AFTER = 2
# ... and after a lost connection: the next request gets a fresh one.
DATABASE_UNAVAILABLE_RETRY_AFTER = 1


async def _handle_pool_timeout(_request: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection stayed busy for LINGUO_DB_POOL_TIMEOUT: the server is
    # saturated, not broken; tell the client to come back instead of failing with a 500.
    logger.warning("database_pool_exhausted", detail=str(exc).splitlines()[0])
    return error_response(
        503,
        ErrorCode.OVERLOADED,
        "The server is busy; try again shortly.",
        headers={"Retry-After": str(OVERLOADED_RETRY_AFTER)},
    )


async def _handle_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled_exception", exc_type=type(exc).__name__)
    return error_response(500, ErrorCode.INTERNAL_ERROR, "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through the envelope."""
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    app.add_exception_handler(PoolTimeoutError, _handle_pool_timeout)
    app.add_exception_handler(Exception, _handle_unexpected)


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the envelope for the given statuses."""
    return {
        status: {"model": ErrorEnvelope, "description": HTTPStatus(status).phrase}
        for status in status_codes
    }
