"""An HTTP client whose app has the schedule and SLA routers (mounted here until the lead mounts them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from kefu.runtime import Runtime


def mount_sla_routes(app: FastAPI) -> None:
    """Include the schedules and SLA routers under /api/v1 unless the app already has them."""
    from kefu.web.api.v1 import schedules, sla

    paths = {getattr(route, "path", "") for route in app.routes}
    if "/api/v1/schedules" not in paths:
        app.include_router(schedules.router, prefix="/api/v1")
    if "/api/v1/sla-policies" not in paths:
        app.include_router(sla.router, prefix="/api/v1")


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Like the `client` fixture, with the schedule and SLA routes."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    mount_sla_routes(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c
