"""Pure ASGI middleware: request id, access log, metrics and the trusted-host check."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linguo.core.context import current_user_id, set_request_id, set_user_id
from linguo.core.errors import ErrorCode, error_response
from linguo.core.metrics import HTTP_LATENCY, HTTP_REQUESTS

access_log = structlog.get_logger("linguo.access")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_ROUTES = frozenset({"/healthz", "/metrics"})


def route_template(scope: Scope) -> str:
    """The matched route's full path template, e.g. `/api/v1/users/{user_id}`.

    FastAPI puts the route as declared on its router in the scope; the prefixes of the
    routers it was included through are recovered from the request path's leading segments.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "unmatched"
    if ":path}" in template:
        return str(template)
    depth = template.count("/")
    segments = scope["path"].split("/")
    prefix = "/".join(segments[: len(segments) - depth]) if depth < len(segments) else ""
    return prefix + str(template)


class RequestContextMiddleware:
    """Gives each request an id (echoed in X-Request-ID), logs it and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        set_request_id(request_id)
        set_user_id(None)
        status_code = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            template = route_template(scope)
            if template == "unmatched" and status_code < 400:
                # Starlette routes (the docs pages) leave no route in the scope; their
                # paths are fixed, so they are safe to use as labels.
                template = scope["path"]
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status_code)).inc()
            HTTP_LATENCY.labels(method, template).observe(duration)
            log = access_log.debug if template in _QUIET_ROUTES else access_log.info
            log(
                "request",
                method=method,
                route=template,
                path=scope["path"],
                status=status_code,
                duration_ms=round(duration * 1000, 2),
                client=(scope.get("client") or ("", 0))[0],
                user_id=current_user_id(),
            )


class TrustedHostMiddleware:
    """Answers 400 `invalid_host` (in the envelope) to a Host header not in the allowed list."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.exact = {host.lower() for host in allowed_hosts if not host.startswith("*.")}
        self.suffixes = tuple(host[1:].lower() for host in allowed_hosts if host.startswith("*."))

    def _allowed(self, host: str) -> bool:
        host = host.lower()
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host_header = Headers(scope=scope).get("host", "")
        host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        if self._allowed(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = error_response(400, ErrorCode.INVALID_HOST, "Invalid host header.")
        await response(scope, receive, send)


class EnvelopeCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, with refused preflights answered in the error envelope."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """See CORSMiddleware.preflight_response."""
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {
            key: value
            for key, value in response.headers.items()
            if key.lower() not in ("content-length", "content-type")
        }
        return error_response(
            400,
            ErrorCode.CORS_REJECTED,
            "The cross-origin request is not allowed.",
            details={"refused": refused.split(", ")},
            headers=headers,
        )


class DeclaredBodySizeMiddleware:
    """Refuses a body whose declared Content-Length is over the limit, in the envelope.

    Bodies without a Content-Length (chunked) are cut off by FastAPI's own `max_body_size`
    on the API router, whose error reaches our handlers; the declared size is checked
    here because Starlette answers that case itself with plain text.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                response = error_response(
                    413,
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    "The request body is too large.",
                    details={"max_bytes": self.max_body_bytes},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
