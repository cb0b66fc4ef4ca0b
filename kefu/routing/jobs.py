"""Periodic presence upkeep: reap connections of crashed nodes, let long automatic absences go offline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler
from kefu.routing.presence import expire_away, reap_connections

log = structlog.get_logger(__name__)

PRESENCE_SWEEP = "routing.presence_sweep"


async def sweep_presence(context: JobContext, payload: dict[str, Any]) -> None:
    """Reap stale connections first, so an agent whose node died starts the away countdown now."""
    del payload
    reaped = await reap_connections(context.session)
    expired = await expire_away(context.session)
    if reaped or expired:
        log.info("presence_swept", reaped=reaped, went_offline=expired)


HANDLERS: dict[str, JobHandler] = {PRESENCE_SWEEP: sweep_presence}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(PRESENCE_SWEEP, timedelta(seconds=30)),)
