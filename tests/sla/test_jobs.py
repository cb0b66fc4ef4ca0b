"""The periodic SLA scan: warnings and breaches are recorded once and announced after commit."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from kefu.auth.roles import Role
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.registry import load_job_modules
from kefu.sla import jobs
from kefu.sla.service import needs_attention
from tests.conftest import Database
from tests.factories import make_agent, open_conversation
from tests.sla.helpers import add_policy


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Events the scan asks to publish after commit."""
    seen: list[Event] = []

    def record(session: object, event: Event) -> None:
        del session
        seen.append(event)

    monkeypatch.setattr(jobs, "emit_on_commit", record)
    return seen


async def attention(db: Database, clock: FrozenClock, soon: timedelta) -> int:
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(Conversation.id).where(needs_attention(clock.now(), soon)))
        return len(rows.all())


def test_the_scan_is_registered_every_minute() -> None:
    handlers, periodic = load_job_modules()
    assert handlers[jobs.SLA_SCAN] is jobs.scan
    assert [(t.name, t.every) for t in periodic if t.name == jobs.SLA_SCAN] == [
        ("sla.scan", timedelta(seconds=60))
    ]


async def test_warning_then_breach_in_batches(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock, published: list[Event]
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    await add_policy(api, boss, first_response_minutes=60)
    ids = [str((await open_conversation(api, boss))["id"]) for _ in range(3)]
    assert await attention(db, clock, timedelta(minutes=5)) == 0
    assert await attention(db, clock, timedelta(hours=2)) == 3

    # Warned 12 minutes before the hour (20% of 60, under the 15-minute cap).
    clock.advance(timedelta(minutes=47))
    async with transaction(db.sessionmaker) as session:
        assert await jobs.do_scan_sla(session, clock.now()) == (0, 0)
    clock.advance(timedelta(minutes=1))
    async with transaction(db.sessionmaker) as session:
        assert await jobs.do_scan_sla(session, clock.now(), limit=2) == (0, 2)
    async with transaction(db.sessionmaker) as session:
        assert await jobs.do_scan_sla(session, clock.now(), limit=2) == (0, 1)
    assert [e.name for e in published] == [EventName.SLA_WARNING] * 3
    warning = published[0]
    assert warning.payload["target"] == "first_response"
    assert warning.payload["conversation_id"] in ids
    assert f"conversation:{warning.payload['conversation_id']}" in warning.topics
    assert "conversations:all" in warning.topics

    clock.advance(timedelta(minutes=13))
    async with transaction(db.sessionmaker) as session:
        assert await jobs.do_scan_sla(session, clock.now()) == (3, 0)
    async with transaction(db.sessionmaker) as session:
        assert await jobs.do_scan_sla(session, clock.now()) == (0, 0)
    breaches = [e for e in published if e.name == EventName.SLA_BREACHED]
    assert len(breaches) == 3
    assert breaches[0].payload["due_at"].startswith("2025-03-03T03:00")
    # Breached and still running: these need attention even with no deadline ahead.
    assert await attention(db, clock, timedelta(0)) == 3

    # Replying ends the breach's urgency; the outcome stays on record.
    from tests.sla.helpers import card, say

    await say(api, boss, ids[0])
    sla = await card(api, boss, ids[0])
    assert sla["first_response"]["breached"] is True
    assert sla["overdue"] is False
    assert await attention(db, clock, timedelta(0)) == 2


async def test_the_job_handler_uses_the_clock(
    db: Database, clock: FrozenClock, published: list[Event]
) -> None:
    from kefu.core.ids import new_id
    from kefu.jobs.registry import JobContext

    async with transaction(db.sessionmaker) as session:
        ctx = JobContext(session=session, job_id=new_id(), name=jobs.SLA_SCAN, attempt=1, idempotency_key="k")
        await jobs.scan(ctx, {"slot": clock.now().isoformat()})
    assert published == []
