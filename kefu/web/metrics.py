"""`GET /metrics` (Prometheus text format) and the ASGI middleware counting requests and sockets.

Who may scrape: with KEFU_METRICS_TOKEN set, whoever sends it as a bearer token; without it, only
clients on the loopback interface. Anyone else gets the same 404 as an unknown path, so the endpoint
is not advertised (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import time
from typing import Final

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu.observability.collectors import DATABASE_STATS
from kefu.observability.metrics import (
    HTTP_DURATION,
    HTTP_IN_FLIGHT,
    HTTP_REQUESTS,
    REGISTRY,
    WEBSOCKETS_ACCEPTED,
    WEBSOCKETS_OPEN,
    status_class,
)
from kefu.runtime import Runtime
from kefu.web.chat.socket import CHAT_SOCKET_PATH
from kefu.web.ws.console_socket import CONSOLE_SOCKET_PATH

router = APIRouter()

METRICS_PATH: Final = "/metrics"
# A request no route matched (scanners, typos): one label value, however many paths they try.
UNMATCHED: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Include prefixes are short ("/api/v1"); a long hostile path is not searched for one.
_MAX_PREFIX: Final = 128
_SOCKET_KINDS: Final = {CHAT_SOCKET_PATH: "chat", CONSOLE_SOCKET_PATH: "console"}


def route_template(scope: Scope) -> str:
    """The template of the route that handled `scope` ("/api/v1/conversations/{conversation}").

    FastAPI hands over the included router's own route (its path without the include prefix), so the
    prefix is taken back from the raw path: the shortest one after which the route's pattern matches.
    """
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(path_format, str) or not isinstance(pattern, re.Pattern):
        return UNMATCHED
    path: str = scope.get("path", "")
    own_params = set(getattr(route, "param_convertors", None) or ())
    if not set(scope.get("path_params") or ()) <= own_params:
        # A prefix with parameters of its own would put their values (ids) in the label.
        return UNMATCHED
    for index, char in enumerate(path[:_MAX_PREFIX]):
        if char == "/" and pattern.match(path[index:]):
            return path[:index] + path_format
    return path_format


def _may_scrape(request: Request, token: str) -> bool:
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every metric of this process plus the database gauges (see the module docstring for who may)."""
    runtime: Runtime = request.app.state.runtime
    if not _may_scrape(request, runtime.settings.metrics_token.get_secret_value()):
        raise HTTPException(404, "Not Found")
    await DATABASE_STATS.refresh(runtime.sessionmaker)
    return Response(
        generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"}
    )


class MetricsMiddleware:
    """Counts and times HTTP requests by route template, and counts open WebSockets by kind."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, record_status)
        finally:
            HTTP_IN_FLIGHT.dec()
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            labels = {"method": method, "route": route_template(scope), "status": status_class(status)}
            HTTP_REQUESTS.labels(**labels).inc()
            HTTP_DURATION.labels(**labels).observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepted: str | None = None

        async def watch_accept(message: Message) -> None:
            nonlocal accepted
            await send(message)
            if message["type"] == "websocket.accept" and accepted is None:
                accepted = _SOCKET_KINDS.get(route_template(scope), "other")
                WEBSOCKETS_ACCEPTED.labels(kind=accepted).inc()
                WEBSOCKETS_OPEN.labels(kind=accepted).inc()

        try:
            await self.app(scope, receive, watch_accept)
        finally:
            if accepted is not None:
                WEBSOCKETS_OPEN.labels(kind=accepted).dec()
