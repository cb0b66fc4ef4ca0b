"""Presence transitions driven by console connections, timeouts and the agent's own choice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.jobs.registry import JobContext
from kefu.routing import presence as presence_module
from kefu.routing.jobs import HANDLERS, PERIODIC, PRESENCE_SWEEP
from kefu.routing.models import AgentConnection, AgentPresence, Presence
from kefu.routing.presence import (
    do_connection_closed,
    do_connection_heartbeat,
    do_connection_opened,
    do_set_presence,
    expire_away,
    reap_connections,
)
from tests.conftest import Database
from tests.routing.conftest import assignees, member, new_conversation, routed_team


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Presence events handed to emit_on_commit, in order."""
    seen: list[Event] = []
    monkeypatch.setattr(presence_module, "emit_on_commit", lambda _session, event: seen.append(event))
    return seen


async def _state(db: Database, agent_id: uuid.UUID) -> tuple[Presence, bool] | None:
    async with db.sessionmaker() as session:
        row = await session.get(AgentPresence, agent_id)
        return None if row is None else (Presence(row.status), row.auto)


async def _open(db: Database, agent_id: uuid.UUID, node: str = "node-1") -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        return await do_connection_opened(session, agent_id, node)


async def _close(db: Database, connection_id: uuid.UUID) -> None:
    async with transaction(db.sessionmaker) as session:
        await do_connection_closed(session, connection_id)


async def test_last_connection_closing_makes_an_agent_away(
    db: Database, clock: FrozenClock, events: list[Event]
) -> None:
    agent = await member(db, "a@kefu.test", status=None)
    assert await _state(db, agent.id) is None
    first = await _open(db, agent.id, "node-1")
    second = await _open(db, agent.id, "node-2")
    assert await _state(db, agent.id) == (Presence.ONLINE, True)
    await _close(db, first)
    assert await _state(db, agent.id) == (Presence.ONLINE, True)
    await _close(db, second)
    await _close(db, second)  # closing twice is harmless
    assert await _state(db, agent.id) == (Presence.AWAY, True)
    assert [(e.name, e.payload["status"], e.payload["auto"]) for e in events] == [
        (EventName.AGENT_PRESENCE_CHANGED, "online", True),
        (EventName.AGENT_PRESENCE_CHANGED, "away", True),
    ]
    assert events[0].topics == ("presence:all", f"agent:{agent.id}")
    assert events[0].payload["agent_id"] == str(agent.id)
    # Reconnecting undoes the automatic away.
    await _open(db, agent.id)
    assert await _state(db, agent.id) == (Presence.ONLINE, True)


async def test_an_agents_own_choice_survives_reconnects(
    db: Database, clock: FrozenClock, events: list[Event]
) -> None:
    agent = await member(db, "a@kefu.test", status=None)
    connection = await _open(db, agent.id)
    async with transaction(db.sessionmaker) as session:
        await do_set_presence(session, agent.actor, Presence.AWAY)
    assert await _state(db, agent.id) == (Presence.AWAY, False)
    await _close(db, connection)
    await _open(db, agent.id)
    assert await _state(db, agent.id) == (Presence.AWAY, False)
    async with transaction(db.sessionmaker) as session:
        await do_set_presence(session, agent.actor, Presence.AWAY)  # no change, no event
    assert [e.payload["status"] for e in events] == ["online", "away"]
    # A chosen away never times out into offline.
    clock.advance(timedelta(hours=2))
    async with transaction(db.sessionmaker) as session:
        assert await expire_away(session) == 0


async def test_heartbeats_keep_connections_and_crashed_nodes_are_reaped(
    db: Database, clock: FrozenClock, events: list[Event]
) -> None:
    alive = await member(db, "alive@kefu.test", status=None)
    crashed = await member(db, "crashed@kefu.test", status=None)
    kept = await _open(db, alive.id, "node-a")
    lost = await _open(db, crashed.id, "node-b")
    clock.advance(timedelta(seconds=60))
    async with transaction(db.sessionmaker) as session:
        assert await do_connection_heartbeat(session, kept) is True
    clock.advance(timedelta(seconds=31))
    async with transaction(db.sessionmaker) as session:
        assert await reap_connections(session) == 1
    async with transaction(db.sessionmaker) as session:
        assert await do_connection_heartbeat(session, lost) is False
        assert await do_connection_heartbeat(session, uuid.uuid4()) is False
        remaining = list(await session.scalars(select(AgentConnection.id)))
    assert remaining == [kept]
    assert await _state(db, alive.id) == (Presence.ONLINE, True)
    assert await _state(db, crashed.id) == (Presence.AWAY, True)


async def test_long_automatic_away_goes_offline_and_hands_work_back(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Support")
    leaving = await member(db, "leaving@kefu.test", team, status=None)
    connection = await _open(db, leaving.id)
    conversation = await new_conversation(db, team)
    assert await assignees(db, [conversation]) == [leaving.id]
    await _close(db, connection)
    other = await member(db, "other@kefu.test", team, capacity=5)
    assert await assignees(db, [conversation]) == [leaving.id]  # away keeps work for a while
    clock.advance(timedelta(minutes=9))
    async with transaction(db.sessionmaker) as session:
        assert await expire_away(session) == 0
    clock.advance(timedelta(minutes=2))
    handler = HANDLERS[PRESENCE_SWEEP]
    async with transaction(db.sessionmaker) as session:
        context = JobContext(
            session=session, job_id=uuid.uuid4(), name=PRESENCE_SWEEP, attempt=1, idempotency_key="k"
        )
        await handler(context, {"slot": "x"})
    assert await _state(db, leaving.id) == (Presence.OFFLINE, True)
    assert await assignees(db, [conversation]) == [other.id]
    # Opening the console again after an automatic offline means working again.
    await _open(db, leaving.id)
    assert await _state(db, leaving.id) == (Presence.ONLINE, True)


async def test_chosen_offline_is_not_undone_by_a_connection(db: Database, clock: FrozenClock) -> None:
    agent = await member(db, "a@kefu.test", status=Presence.OFFLINE)
    await _open(db, agent.id)
    assert await _state(db, agent.id) == (Presence.OFFLINE, False)


def test_the_sweep_is_periodic() -> None:
    assert [task.name for task in PERIODIC] == [PRESENCE_SWEEP]
    assert PERIODIC[0].every <= timedelta(seconds=60)


async def test_two_sockets_opening_at_once_both_register(db: Database) -> None:
    """An agent's first two console sockets race to create the presence row; neither fails."""
    staff = await member(db, "race@kefu.test", status=None)

    async def open_socket(node: str) -> uuid.UUID:
        async with transaction(db.sessionmaker) as session:
            return await do_connection_opened(session, staff.id, node)

    first, second = await asyncio.gather(open_socket("node-a"), open_socket("node-b"))
    assert first != second
    assert await _state(db, staff.id) == (Presence.ONLINE, True)
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(AgentPresence).where(AgentPresence.agent_id == staff.id))
        assert len(list(rows)) == 1
