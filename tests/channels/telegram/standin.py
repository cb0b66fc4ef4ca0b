"""A stand-in Telegram Bot API over real HTTP on 127.0.0.1, speaking the documented wire format.

Serves `POST /bot<token>/<method>` (JSON or multipart, answers `{"ok": true, "result": …}` or
`{"ok": false, "error_code", "description", "parameters"}`) and `GET /file/bot<token>/<file_path>`.
Tests script it: known chats, blocked users, queued failures, pending updates, stored files.
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
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.channels.standin_server import serve

TOKEN = "123456:TEST-token_abcdefghij"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)


@dataclass
class StandIn:
    token: str = TOKEN
    chats: set[str] = field(default_factory=lambda: {"777000"})
    blocked: set[str] = field(default_factory=set)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, data)
    webhook: dict[str, Any] | None = None
    calls: list[Call] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    url: str = ""
    _next_message_id: int = 100

    def fail(self, method: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next call of `method` with this error instead."""
        self.failures.setdefault(method, []).append((status, body))

    def add_file(self, file_id: str, path: str, data: bytes) -> None:
        self.files[file_id] = (path, data)

    def sent(self, method: str | None = None) -> list[Call]:
        sending = {"sendMessage", "sendPhoto", "sendDocument"}
        return [c for c in self.calls if (c.method == method if method else c.method in sending)]

    # --- the Bot API --------------------------------------------------------------------------

    async def _method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params, files = await _read(request)
        self.calls.append(Call(method, params, files))
        if queued := self.failures.get(method):
            status, body = queued.pop(0)
            return JSONResponse(body, status_code=status)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result: Response = handler(params, files)
        return result

    def _m_getMe(self, params: dict[str, Any], files: object) -> Response:  # noqa: N802
        return _ok({"id": 123456, "is_bot": True, "first_name": "Support", "username": "kefu_support_bot"})

    def _m_setWebhook(self, params: dict[str, Any], files: object) -> Response:  # noqa: N802
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        return _ok(True)

    def _m_deleteWebhook(self, params: dict[str, Any], files: object) -> Response:  # noqa: N802
        self.webhook = None
        return _ok(True)

    def _m_getUpdates(self, params: dict[str, Any], files: object) -> Response:  # noqa: N802
        if self.webhook is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        if isinstance(offset, int):  # confirms every update before it
            self.updates = [u for u in self.updates if u.get("update_id", -1) >= offset]
        limit = int(params.get("limit", 100))
        return _ok(self.updates[:limit])

    def _m_getFile(self, params: dict[str, Any], files: object) -> Response:  # noqa: N802
        file_id = params.get("file_id")
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return _ok(
            {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(data), "file_path": path}
        )

    def _message(self, params: dict[str, Any], **extra: Any) -> Response:
        chat = str(params.get("chat_id"))
        if chat in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat not in self.chats:
            return _error(400, "Bad Request: chat not found")
        self._next_message_id += 1
        return _ok(
            {"message_id": self._next_message_id, "date": 1700000000, "chat": {"id": int(chat)}, **extra}
        )

    def _m_sendMessage(self, params: dict[str, Any], files: object) -> Response:  # noqa: N802
        return self._message(params, text=params.get("text"))

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Any]) -> Response:  # noqa: N802
        if "photo" not in files:
            return _error(400, "Bad Request: there is no photo in the request")
        return self._message(params, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])

    def _m_sendDocument(self, params: dict[str, Any], files: dict[str, Any]) -> Response:  # noqa: N802
        if "document" not in files:
            return _error(400, "Bad Request: there is no document in the request")
        return self._message(params, document={"file_id": "d", "file_unique_id": "d"})

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["path"]
        self.downloads.append(path)
        for stored, data in self.files.values():
            if stored == path:
                return Response(data, media_type="application/octet-stream")
        return _error(404, "Not Found")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["POST", "GET"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )


def _ok(result: Any) -> Response:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


def rate_limited(seconds: int) -> tuple[int, dict[str, Any]]:
    """The documented 429 answer."""
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
        "parameters": {"retry_after": seconds},
    }


async def _read(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = (value.filename or "", await value.read(), value.content_type or "")
            else:
                params[key] = value
        await form.close()
        return params, files
    body = await request.body()
    return (json.loads(body) if body else {}), {}


@asynccontextmanager
async def running(standin: StandIn) -> AsyncIterator[StandIn]:
    """Serve the stand-in for the block; `standin.url` is its base URL."""
    async with serve(standin.app()) as url:
        standin.url = url
        yield standin
