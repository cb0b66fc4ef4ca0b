"""Mount the incident routes on a test app (until the lead mounts them in create_app) and build data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import BaseRoute

from kefu.runtime import Runtime
from tests.factories import StaffMember

HOSTILE = '<script>alert("x")</script> & "quotes" \'single\' ]]> <![CDATA[ \x01'


def _paths(routes: list[BaseRoute]) -> set[str]:
    return {str(getattr(route, "path", "")) for route in routes}


def mount_incident_routes(app: FastAPI) -> FastAPI:
    """Add the incidents API and status pages unless create_app already mounts them."""
    from kefu.web.api.v1.incidents import router as api_router
    from kefu.web.helpcenter.context import install_help_center_errors
    from kefu.web.helpcenter.status import router as status_router

    paths = _paths(app.router.routes)
    if "/api/v1/status" not in paths:
        app.include_router(api_router, prefix="/api/v1")
    if "/hc/{locale}/status" not in paths:
        app.include_router(status_router)
        install_help_center_errors(app)
    return app


@asynccontextmanager
async def incident_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for an app with the incident routes."""
    from kefu.web.app import create_app

    app = mount_incident_routes(create_app(runtime=runtime, start_worker=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        yield client


async def create_incident(
    client: httpx.AsyncClient,
    who: StaffMember,
    *,
    title: dict[str, str] | None = None,
    kind: str = "incident",
    severity: str | None = None,
    components: list[str] | None = None,
    starts_at: datetime | None = None,
    body: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST an incident as `who` (a supervisor) and return its JSON (asserts 201)."""
    payload: dict[str, Any] = {
        "kind": kind,
        "title": title or {"en": "Deposits delayed", "zh-CN": "充币延迟"},
        "components": components or ["deposits:TRC20"],
    }
    if severity is not None:
        payload["severity"] = severity
    if starts_at is not None:
        payload["starts_at"] = starts_at.isoformat()
    if body is not None:
        payload["body"] = body
    response = await client.post("/api/v1/incidents", json=payload, headers=who.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
