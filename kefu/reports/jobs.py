"""The periodic reports refresh: every minute, facts and rollups catch up with what changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from kefu.core.clock import utcnow
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler
from kefu.reports.refresh import do_refresh_reports

REPORTS_REFRESH: Final = "reports.refresh"


async def refresh(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler of the periodic refresh (the payload's slot is informational)."""
    del payload
    await do_refresh_reports(ctx.session, utcnow())


HANDLERS: dict[str, JobHandler] = {REPORTS_REFRESH: refresh}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(REPORTS_REFRESH, timedelta(seconds=60)),)
