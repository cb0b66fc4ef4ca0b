"""A real uvicorn server in the test's event loop, so WebSocket clients speak to the real stack."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from kefu.runtime import Runtime
from kefu.web.app import create_app
from tests.factories import PASSWORD


@dataclass(frozen=True)
class Live:
    http_url: str
    ws_url: str
    origin: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[Live]:
    """The app of `runtime` served over TCP on a free port (one node of a deployment)."""
    port = _free_port()
    app = create_app(runtime=runtime, start_worker=False)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the server failed to start: raise its error
            raise RuntimeError("uvicorn exited before starting")
        await asyncio.sleep(0.01)
    try:
        yield Live(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/console/ws", runtime.settings.base_url)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def live(runtime: Runtime) -> AsyncIterator[Live]:
    """The app served over TCP on a free port for the length of one test."""
    async with serving(runtime) as node:
        yield node


async def sign_in(live: Live, email: str) -> tuple[str, str]:
    """A browser session for `email`: (session cookie header, CSRF token)."""
    async with httpx.AsyncClient(base_url=live.http_url) as http:
        response = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        return cookie, response.json()["csrf_token"]
