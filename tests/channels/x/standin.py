"""A stand-in X API v2 over real HTTP on 127.0.0.1: `POST /2/dm_conversations/with/{id}/messages`.

Answers as X documents: 201 `{"data": {"dm_conversation_id", "dm_event_id"}}`, or an error with
`{"title", "detail", "type", "status"}` (429 with the x-rate-limit-* headers).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.channels.standin_server import serve

USER_TOKEN = "bWVzc2FnZXMtdXNlci10b2tlbi1TRUNSRVQ"
SUPPORT_ID = "1400000000000000000"


@dataclass
class DmCall:
    participant_id: str
    authorization: str
    body: dict[str, Any]


@dataclass
class XStandIn:
    token: str = USER_TOKEN
    calls: list[DmCall] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def fail(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        """Answer the next DM with this error."""
        body = {"title": "Error", "detail": detail, "type": "about:blank", "status": status}
        self.failures.append((status, body, headers or {}))

    async def _dm(self, request: Request) -> Response:
        participant = request.path_params["participant_id"]
        authorization = request.headers.get("authorization", "")
        body = json.loads(await request.body())
        self.calls.append(DmCall(participant, authorization, body))
        if authorization != f"Bearer {self.token}":
            return JSONResponse(
                {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, status_code=401
            )
        if self.failures:
            status, answer, headers = self.failures.pop(0)
            return JSONResponse(answer, status_code=status, headers=headers)
        event_id = str(1582838223112896500 + len(self.calls))
        data = {"dm_conversation_id": f"{SUPPORT_ID}-{participant}", "dm_event_id": event_id}
        return JSONResponse({"data": data}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/2/dm_conversations/with/{participant_id}/messages", self._dm, methods=["POST"])]
        )


@asynccontextmanager
async def x_standin() -> AsyncIterator[XStandIn]:
    """An X API stand-in served for the length of the block."""
    standin = XStandIn()
    async with serve(standin.app()) as root:
        standin.url = root
        yield standin
