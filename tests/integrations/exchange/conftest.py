"""One reference exchange server per test session; each test gets fresh data and an empty log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.http import HttpExchange
from kefu.integrations.exchange.port import ExchangePort
from tests.integrations.exchange.server import (
    ANCHOR,
    API_KEY,
    API_SECRET,
    ServerState,
    ServerThread,
    build_app,
)


@dataclass
class RunningServer:
    url: str
    state: ServerState

    def client(self, *, retries: int = 2, timeout: float = 5.0, secret: str | None = None) -> HttpExchange:
        """An HttpExchange pointed at this server (no backoff, so retry tests stay fast)."""
        key = SecretStr(secret) if secret is not None else API_SECRET
        return HttpExchange(self.url, API_KEY, key, timeout=timeout, retries=retries, backoff_seconds=0)


@pytest.fixture(scope="session")
def _server_process() -> Iterator[RunningServer]:
    state = ServerState()
    thread = ServerThread(build_app(state))
    thread.start()
    yield RunningServer(thread.url, state)
    thread.stop()


@pytest.fixture
def server(_server_process: RunningServer) -> RunningServer:
    """The running reference server, reset to fresh demo data."""
    _server_process.state.reset()
    return _server_process


@pytest.fixture(params=["demo", "http"])
async def exchange(request: pytest.FixtureRequest, server: RunningServer) -> AsyncIterator[ExchangePort]:
    """Each contract test runs against the in-memory fake and against HTTP to the reference server."""
    provider: ExchangePort = DemoExchange(now=ANCHOR) if request.param == "demo" else server.client()
    yield provider
    await provider.aclose()
