"""A stand-in Graph API over real HTTP on 127.0.0.1, speaking the Send API's documented wire format.

Serves `POST /v21.0/me/messages?access_token=…` (JSON, or multipart with `filedata`; answers
`{"recipient_id", "message_id"}` or `{"error": {"message", "type", "code", "error_subcode"}}`), and
attachment URLs `GET /cdn/<name>` as Meta's CDN would (plus `/hop/<name>`, a redirect to a set place).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.channels.standin_server import serve

PAGE_TOKEN = "EAAGpagetoken-SECRET-123"


@dataclass
class SendCall:
    query: dict[str, str]
    body: dict[str, Any]
    file: tuple[str, bytes, str] | None = None


@dataclass
class GraphStandIn:
    token: str = PAGE_TOKEN
    calls: list[SendCall] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    root: str = ""  # http://127.0.0.1:<port>

    @property
    def graph_url(self) -> str:
        return f"{self.root}/v21.0"

    def fail(self, status: int, code: int, message: str, subcode: int | None = None) -> None:
        """Answer the next send with this Graph error."""
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbC",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        self.failures.append((status, {"error": error}))

    def cdn(self, name: str, data: bytes, content_type: str) -> str:
        self.files[name] = (data, content_type)
        return f"{self.root}/cdn/{name}"

    async def _send(self, request: Request) -> Response:
        query = dict(request.query_params)
        file = None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            body: dict[str, Any] = {}
            async with request.form() as form:
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        file = (value.filename or "", await value.read(), value.content_type or "")
                    else:
                        body[key] = json.loads(value) if value.startswith("{") else value
        else:
            body = json.loads(await request.body())
        self.calls.append(SendCall(query, body, file))
        if query.get("access_token") != self.token:
            return JSONResponse(
                {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}},
                status_code=400,
            )
        if self.failures:
            status, answer = self.failures.pop(0)
            return JSONResponse(answer, status_code=status)
        recipient = body["recipient"]["id"]
        return JSONResponse({"recipient_id": recipient, "message_id": f"m_{len(self.calls)}"})

    async def _cdn(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.downloads.append(name)
        if name not in self.files:
            return Response(status_code=404)
        data, content_type = self.files[name]
        return Response(data, media_type=content_type)

    async def _hop(self, request: Request) -> Response:
        return RedirectResponse(self.redirects[request.path_params["name"]], status_code=302)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v21.0/me/messages", self._send, methods=["POST"]),
                Route("/cdn/{name}", self._cdn),
                Route("/hop/{name}", self._hop),
            ]
        )


@asynccontextmanager
async def graph_standin() -> AsyncIterator[GraphStandIn]:
    """A Graph stand-in served for the length of the block."""
    standin = GraphStandIn()
    async with serve(standin.app()) as root:
        standin.root = root
        yield standin
