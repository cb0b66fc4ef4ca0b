"""Periodic reports work: every minute facts and hour/day rollups catch up, every 10 minutes months."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from kefu.core.clock import utcnow
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler
from kefu.reports.refresh import do_refresh_reports, do_roll_up_stale_months

REPORTS_REFRESH: Final = "reports.refresh"
REPORTS_MONTHS: Final = "reports.months"


async def refresh(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler of the periodic refresh (the payload's slot is informational)."""
    del payload
    await do_refresh_reports(ctx.session, utcnow())


async def months(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler: recompute the month rollups the minute refreshes left stale."""
    del payload
    await do_roll_up_stale_months(ctx.session)


HANDLERS: dict[str, JobHandler] = {REPORTS_REFRESH: refresh, REPORTS_MONTHS: months}
PERIODIC: tuple[PeriodicTask, ...] = (
    PeriodicTask(REPORTS_REFRESH, timedelta(seconds=60)),
    PeriodicTask(REPORTS_MONTHS, timedelta(minutes=10)),
)
