"""The database gauges: queue depth per team, outbox backlog and dead jobs; cached, and bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from kefu.auth.roles import Role
from kefu.core.clock import utcnow
from kefu.db.engine import create_engine, create_sessionmaker
from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.observability.collectors import NO_TEAM, DatabaseCollector
from tests.conftest import Database
from tests.factories import make_agent, make_team, open_conversation
from tests.observability.test_metrics_endpoint import sample


async def _add_jobs(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        await enqueue(session, "test.backlog", {"n": 1})
        await enqueue(session, "test.backlog", {"n": 2}, run_at=utcnow() + timedelta(hours=1))
        session.add(OutboxJob(name="test.broken", payload={}, status=JobStatus.DEAD, attempts=8))
        session.add(OutboxJob(name="test.broken", payload={}, status=JobStatus.DONE, attempts=1))


async def test_queue_depth_backlog_and_dead_jobs_are_scraped(db: Database, client: httpx.AsyncClient) -> None:
    billing = await make_team(db.sessionmaker, "Billing")
    await make_team(db.sessionmaker, "Quiet")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR, teams=(billing,))
    for _ in range(2):
        await open_conversation(client, boss, team_id=str(billing))
    await open_conversation(client, boss)
    await _add_jobs(db)

    text = (await client.get("/metrics")).text

    assert sample(text, "kefu_queue_waiting_conversations", team="billing") == 2
    assert sample(text, "kefu_queue_waiting_conversations", team="quiet") == 0
    assert sample(text, "kefu_queue_waiting_conversations", team=NO_TEAM) == 1
    assert sample(text, "kefu_outbox_backlog_jobs", job="test.backlog", state="pending") == 2
    assert sample(text, "kefu_outbox_dead_jobs", job="test.broken") == 1
    assert sample(text, "kefu_outbox_backlog_jobs", job="test.broken", state="pending") is None
    oldest = sample(text, "kefu_outbox_oldest_due_seconds")
    assert oldest is not None
    assert oldest >= 0
    assert sample(text, "kefu_sla_overdue_conversations") == 0
    assert sample(text, "kefu_database_stats_up") == 1


def _render(collector: DatabaseCollector) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


async def test_a_fresh_snapshot_is_reused_until_it_is_ttl_old(db: Database) -> None:
    now = [100.0]
    collector = DatabaseCollector(ttl=5.0, clock=lambda: now[0])
    await collector.refresh(db.sessionmaker)
    assert sample(_render(collector), "kefu_outbox_dead_jobs", job="test.broken") is None

    await _add_jobs(db)
    now[0] += 4.0
    await collector.refresh(db.sessionmaker)
    assert sample(_render(collector), "kefu_outbox_dead_jobs", job="test.broken") is None

    now[0] += 2.0
    await collector.refresh(db.sessionmaker)
    assert sample(_render(collector), "kefu_outbox_dead_jobs", job="test.broken") == 1


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word (a database that hangs)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_hanging_database_never_hangs_the_scrape(db: Database, silent_port: int) -> None:
    collector = DatabaseCollector(timeout=0.3)
    await collector.refresh(db.sessionmaker)
    await _add_jobs(db)
    collector.ttl = 0.0
    await collector.refresh(db.sessionmaker)
    assert sample(_render(collector), "kefu_database_stats_up") == 1

    engine = create_engine(f"postgresql+asyncpg://kefu@127.0.0.1:{silent_port}/kefu")
    try:
        async with asyncio.timeout(5):
            await collector.refresh(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    text = _render(collector)
    assert sample(text, "kefu_database_stats_up") == 0
    # The numbers were another database's: not shown as if they were this one's.
    assert sample(text, "kefu_outbox_dead_jobs", job="test.broken") is None
