"""Batchable handlers: claimed jobs share one transaction; one failure never fails its neighbours."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import FrozenClock
from kefu.jobs.models import JobStatus
from kefu.jobs.registry import Batchable, HandlerRegistry, JobContext
from tests.conftest import Database
from tests.jobs.conftest import TEST_JOB, effect_count, effect_keys, write_effect
from tests.jobs.test_worker import add_job, load, make_worker

OTHER_JOB = "test.other"


async def test_batchable_jobs_share_one_session_and_all_complete(db: Database, effects_table: Table) -> None:
    sessions: list[AsyncSession] = []

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        sessions.append(ctx.session)
        await write_effect(ctx, payload)

    worker = make_worker(db, HandlerRegistry({TEST_JOB: Batchable(handler, limit=3)}), concurrency=8)
    ids = [await add_job(db, {"key": f"k{i}"}, dedupe_key=f"d{i}") for i in range(5)]

    assert await worker.run_once() == 5
    assert sorted(await effect_keys(db)) == [f"k{i}" for i in range(5)]
    # Limit 3: one batch of three and one of two, each in its own session.
    assert sorted(sessions.count(s) for s in set(sessions)) == [2, 3]
    for job_id in ids:
        job = await load(db, job_id)
        assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 1, None)
        assert job.finished_at is not None


async def test_a_failing_job_splits_the_batch_and_fails_alone(
    db: Database, clock: FrozenClock, effects_table: Table
) -> None:
    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        await write_effect(ctx, payload)  # the batch's writes roll back with the failure
        if payload["key"] == "bad":
            raise ValueError("cannot parse")

    worker = make_worker(db, HandlerRegistry({TEST_JOB: Batchable(handler)}), concurrency=8)
    good = [await add_job(db, {"key": f"ok{i}"}, dedupe_key=f"ok{i}") for i in range(3)]
    bad = await add_job(db, {"key": "bad"}, dedupe_key="bad")

    assert await worker.run_once() == 4
    # Each good job's effect exists exactly once; the failed job left nothing behind.
    assert sorted(await effect_keys(db)) == ["ok0", "ok1", "ok2"]
    for job_id in good:
        assert (await load(db, job_id)).status == JobStatus.DONE
    failed = await load(db, bad)
    assert (failed.status, failed.attempts) == (JobStatus.PENDING, 1)
    assert failed.last_error is not None
    assert "cannot parse" in failed.last_error


async def test_a_batch_that_lost_a_claim_does_not_commit_it(
    db: Database, clock: FrozenClock, effects_table: Table
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        if ctx.attempt == 1 and payload["key"] == "slow":
            started.set()
            await release.wait()  # the batch stalls past its lease
        await write_effect(ctx, payload)

    registry = HandlerRegistry({TEST_JOB: Batchable(handler)})
    stalled = make_worker(db, registry, name="stalled", lease_seconds=10, concurrency=4)
    rescuer = make_worker(db, registry, name="rescuer", lease_seconds=10, concurrency=4)
    # The stalled job comes first and stalls before writing (SQLite would block the rescuer otherwise).
    first = await add_job(db, {"key": "slow"}, dedupe_key="slow")
    second = await add_job(db, {"key": "fast"}, dedupe_key="fast")
    run = asyncio.create_task(stalled.run_once())
    async with asyncio.timeout(5):
        await started.wait()
    clock.advance(timedelta(seconds=11))
    assert await rescuer.run_once() == 2  # both leases ran out: the rescuer does both
    release.set()
    assert await run == 2
    # The stalled batch could not settle its jobs, and its writes were rolled back.
    assert sorted(await effect_keys(db)) == ["fast", "slow"]
    assert await effect_count(db) == 2
    for job_id in (first, second):
        job = await load(db, job_id)
        assert (job.status, job.attempts) == (JobStatus.DONE, 2)


async def test_other_jobs_claimed_with_a_batch_run_on_their_own(db: Database, effects_table: Table) -> None:
    sessions: dict[str, AsyncSession] = {}

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        sessions[str(payload["key"])] = ctx.session
        await write_effect(ctx, payload)

    registry = HandlerRegistry({TEST_JOB: Batchable(handler), OTHER_JOB: handler})
    worker = make_worker(db, registry, concurrency=8)
    await add_job(db, {"key": "b1"}, dedupe_key="b1")
    await add_job(db, {"key": "single"}, name=OTHER_JOB, dedupe_key="single")
    await add_job(db, {"key": "b2"}, dedupe_key="b2")

    assert await worker.run_once() == 3
    assert sessions["b1"] is sessions["b2"]
    assert sessions["single"] is not sessions["b1"]
    assert sorted(await effect_keys(db)) == ["b1", "b2", "single"]
