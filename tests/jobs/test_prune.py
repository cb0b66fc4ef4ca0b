"""Finished outbox jobs are pruned after the retention; pending, running and dead ones never are."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from kefu.core.clock import FrozenClock, utcnow
from kefu.core.ids import new_id
from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.prune import OUTBOX_PRUNE, PERIODIC, bind_prune, prune_finished
from kefu.jobs.registry import JobContext
from kefu.registry import load_job_modules
from kefu.settings import Settings
from tests.conftest import Database


async def _jobs(db: Database, status: JobStatus, count: int, *, finished_days_ago: float) -> None:
    name = f"test.prune.{status}.{finished_days_ago}"
    async with transaction(db.sessionmaker) as session:
        for n in range(count):
            await enqueue(session, name, {"n": n, "status": str(status)})
    finished = None if status in (JobStatus.PENDING, JobStatus.RUNNING) else days_ago(finished_days_ago)
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(OutboxJob).where(OutboxJob.name == name).values(status=status, finished_at=finished)
        )


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


async def _left(db: Database) -> dict[str, int]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(OutboxJob.status, func.count()).group_by(OutboxJob.status))
        return {str(status): count for status, count in rows}


async def test_only_done_jobs_past_the_retention_are_deleted(db: Database, clock: FrozenClock) -> None:
    await _jobs(db, JobStatus.DONE, 5, finished_days_ago=31)
    await _jobs(db, JobStatus.DONE, 3, finished_days_ago=29)
    await _jobs(db, JobStatus.DEAD, 2, finished_days_ago=400)
    await _jobs(db, JobStatus.PENDING, 2, finished_days_ago=0)
    await _jobs(db, JobStatus.RUNNING, 1, finished_days_ago=0)

    deleted = await prune_finished(db.sessionmaker, finished_before=days_ago(30), batch=2)

    assert deleted == 5  # in three batches of at most two
    assert await _left(db) == {"done": 3, "dead": 2, "pending": 2, "running": 1}
    assert await prune_finished(db.sessionmaker, finished_before=days_ago(30)) == 0  # nothing left to do


async def test_a_run_stops_at_its_time_budget_and_the_next_one_continues(
    db: Database, clock: FrozenClock
) -> None:
    await _jobs(db, JobStatus.DONE, 6, finished_days_ago=90)
    first = await prune_finished(db.sessionmaker, finished_before=days_ago(30), batch=2, budget_seconds=0)
    assert first == 2  # one batch, then out of time
    assert await prune_finished(db.sessionmaker, finished_before=days_ago(30), batch=2) == 4
    assert await _left(db) == {}


async def test_the_hourly_job_uses_the_retention_setting(db: Database, clock: FrozenClock) -> None:
    assert PeriodicTask(OUTBOX_PRUNE, timedelta(hours=1)) in PERIODIC
    _handlers, periodic = load_job_modules()
    assert any(task.name == OUTBOX_PRUNE for task in periodic)
    settings = Settings(outbox_retention_days=7)
    await _jobs(db, JobStatus.DONE, 2, finished_days_ago=8)
    await _jobs(db, JobStatus.DONE, 1, finished_days_ago=6)
    prune = bind_prune(db.sessionmaker, settings.outbox_retention_days)
    # As the worker runs it: the job's own session is not a gated write transaction (on SQLite the
    # handler's batches queue behind other writers only).
    async with db.sessionmaker() as session:
        await prune(JobContext(session, new_id(), OUTBOX_PRUNE, 1, ""), {})
    assert (await _left(db)).get("done") == 1
