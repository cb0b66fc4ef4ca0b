"""The worker: retries with backoff, effects exactly once, leases, dead jobs."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select, update

from kefu.core.clock import FrozenClock
from kefu.core.errors import NotFound
from kefu.db.uow import transaction
from kefu.events.bus import EventBus, install_bus
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.jobs.actions import do_retry_dead_job
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import HandlerRegistry, JobContext, PermanentJobError, RetryAfter
from kefu.jobs.worker import Worker
from kefu.pubsub.memory import MemoryPubSub
from tests.conftest import Database
from tests.jobs.conftest import TEST_JOB, effect_count, effect_keys, write_effect

CAP = 60.0


def make_worker(db: Database, registry: HandlerRegistry, **options: Any) -> Worker:
    options.setdefault("backoff_cap", CAP)
    options.setdefault("rng", random.Random(7))  # fixed jitter: the "not due yet" checks cannot flake
    return Worker(db.sessionmaker, registry, **options)


async def add_job(
    db: Database, payload: dict[str, Any], *, name: str = TEST_JOB, **options: Any
) -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        assert await enqueue(session, name, payload, **options)
        return (await session.scalars(select(OutboxJob.id).order_by(OutboxJob.id.desc()).limit(1))).one()


async def load(db: Database, job_id: uuid.UUID) -> OutboxJob:
    async with db.sessionmaker() as session:
        job = await session.get(OutboxJob, job_id)
        assert job is not None
        return job


async def test_job_failing_twice_then_succeeding_has_its_effect_once(
    db: Database, clock: FrozenClock, effects_table: Table
) -> None:
    calls: list[int] = []

    async def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(ctx.attempt)
        await write_effect(ctx, payload)  # rolled back together with the failed attempt
        if ctx.attempt < 3:
            raise ConnectionError(f"provider down (attempt {ctx.attempt})")

    worker = make_worker(db, HandlerRegistry({TEST_JOB: flaky}))
    job_id = await add_job(db, {"key": "k1"})

    assert await worker.run_once() == 1
    job = await load(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert job.last_error is not None
    assert "ConnectionError: provider down (attempt 1)" in job.last_error
    assert job.locked_by is None
    assert job.locked_until is None
    assert await worker.run_once() == 0  # not due before its backoff has passed
    clock.advance(timedelta(seconds=CAP))
    assert await worker.run_once() == 1
    clock.advance(timedelta(seconds=CAP))
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0

    job = await load(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 3)
    assert job.finished_at == clock.now()
    assert calls == [1, 2, 3]
    assert await effect_keys(db) == ["k1"]


async def test_failure_schedules_retry_within_backoff_bounds(db: Database, clock: FrozenClock) -> None:
    async def failing(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise RuntimeError("nope")

    worker = make_worker(db, HandlerRegistry({TEST_JOB: failing}), backoff_base=3.0, backoff_cap=1000.0)
    job_id = await add_job(db, {}, max_attempts=20)
    for attempt in range(1, 9):
        failed_at = clock.now()
        assert await worker.run_once() == 1
        job = await load(db, job_id)
        assert job.attempts == attempt
        assert failed_at <= job.run_at <= failed_at + timedelta(seconds=min(1000.0, 3.0**attempt))
        clock.advance(job.run_at - clock.now())


async def test_a_peers_retry_after_is_honoured(db: Database, clock: FrozenClock) -> None:
    async def throttled(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise RetryAfter(900, "429 Too Many Requests")

    worker = make_worker(db, HandlerRegistry({TEST_JOB: throttled}), backoff_base=2.0, backoff_cap=10.0)
    job_id = await add_job(db, {}, max_attempts=5)
    failed_at = clock.now()
    assert await worker.run_once() == 1
    job = await load(db, job_id)
    assert job.status == JobStatus.PENDING
    assert job.run_at == failed_at + timedelta(seconds=900)  # not the 0–2 s backoff
    assert job.last_error is not None
    assert "429" in job.last_error


async def test_job_dies_after_max_attempts_and_can_be_retried(
    db: Database, clock: FrozenClock, effects_table: Table
) -> None:
    broken = True

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        if broken:
            raise ValueError("api_key=sk_live_123 rejected by https://user:hunter2@api.example.com/x")
        await write_effect(ctx, payload)

    worker = make_worker(db, HandlerRegistry({TEST_JOB: handler}))
    job_id = await add_job(db, {"key": "k"}, max_attempts=2)
    await worker.run_once()
    clock.advance(timedelta(seconds=CAP))
    await worker.run_once()
    job = await load(db, job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DEAD, 2, clock.now())
    assert job.last_error is not None
    assert job.last_error.startswith("ValueError: api_key=***")
    assert "sk_live_123" not in job.last_error
    assert "hunter2" not in job.last_error
    clock.advance(timedelta(days=1))
    assert await worker.run_once() == 0  # dead jobs stay dead

    broken = False
    async with transaction(db.sessionmaker) as session:
        retried = await do_retry_dead_job(session, job_id)
        assert (retried.status, retried.attempts, retried.run_at) == (JobStatus.PENDING, 0, clock.now())
        assert retried.finished_at is None
    assert await worker.run_once() == 1
    job = await load(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
    assert await effect_keys(db) == ["k"]


async def test_retry_dead_job_refuses_missing_and_live_jobs(db: Database) -> None:
    job_id = await add_job(db, {})
    async with db.sessionmaker() as session:
        with pytest.raises(NotFound):
            await do_retry_dead_job(session, job_id)
        with pytest.raises(NotFound):
            await do_retry_dead_job(session, uuid.uuid4())
    assert (await load(db, job_id)).status is JobStatus.PENDING


async def test_unknown_job_name_dies_with_a_clear_error(db: Database) -> None:
    job_id = await add_job(db, {}, name="test.nobody_handles_this")
    assert await make_worker(db, HandlerRegistry()).run_once() == 1
    job = await load(db, job_id)
    assert job.status is JobStatus.DEAD
    assert job.attempts == 1
    assert job.last_error == "no handler is registered for job 'test.nobody_handles_this'"


async def test_permanent_error_dies_without_retrying(db: Database) -> None:
    async def strict(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise PermanentJobError("payload has no 'to' address")

    job_id = await add_job(db, {}, max_attempts=8)
    await make_worker(db, HandlerRegistry({TEST_JOB: strict})).run_once()
    job = await load(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.DEAD, 1)
    assert job.last_error is not None
    assert "payload has no 'to' address" in job.last_error


async def test_future_jobs_wait_until_due(db: Database, clock: FrozenClock, effects_table: Table) -> None:
    worker = make_worker(db, HandlerRegistry({TEST_JOB: write_effect}))
    await add_job(db, {"key": "later"}, run_at=clock.now() + timedelta(minutes=5))
    await add_job(db, {"key": "now"})
    assert await worker.run_once() == 1
    clock.advance(timedelta(minutes=5))
    assert await worker.run_once() == 1
    assert await effect_keys(db) == ["now", "later"]


async def test_expired_lease_is_reclaimed_but_a_live_one_is_not(
    db: Database, clock: FrozenClock, effects_table: Table
) -> None:
    job_id = await add_job(db, {"key": "k"})
    # A worker claimed the job and then crashed.
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == job_id)
            .values(
                status=JobStatus.RUNNING,
                attempts=1,
                locked_by="crashed",
                locked_until=clock.now() + timedelta(seconds=30),
            )
        )
    worker = make_worker(db, HandlerRegistry({TEST_JOB: write_effect}))
    assert await worker.run_once() == 0
    clock.advance(timedelta(seconds=31))
    assert await worker.run_once() == 1
    job = await load(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert await effect_keys(db) == ["k"]


async def test_worker_that_lost_its_lease_cannot_complete_the_job(
    db: Database, clock: FrozenClock, effects_table: Table
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        if ctx.attempt == 1:
            started.set()
            await release.wait()  # stalls past its lease (GC pause, hung connection, …)
        await write_effect(ctx, payload)

    registry = HandlerRegistry({TEST_JOB: handler})
    slow = make_worker(db, registry, name="slow", lease_seconds=10)
    fast = make_worker(db, registry, name="fast", lease_seconds=10)
    job_id = await add_job(db, {"key": "k"})
    slow_run = asyncio.create_task(slow.run_once())
    async with asyncio.timeout(5):
        await started.wait()
    clock.advance(timedelta(seconds=11))
    assert await fast.run_once() == 1
    release.set()
    assert await slow_run == 1
    job = await load(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert await effect_count(db) == 1


async def test_handler_context_and_events_after_commit(db: Database) -> None:
    seen: list[tuple[str, int, str]] = []

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        seen.append((ctx.name, ctx.attempt, ctx.idempotency_key))
        emit_on_commit(
            ctx.session, Event(name=EventName.MESSAGE_CREATED, topics=("conversation:1",), payload=payload)
        )

    bus = EventBus(MemoryPubSub())
    previous = install_bus(bus)
    try:
        keyed = await add_job(db, {"n": 1}, dedupe_key="telegram:update:7")
        unkeyed = await add_job(db, {"n": 2})
        async with bus.subscribe(["conversation:1"]) as events:
            assert await make_worker(db, HandlerRegistry({TEST_JOB: handler})).run_once() == 2
            async with asyncio.timeout(2):
                payloads = [(await anext(events)).payload["n"] for _ in range(2)]
        assert sorted(payloads) == [1, 2]
        assert sorted(seen) == sorted([(TEST_JOB, 1, "telegram:update:7"), (TEST_JOB, 1, str(unkeyed))])
        assert keyed != unkeyed
    finally:
        install_bus(previous)
        await bus.close()


async def test_run_loop_picks_up_new_jobs_promptly_and_stops(db: Database, effects_table: Table) -> None:
    done = asyncio.Event()

    async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        await write_effect(ctx, payload)
        if payload["key"] == "last":
            done.set()

    # A long poll interval: only the after-commit wake-up can make this test finish in time.
    worker = make_worker(db, HandlerRegistry({TEST_JOB: handler}), poll_interval=30, concurrency=2)
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.05)
    for key in ("a", "b", "c", "last"):
        await add_job(db, {"key": key})
    async with asyncio.timeout(5):
        await done.wait()
    stop.set()
    async with asyncio.timeout(5):
        await runner
    assert sorted(await effect_keys(db)) == ["a", "b", "c", "last"]


async def test_handler_registry_rejects_bad_registrations() -> None:
    registry = HandlerRegistry({TEST_JOB: write_effect})
    with pytest.raises(ValueError):
        registry.register(TEST_JOB, write_effect)
    with pytest.raises(ValueError):
        registry.register("", write_effect)
    assert registry.get(TEST_JOB) is write_effect
    assert registry.get("missing") is None
    assert registry.names() == {TEST_JOB}


@pytest.mark.parametrize(
    "options",
    [
        {"concurrency": 0},
        {"poll_interval": 0},
        {"lease_seconds": -1},
        {"backoff_base": 1.0},
        {"backoff_cap": 0},
    ],
)
def test_worker_options_are_validated(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Worker(None, HandlerRegistry(), **options)  # type: ignore[arg-type]
