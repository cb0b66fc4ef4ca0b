"""Pure ASGI middleware: request ids and access logs, security headers, request body limits."""

from __future__ import annotations

import time
import uuid

import structlog
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu.web.errors import error_response

log = structlog.get_logger("kefu.http")

# No inline script anywhere: the console and help center load vendored files from our origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
# Encoded once: every response gets these unless the route set its own (raw ASGI header pairs).
_RAW_SECURITY_HEADERS = tuple((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items())
_RAW_API_HEADERS = ((b"cache-control", b"no-store"),)
_REPLACED = frozenset({b"x-request-id", b"server-timing"})


def _response_headers(
    raw: list[tuple[bytes, bytes]], request_id: bytes, timing: bytes, api: bool
) -> list[tuple[bytes, bytes]]:
    """`raw` plus the request id, timing and every default header the route did not set itself."""
    present = {name.lower() for name, _ in raw}
    headers = [pair for pair in raw if pair[0].lower() not in _REPLACED] if present & _REPLACED else raw
    headers.append((b"x-request-id", request_id))
    headers.append((b"server-timing", timing))
    headers.extend(pair for pair in _RAW_SECURITY_HEADERS if pair[0] not in present)
    if api:
        headers.extend(pair for pair in _RAW_API_HEADERS if pair[0] not in present)
    return headers


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID), binds it to logs and logs one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # A socket's log lines share one id for the connection's whole life.
            structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex)
            try:
                await self.app(scope, receive, send)
            finally:
                structlog.contextvars.unbind_contextvars("request_id", "conversation_id")
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        status = 500
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Time until the response starts (what bench/console_http.py reads as server time).
                timing = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
                message["headers"] = _response_headers(
                    list(message.get("headers", ())),
                    request_id.encode(),
                    timing.encode(),
                    scope["path"].startswith("/api/"),
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            # conversation_id: bound by the access gate (kefu.observability.context) during the request.
            structlog.contextvars.unbind_contextvars("request_id", "conversation_id")


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413, whether announced by Content-Length or streamed.

    Also refuses NUL in the path or query string with 400: no id or filter holds one, SQLite would
    compare it and PostgreSQL fails on it with a 500.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"\x00" in query or b"%00" in query:
            response = error_response(400, "bad_request", "NUL characters are not allowed in a URL")
            await response(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._too_large(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException passes through FastAPI's body parsing untouched (others become 400).
                    raise HTTPException(413, f"the request body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "too_large", f"the request body is over {self.max_bytes} bytes")
        await response(scope, receive, send)
