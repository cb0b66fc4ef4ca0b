"""Admin actions on the outbox; like every action they never commit."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import utcnow
from kefu.core.errors import NotFound
from kefu.db.uow import after_commit
from kefu.jobs.enqueue import poke_workers
from kefu.jobs.models import JobStatus, OutboxJob


async def do_retry_dead_job(session: AsyncSession, job_id: uuid.UUID) -> OutboxJob:
    """Give a dead job a fresh set of attempts, due now; NotFound unless it exists and is dead."""
    # One conditional UPDATE, so two admins retrying at once cannot both "win" a stale read.
    statement = (
        update(OutboxJob)
        .where(OutboxJob.id == job_id, OutboxJob.status == JobStatus.DEAD)
        .values(
            status=JobStatus.PENDING,
            attempts=0,
            run_at=utcnow(),
            finished_at=None,
            locked_until=None,
            locked_by=None,
        )
        .returning(OutboxJob)
        .execution_options(populate_existing=True)
    )
    job = (await session.scalars(statement)).one_or_none()
    if job is None:
        raise NotFound("no dead job with this id")
    after_commit(session, poke_workers)
    return job
