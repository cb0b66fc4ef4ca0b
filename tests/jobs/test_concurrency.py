"""Several workers share one queue; each job runs exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import Table

from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus
from kefu.jobs.registry import HandlerRegistry, JobContext
from kefu.jobs.service import count_by_status
from kefu.jobs.worker import Worker
from tests.conftest import Database
from tests.jobs.conftest import TEST_JOB, effect_keys, write_effect

JOBS = 200


async def test_two_workers_run_each_job_exactly_once(db: Database, effects_table: Table) -> None:
    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # let the other worker interleave
        await write_effect(ctx, payload)

    async with transaction(db.sessionmaker) as session:
        for n in range(JOBS):
            await enqueue(session, TEST_JOB, {"key": f"job-{n}"})
    registry = HandlerRegistry({TEST_JOB: handler})
    workers = [
        Worker(db.sessionmaker, registry, name=f"w{i}", concurrency=4, poll_interval=0.05) for i in range(2)
    ]
    stop = asyncio.Event()
    runners = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        async with asyncio.timeout(30):
            while True:
                async with db.sessionmaker() as session:
                    if (await count_by_status(session))[JobStatus.DONE] == JOBS:
                        break
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*runners)

    keys = Counter(await effect_keys(db))
    assert len(keys) == JOBS
    assert set(keys.values()) == {1}
    async with db.sessionmaker() as session:
        counts = await count_by_status(session)
    assert counts == {JobStatus.PENDING: 0, JobStatus.RUNNING: 0, JobStatus.DONE: JOBS, JobStatus.DEAD: 0}
