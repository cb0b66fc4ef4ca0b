"""The outbox worker: claims due jobs with a lease, runs each handler, records the outcome.

A job's effect happens once: the handler's writes and "done" commit together, and "done" only
succeeds while this worker still holds the claim it made (same `locked_by` and `attempts`).
A worker that crashes or overruns its lease loses the job to the next claimer.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.clock import utcnow
from kefu.core.ids import new_token
from kefu.db.uow import commit, rollback, transaction
from kefu.jobs.enqueue import job_wakeup
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import Batchable, HandlerRegistry, JobContext, PermanentJobError, RetryAfter
from kefu.jobs.retry import backoff_seconds, describe_error
from kefu.observability.context import job_log_context
from kefu.observability.metrics import OUTBOX_JOB_DURATION, OUTBOX_JOBS

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker holds a lease on; (`id`, `attempt`) identifies the claim."""

    id: uuid.UUID
    name: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    dedupe_key: str | None


class Worker:
    """Runs outbox jobs with up to `concurrency` handlers at once."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: HandlerRegistry,
        *,
        concurrency: int = 4,
        poll_interval: float = 0.5,
        lease_seconds: float = 300,
        name: str | None = None,
        backoff_base: float = 2.0,
        backoff_cap: float = 3600.0,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1 or poll_interval <= 0 or lease_seconds <= 0:
            raise ValueError("concurrency, poll_interval and lease_seconds must be positive")
        backoff_seconds(1, base=backoff_base, cap=backoff_cap)  # validates the backoff settings early
        self.sessionmaker = sessionmaker
        self.handlers = handlers
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = timedelta(seconds=lease_seconds)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{new_token(4)}"
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._rng = rng or random.Random()

    async def run_once(self) -> int:
        """Claim up to `concurrency` due jobs, run them all, and return how many were claimed."""
        jobs = await self.claim(self.concurrency)
        await asyncio.gather(*(self._run(group) for group in self._groups(jobs)))
        return len(jobs)

    async def run(self, stop: asyncio.Event) -> None:
        """Process jobs until `stop` is set, then let running handlers finish."""
        wakeup = job_wakeup()
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                # Cleared before claiming so a poke that lands during the claim is not lost.
                wakeup.clear()
                free = self.concurrency - len(running)
                claimed: list[ClaimedJob] = []
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                    except Exception:
                        log.exception("job_claim_failed", worker=self.name)
                for group in self._groups(claimed):
                    task = asyncio.create_task(self._run(group), name=f"job-{group[0].id}")
                    running.add(task)
                    task.add_done_callback(running.discard)
                if free > 0 and len(claimed) == free:
                    continue  # every slot was filled: more jobs are probably due
                await self._idle(stop, wakeup, running)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            raise
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    async def _idle(
        self, stop: asyncio.Event, wakeup: asyncio.Event, running: set[asyncio.Task[None]]
    ) -> None:
        waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(wakeup.wait())}
        try:
            await asyncio.wait(waiters | running, timeout=self.poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def claim(self, limit: int) -> list[ClaimedJob]:
        """Lease up to `limit` due (or abandoned) jobs to this worker in one committed statement."""
        now = utcnow()
        due = or_(
            and_(OutboxJob.status == JobStatus.PENDING, OutboxJob.run_at <= now),
            # A lease that ran out means its worker died or overran: the job is up for grabs.
            and_(OutboxJob.status == JobStatus.RUNNING, OutboxJob.locked_until < now),
        )
        # On PostgreSQL SKIP LOCKED lets several workers claim disjoint batches without waiting;
        # SQLite ignores FOR UPDATE and serialises writers, so the single UPDATE is atomic there too.
        candidates = (
            select(OutboxJob.id)
            .where(due)
            .order_by(OutboxJob.run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(OutboxJob)
            .where(OutboxJob.id.in_(candidates))
            .values(
                status=JobStatus.RUNNING,
                locked_until=now + self.lease,
                locked_by=self.name,
                attempts=OutboxJob.attempts + 1,
            )
            .returning(
                OutboxJob.id,
                OutboxJob.name,
                OutboxJob.payload,
                OutboxJob.attempts,
                OutboxJob.max_attempts,
                OutboxJob.dedupe_key,
            )
            .execution_options(synchronize_session=False)
        )
        async with transaction(self.sessionmaker) as session:
            rows = (await session.execute(statement)).all()
        return [ClaimedJob(*row) for row in rows]

    def _groups(self, jobs: list[ClaimedJob]) -> list[list[ClaimedJob]]:
        """Claimed jobs as units of work: batchable jobs of one name together (up to its limit)."""
        groups: list[list[ClaimedJob]] = []
        batches: dict[str, list[ClaimedJob]] = {}
        for job in jobs:
            handler = self.handlers.get(job.name)
            if not isinstance(handler, Batchable):
                groups.append([job])
                continue
            batch = batches.setdefault(job.name, [])
            batch.append(job)
            if len(batch) >= handler.limit:
                groups.append(batches.pop(job.name))
        return groups + list(batches.values())

    async def _run(self, group: list[ClaimedJob]) -> None:
        if len(group) == 1:
            await self.execute(group[0])
        else:
            await self.execute_batch(group)

    async def execute_batch(self, jobs: list[ClaimedJob]) -> None:
        """Run jobs of one batchable handler in one transaction; on any failure, each on its own."""
        handler = self.handlers.get(jobs[0].name)
        assert handler is not None
        try:
            async with self.sessionmaker() as session:
                async with asyncio.timeout(self.lease.total_seconds()):
                    for job in jobs:
                        await handler(self._context(session, job), dict(job.payload))
                if await self._mark_batch_done(session, jobs):
                    await commit(session)
                    OUTBOX_JOBS.labels(job=jobs[0].name, outcome="done").inc(len(jobs))
                    for job in jobs:
                        log.info("job_done", job_id=str(job.id), job=job.name, attempt=job.attempt)
                    return
                await rollback(session)
        except Exception as exc:  # noqa: BLE001 - the jobs run again one by one and record their own outcome
            log.info("job_batch_split", job=jobs[0].name, size=len(jobs), error=describe_error(exc))
        for job in jobs:
            await self.execute(job)

    async def _mark_batch_done(self, session: AsyncSession, jobs: list[ClaimedJob]) -> bool:
        claims = {(job.id, job.attempt) for job in jobs}
        statement = (
            update(OutboxJob)
            .where(
                OutboxJob.id.in_([job.id for job in jobs]),
                OutboxJob.status == JobStatus.RUNNING,
                OutboxJob.locked_by == self.name,
            )
            .values(locked_until=None, locked_by=None, status=JobStatus.DONE, finished_at=utcnow())
            .returning(OutboxJob.id, OutboxJob.attempts)
            .execution_options(synchronize_session=False)
        )
        # Every claim must still be ours (same attempt); a lost one means the batch must not commit.
        return {(row[0], row[1]) for row in await session.execute(statement)} == claims

    @staticmethod
    def _context(session: AsyncSession, job: ClaimedJob) -> JobContext:
        return JobContext(
            session=session,
            job_id=job.id,
            name=job.name,
            attempt=job.attempt,
            idempotency_key=job.dedupe_key or str(job.id),
        )

    async def execute(self, job: ClaimedJob) -> None:
        """Run one claimed job and record the outcome; never raises (except cancellation)."""
        with job_log_context(job.id, job.name, job.payload):
            await self._execute(job)

    async def _execute(self, job: ClaimedJob) -> None:
        handler = self.handlers.get(job.name)
        if handler is None:
            await self._record_failure(job, f"no handler is registered for job {job.name!r}", dead=True)
            return
        async with self.sessionmaker() as session:
            context = self._context(session, job)
            started = time.perf_counter()
            try:
                # Past the lease another worker may take the job over; stop before that.
                async with asyncio.timeout(self.lease.total_seconds()):
                    try:
                        await handler(context, dict(job.payload))
                    finally:
                        OUTBOX_JOB_DURATION.labels(job=job.name).observe(time.perf_counter() - started)
                finished = await self._mark(session, job, status=JobStatus.DONE, finished_at=utcnow())
                if not finished:
                    await rollback(session)
                    OUTBOX_JOBS.labels(job=job.name, outcome="lost").inc()
                    log.warning("job_claim_lost", job_id=str(job.id), job=job.name, worker=self.name)
                    return
                await commit(session)
                OUTBOX_JOBS.labels(job=job.name, outcome="done").inc()
            except Exception as exc:  # noqa: BLE001 - every handler failure is recorded and retried
                await rollback(session)
                permanent = isinstance(exc, PermanentJobError)
                wait = exc.seconds if isinstance(exc, RetryAfter) else 0.0
                await self._record_failure(job, describe_error(exc), dead=permanent, at_least=wait)
                return
        log.info("job_done", job_id=str(job.id), job=job.name, attempt=job.attempt)

    async def _record_failure(
        self, job: ClaimedJob, error: str, *, dead: bool, at_least: float = 0.0
    ) -> None:
        dead = dead or job.attempt >= job.max_attempts
        now = utcnow()
        values: dict[str, Any] = {"last_error": error}
        if dead:
            values.update(status=JobStatus.DEAD, finished_at=now)
        else:
            delay = backoff_seconds(job.attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)
            values.update(status=JobStatus.PENDING, run_at=now + timedelta(seconds=max(delay, at_least)))
        try:
            async with transaction(self.sessionmaker) as session:
                recorded = await self._mark(session, job, **values)
        except Exception:
            # The lease will run out and the job will be claimed again; nothing is lost.
            log.exception("job_failure_not_recorded", job_id=str(job.id), job=job.name)
            return
        OUTBOX_JOBS.labels(job=job.name, outcome="dead" if dead else "retry").inc()
        log.warning(
            "job_dead" if dead else "job_failed",
            job_id=str(job.id),
            job=job.name,
            attempt=job.attempt,
            error=error,
            recorded=recorded,
        )

    async def _mark(self, session: AsyncSession, job: ClaimedJob, **values: Any) -> bool:
        # Only the current claim may settle the job: a reclaimed job has another attempt number.
        statement = (
            update(OutboxJob)
            .where(
                OutboxJob.id == job.id,
                OutboxJob.status == JobStatus.RUNNING,
                OutboxJob.locked_by == self.name,
                OutboxJob.attempts == job.attempt,
            )
            .values(locked_until=None, locked_by=None, **values)
            .returning(OutboxJob.id)
            .execution_options(synchronize_session=False)
        )
        return (await session.execute(statement)).scalar_one_or_none() is not None
