"""Gauges read from the database at scrape time: queue depths, outbox backlog, dead jobs, overdue SLAs.

The `/metrics` route awaits `DATABASE_STATS.refresh()` before rendering; `collect()` then only reads
the snapshot, since prometheus_client calls collectors synchronously. A snapshot younger than `ttl`
is reused (several scrapers, one query set), and a refresh that outlasts `timeout` is abandoned: the
scrape still answers, with the previous values and `kefu_database_stats_up 0`.

These numbers describe the shared database, so every node reports the same values: aggregate them
with max(), not sum() (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.conversations.models import Conversation
from kefu.core.clock import utcnow
from kefu.inboxes.models import Team
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.observability.metrics import REGISTRY
from kefu.routing.service import WORKING
from kefu.sla.models import ConversationSla

log = structlog.get_logger(__name__)

# The queue of conversations that belong to no team.
NO_TEAM: Final = "_none"
_BACKLOG: Final = (JobStatus.PENDING, JobStatus.RUNNING)


@dataclass(frozen=True)
class DatabaseStats:
    """One snapshot of what the database-backed gauges show."""

    queues: dict[str, int] = field(default_factory=dict)
    backlog: dict[tuple[str, str], int] = field(default_factory=dict)
    dead: dict[str, int] = field(default_factory=dict)
    oldest_due_seconds: float = 0.0
    sla_overdue: int = 0


async def read_database_stats(session: AsyncSession) -> DatabaseStats:
    """Count waiting conversations per team, unfinished and dead jobs per name, overdue SLA clocks."""
    waiting = and_(
        Conversation.team_id == Team.id, Conversation.assignee_id.is_(None), Conversation.status.in_(WORKING)
    )
    rows = await session.execute(
        select(Team.slug, func.count(Conversation.id))
        .select_from(Team)
        .outerjoin(Conversation, waiting)
        .group_by(Team.slug)
    )
    queues = {slug: int(count) for slug, count in rows}
    queues[NO_TEAM] = int(
        await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.team_id.is_(None),
                Conversation.assignee_id.is_(None),
                Conversation.status.in_(WORKING),
            )
        )
        or 0
    )
    job_rows = await session.execute(
        select(OutboxJob.name, OutboxJob.status, func.count())
        .where(OutboxJob.status.in_((*_BACKLOG, JobStatus.DEAD)))
        .group_by(OutboxJob.name, OutboxJob.status)
    )
    backlog: dict[tuple[str, str], int] = {}
    dead: dict[str, int] = {}
    for name, status, count in job_rows:
        if JobStatus(status) == JobStatus.DEAD:
            dead[name] = int(count)
        else:
            backlog[(name, JobStatus(status).value)] = int(count)
    now = utcnow()
    oldest = await session.scalar(
        select(func.min(OutboxJob.run_at)).where(
            OutboxJob.status == JobStatus.PENDING, OutboxJob.run_at <= now
        )
    )
    overdue = await session.scalar(
        select(func.count()).select_from(ConversationSla).where(ConversationSla.overdue.is_(True))
    )
    return DatabaseStats(
        queues=queues,
        backlog=backlog,
        dead=dead,
        oldest_due_seconds=max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
        sla_overdue=int(overdue or 0),
    )


class DatabaseCollector(Collector):
    """Serves the last `DatabaseStats` snapshot; `refresh()` replaces it at most every `ttl` seconds."""

    def __init__(
        self, *, ttl: float = 5.0, timeout: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._clock = clock
        self._stats = DatabaseStats()
        self._source: object | None = None
        self._fetched_at = float("-inf")
        self._up = False
        self._seconds = 0.0

    async def refresh(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Read fresh stats unless the snapshot of this database is younger than `ttl`; never raises."""
        started = self._clock()
        if sessionmaker is self._source and started - self._fetched_at < self.ttl:
            return
        try:
            async with asyncio.timeout(self.timeout), sessionmaker() as session:
                stats = await read_database_stats(session)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even when the database cannot
            log.warning("metrics_database_stats_failed", error=type(exc).__name__)
            self._up = False
            if sessionmaker is not self._source:
                self._stats = DatabaseStats()  # another database's numbers would be wrong, not stale
        else:
            self._stats, self._up = stats, True
        self._source = sessionmaker
        self._fetched_at = self._clock()
        self._seconds = self._fetched_at - started

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The snapshot as gauge families (prometheus_client calls this while rendering)."""
        stats = self._stats
        up = GaugeMetricFamily("kefu_database_stats_up", "1 when the last database read for metrics worked.")
        up.add_metric([], 1.0 if self._up else 0.0)
        yield up
        took = GaugeMetricFamily("kefu_database_stats_seconds", "How long the last database read took.")
        took.add_metric([], self._seconds)
        yield took
        queues = GaugeMetricFamily(
            "kefu_queue_waiting_conversations",
            "Unassigned new or open conversations waiting for an agent, by team slug (_none: no team).",
            labels=["team"],
        )
        for team, count in sorted(stats.queues.items()):
            queues.add_metric([team], count)
        yield queues
        backlog = GaugeMetricFamily(
            "kefu_outbox_backlog_jobs",
            "Outbox jobs not finished yet, by job name and state.",
            labels=["job", "state"],
        )
        for (job, state), count in sorted(stats.backlog.items()):
            backlog.add_metric([job, state], count)
        yield backlog
        dead = GaugeMetricFamily(
            "kefu_outbox_dead_jobs",
            "Outbox jobs that gave up (need an operator), by job name.",
            labels=["job"],
        )
        for job, count in sorted(stats.dead.items()):
            dead.add_metric([job], count)
        yield dead
        oldest = GaugeMetricFamily(
            "kefu_outbox_oldest_due_seconds", "How long the oldest due, unclaimed outbox job has waited."
        )
        oldest.add_metric([], stats.oldest_due_seconds)
        yield oldest
        overdue = GaugeMetricFamily(
            "kefu_sla_overdue_conversations", "Conversations with a breached SLA clock still running."
        )
        overdue.add_metric([], stats.sla_overdue)
        yield overdue


DATABASE_STATS: Final = DatabaseCollector()
REGISTRY.register(DATABASE_STATS)
