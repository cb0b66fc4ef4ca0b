"""An HTTP client on an app with the automation routes mounted (until the lead mounts them for good)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from kefu.core.clock import FrozenClock, set_clock
from kefu.runtime import Runtime

START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Time that only moves when a test says so (restored afterwards)."""
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, with `kefu.web.api.v1.automation.router` under /api/v1."""
    from kefu.web.api.v1.automation import router
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    if not any(getattr(route, "path", "") == "/api/v1/triggers" for route in app.routes):
        app.include_router(router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c
