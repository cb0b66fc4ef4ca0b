"""Finished outbox jobs are deleted after `KEFU_OUTBOX_RETENTION_DAYS`.

Every email, webhook, channel send and periodic run leaves a row (with its payload: addresses,
message text) that nothing reads once it is done; at a few hundred jobs a second the table would grow
by millions of rows a day. Dead jobs stay until an admin deals with them. A dedupe key protects
against a repeat only while its row exists, so the retention must outlast any redelivery window
(providers retry webhooks for hours to a few days; the default keeps 30 days).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler

if TYPE_CHECKING:
    from kefu.runtime import Runtime

log = structlog.get_logger(__name__)

OUTBOX_PRUNE: Final = "outbox.prune"
# Rows per DELETE, each in its own short transaction: no long lock on the table workers claim from.
PRUNE_BATCH: Final = 2_000
# One run stops after this long; the next hourly run continues with what is left.
PRUNE_BUDGET_SECONDS: Final = 60.0


async def prune_finished(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    finished_before: datetime,
    batch: int = PRUNE_BATCH,
    budget_seconds: float = PRUNE_BUDGET_SECONDS,
) -> int:
    """Delete done jobs that finished before `finished_before`, batch by batch; how many went."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        oldest = (
            select(OutboxJob.id)
            .where(OutboxJob.status == JobStatus.DONE, OutboxJob.finished_at < finished_before)
            .limit(batch)
        )
        async with transaction(sessionmaker) as session:
            result = await session.execute(
                delete(OutboxJob)
                .where(OutboxJob.id.in_(oldest.scalar_subquery()))
                .execution_options(synchronize_session=False)
            )
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch or time.monotonic() >= deadline:
            return total


def bind_prune(sessionmaker: async_sessionmaker[AsyncSession], retention_days: int) -> JobHandler:
    """The `outbox.prune` handler: its own transactions, one per batch (the job's session stays idle)."""

    async def prune(ctx: JobContext, payload: dict[str, Any]) -> None:
        del ctx, payload
        cutoff = utcnow() - timedelta(days=retention_days)
        deleted = await prune_finished(sessionmaker, finished_before=cutoff)
        log.info("outbox_pruned", deleted=deleted, retention_days=retention_days)

    return prune


HANDLERS: dict[str, JobHandler] = {}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(OUTBOX_PRUNE, timedelta(hours=1)),)


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """`outbox.prune` with this process's database and retention setting."""
    return {OUTBOX_PRUNE: bind_prune(runtime.sessionmaker, runtime.settings.outbox_retention_days)}
