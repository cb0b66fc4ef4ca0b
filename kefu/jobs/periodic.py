"""Recurring work (SLA scans, auto-close, presence reaping) as ordinary outbox jobs, once per slot.

Every process that runs a worker also runs a `Scheduler`. Time is cut into slots of each task's
interval; for the current slot the scheduler enqueues one job with the dedupe key
``periodic:<name>:<slot start>``. The unique key makes the job exist once however many nodes race
to schedule it, and the outbox gives it retries, leases and a record of each run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue

log = structlog.get_logger(__name__)

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PeriodicTask:
    """Run the job `name` (payload `{"slot": iso}`) once every `every`."""

    name: str
    every: timedelta

    def __post_init__(self) -> None:
        if self.every < timedelta(seconds=1):
            raise ValueError("a periodic task runs at most once a second")


def slot_start(now: datetime, every: timedelta) -> datetime:
    """The start of the slot of length `every` that contains `now` (slots are aligned to an epoch)."""
    elapsed = (now - _EPOCH) // every
    return _EPOCH + elapsed * every


async def schedule_due(session: AsyncSession, tasks: Iterable[PeriodicTask], now: datetime) -> list[str]:
    """Enqueue the current slot's job of each task unless it exists; returns the names enqueued."""
    enqueued = []
    for task in tasks:
        start = slot_start(now, task.every)
        key = f"periodic:{task.name}:{start.isoformat()}"
        if await enqueue(session, task.name, {"slot": start.isoformat()}, dedupe_key=key, max_attempts=3):
            enqueued.append(task.name)
    return enqueued


class Scheduler:
    """Checks every `tick` seconds whether a task's next slot has begun."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tasks: Iterable[PeriodicTask],
        *,
        tick: float = 5.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.tasks = tuple(tasks)
        self._tick = tick

    async def run_once(self) -> list[str]:
        """Schedule what is due now."""
        if not self.tasks:
            return []
        async with transaction(self._sessionmaker) as session:
            return await schedule_due(session, self.tasks, utcnow())

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until `stop` is set; a failed round is logged and retried at the next tick."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end scheduling for the life of the process
                log.exception("periodic_schedule_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._tick)
