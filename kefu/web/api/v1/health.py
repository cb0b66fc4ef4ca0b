"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kefu.web.deps import RuntimeDep

router = APIRouter(tags=["health"])

_PROBE_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (public; no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database (and Redis when configured) answer; 503 otherwise (public; no details leaked)."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT), runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        checks["database"] = "unavailable"
    if runtime.settings.redis_url:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                await runtime.pubsub.ping()
            checks["redis"] = "ok"
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            checks["redis"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
