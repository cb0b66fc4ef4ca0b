"""Admin reads of the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.service import count_by_status, list_jobs
from tests.conftest import Database


async def test_list_and_count_jobs(db: Database, clock: FrozenClock) -> None:
    async with transaction(db.sessionmaker) as session:
        assert await count_by_status(session) == dict.fromkeys(JobStatus, 0)
        for n in range(5):
            await enqueue(session, "test.list", {"n": n})
            clock.advance(timedelta(seconds=1))
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(OutboxJob).where(OutboxJob.payload["n"].as_integer() >= 3).values(status=JobStatus.DEAD)
        )
    async with db.sessionmaker() as session:
        newest_first = [job.payload["n"] for job in await list_jobs(session)]
        assert newest_first == [4, 3, 2, 1, 0]
        assert [job.payload["n"] for job in await list_jobs(session, JobStatus.DEAD)] == [4, 3]
        assert [job.payload["n"] for job in await list_jobs(session, JobStatus.PENDING, limit=2)] == [2, 1]
        assert await list_jobs(session, JobStatus.DONE) == []
        assert await count_by_status(session) == {
            JobStatus.PENDING: 3,
            JobStatus.RUNNING: 0,
            JobStatus.DONE: 0,
            JobStatus.DEAD: 2,
        }


@pytest.mark.parametrize("limit", [0, -1, 501])
async def test_list_jobs_limit_is_bounded(db: Database, limit: int) -> None:
    async with db.sessionmaker() as session:
        with pytest.raises(ValueError):
            await list_jobs(session, limit=limit)
