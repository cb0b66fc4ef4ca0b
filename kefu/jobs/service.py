"""Read-only views of the outbox for the admin console and `kefu jobs` CLI."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.jobs.models import JobStatus, OutboxJob

MAX_LIST = 500


async def list_jobs(
    session: AsyncSession, status: JobStatus | None = None, limit: int = 50
) -> Sequence[OutboxJob]:
    """Newest jobs first, optionally of one status; `limit` is 1..500."""
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be 1..{MAX_LIST}")
    query = select(OutboxJob).order_by(OutboxJob.created_at.desc(), OutboxJob.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxJob.status == JobStatus(status))
    return (await session.scalars(query)).all()


async def count_by_status(session: AsyncSession) -> dict[JobStatus, int]:
    """How many jobs are in each status (every status present, zero included)."""
    rows = await session.execute(select(OutboxJob.status, func.count()).group_by(OutboxJob.status))
    counts = dict.fromkeys(JobStatus, 0)
    for status, count in rows:
        counts[JobStatus(status)] = count
    return counts
