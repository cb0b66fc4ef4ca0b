"""Enqueueing writes into the caller's transaction, deduplicates, and wakes the local worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kefu.core.clock import FrozenClock
from kefu.db.uow import commit, rollback, transaction
from kefu.jobs.enqueue import enqueue, job_wakeup
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.names import JobName
from tests.conftest import Database


async def all_jobs(db: Database) -> list[OutboxJob]:
    async with db.sessionmaker() as session:
        return list((await session.scalars(select(OutboxJob).order_by(OutboxJob.created_at))).all())


async def test_job_is_stored_pending_when_the_transaction_commits(db: Database, clock: FrozenClock) -> None:
    async with transaction(db.sessionmaker) as session:
        assert await enqueue(session, JobName.EMAIL_SEND, {"to": "a@example.com"}, max_attempts=3)
    [job] = await all_jobs(db)
    assert job.name == "email.send"
    assert job.payload == {"to": "a@example.com"}
    assert job.status is JobStatus.PENDING
    assert (job.attempts, job.max_attempts) == (0, 3)
    assert job.run_at == job.created_at == clock.now()
    assert job.dedupe_key is None
    assert job.locked_by is None
    assert job.finished_at is None
    assert job.id.version == 7


async def failing_change(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        await enqueue(session, JobName.EMAIL_SEND, {"n": 1})
        raise RuntimeError("the change failed")


async def test_rolled_back_transaction_leaves_no_job(db: Database) -> None:
    with pytest.raises(RuntimeError):
        await failing_change(db)
    async with db.sessionmaker() as session:
        await enqueue(session, JobName.EMAIL_SEND, {"n": 2})
        await rollback(session)
    assert await all_jobs(db) == []


async def test_duplicate_dedupe_key_adds_nothing(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        assert await enqueue(session, JobName.WEBHOOK_DELIVER, {"n": 1}, dedupe_key="tg:update:42")
        # Also within one transaction, and without breaking it.
        assert not await enqueue(session, JobName.WEBHOOK_DELIVER, {"n": 2}, dedupe_key="tg:update:42")
        assert await enqueue(session, JobName.WEBHOOK_DELIVER, {"n": 3}, dedupe_key="tg:update:43")
    async with transaction(db.sessionmaker) as session:
        assert not await enqueue(session, JobName.CHANNEL_DELIVER, {"n": 4}, dedupe_key="tg:update:42")
        assert await enqueue(session, JobName.CHANNEL_DELIVER, {"n": 5})
        assert await enqueue(session, JobName.CHANNEL_DELIVER, {"n": 6})
    payloads = sorted(job.payload["n"] for job in await all_jobs(db))
    assert payloads == [1, 3, 5, 6]


async def test_run_at_delays_the_job(db: Database, clock: FrozenClock) -> None:
    later = clock.now() + timedelta(hours=1)
    async with transaction(db.sessionmaker) as session:
        await enqueue(session, JobName.EMAIL_SEND, {}, run_at=later)
    [job] = await all_jobs(db)
    assert job.run_at == later


async def test_commit_wakes_the_worker_but_rollback_does_not(db: Database) -> None:
    wakeup = job_wakeup()
    async with db.sessionmaker() as session:
        wakeup.clear()
        await enqueue(session, JobName.EMAIL_SEND, {})
        assert not wakeup.is_set()
        await rollback(session)
        assert not wakeup.is_set()
        await enqueue(session, JobName.EMAIL_SEND, {})
        await commit(session)
        assert wakeup.is_set()


@pytest.mark.parametrize(
    ("job", "payload", "options", "error"),
    [
        ("", {}, {}, ValueError),
        ("x" * 101, {}, {}, ValueError),
        ("email.send", ["not", "a", "dict"], {}, TypeError),
        ("email.send", {"when": datetime(2025, 1, 1, tzinfo=UTC)}, {}, ValueError),
        ("email.send", {"nan": float("nan")}, {}, ValueError),
        ("email.send", {}, {"dedupe_key": ""}, ValueError),
        ("email.send", {}, {"dedupe_key": "k" * 256}, ValueError),
        ("email.send", {}, {"run_at": datetime(2025, 1, 1)}, ValueError),
        ("email.send", {}, {"max_attempts": 0}, ValueError),
    ],
)
async def test_malformed_jobs_are_refused(
    db: Database, job: str, payload: object, options: dict[str, object], error: type[Exception]
) -> None:
    async with db.sessionmaker() as session:
        with pytest.raises(error):
            await enqueue(session, job, payload, **options)  # type: ignore[arg-type]
        await commit(session)
    assert await all_jobs(db) == []
