"""Outbox job handlers and periodic tasks of automation: the auto-close sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from kefu.automation.autoclose import AUTO_CLOSE_JOB, close_solved_conversations
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler

log = structlog.get_logger(__name__)


async def run_auto_close(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Close the solved conversations that are due (the worker commits)."""
    del payload  # the slot only makes the job unique; "due" is judged at run time
    closed = await close_solved_conversations(ctx.session)
    if closed:
        log.info("conversations_auto_closed", count=closed)


HANDLERS: dict[str, JobHandler] = {AUTO_CLOSE_JOB: run_auto_close}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(AUTO_CLOSE_JOB, timedelta(minutes=10)),)
