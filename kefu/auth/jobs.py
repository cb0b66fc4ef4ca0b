"""Outbox job handlers and periodic tasks of this domain: housekeeping of customer sign-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import structlog

from kefu.auth.customer_login import purge_spent_sign_in_codes
from kefu.auth.customer_sessions import purge_ended_customer_sessions
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler

log = structlog.get_logger(__name__)

PURGE_CUSTOMER_SIGN_IN: Final = "auth.purge_customer_sign_in"


async def purge_customer_sign_in(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Drop spent sign-in codes and long-ended customer sessions."""
    del payload
    codes = await purge_spent_sign_in_codes(ctx.session)
    sessions = await purge_ended_customer_sessions(ctx.session)
    if codes or sessions:
        log.info("customer_sign_in_purged", codes=codes, sessions=sessions)


HANDLERS: dict[str, JobHandler] = {PURGE_CUSTOMER_SIGN_IN: purge_customer_sign_in}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(PURGE_CUSTOMER_SIGN_IN, timedelta(hours=1)),)
