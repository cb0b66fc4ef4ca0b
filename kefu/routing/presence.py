"""Agent presence: console connections drive online/away automatically; agents choose their own state.

    no row ──open──► online(auto)      online ──last connection closes/reaped──► away(auto)
    away(auto) / offline(auto) ──open──► online(auto)      away(auto) ──10 min──► offline(auto)
    any ──agent's choice──► online | away | offline (auto=False; survives reconnects)

Becoming online pulls waiting conversations up to capacity; becoming offline hands the agent's
new/open conversations of auto-routed teams back to routing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event, agent_topic
from kefu.routing.actions import pull_queue, release_agent
from kefu.routing.models import AgentConnection, AgentPresence, Presence

# A node heartbeats every ~30 s; three missed beats means the node (or its network) is gone.
CONNECTION_TIMEOUT = timedelta(seconds=90)
# Long enough to survive a laptop lid or a flaky train connection without losing one's conversations.
AWAY_TIMEOUT = timedelta(minutes=10)
MAX_NODE_LENGTH = 100


async def _presence_row(session: AsyncSession, agent_id: uuid.UUID) -> AgentPresence | None:
    return await session.scalar(
        select(AgentPresence)
        .where(AgentPresence.agent_id == agent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _insert_presence(
    session: AsyncSession, agent_id: uuid.UUID, status: Presence, *, auto: bool
) -> AgentPresence | None:
    """The agent's first presence row, or None when a concurrent transaction inserted it first."""
    now = utcnow()
    presence = AgentPresence(
        agent_id=agent_id,
        status=status,
        auto=auto,
        changed_at=now,
        last_seen_at=now,
        last_assigned_at=None,
    )
    try:
        async with session.begin_nested():
            session.add(presence)
            await session.flush()
    except IntegrityError:
        return None
    return presence


async def set_presence(
    session: AsyncSession, agent_id: uuid.UUID, status: Presence, *, auto: bool
) -> AgentPresence:
    """Record `status` for the agent, announce a change after commit and apply its routing effects."""
    now = utcnow()
    presence = await _presence_row(session, agent_id)
    before: Presence | None = None
    created = False
    if presence is None:
        presence = await _insert_presence(session, agent_id, status, auto=auto)
        created = presence is not None
        # None: another of the agent's sockets created the row at the same moment; update theirs.
        presence = presence or await _presence_row(session, agent_id)
        assert presence is not None
    if not created:
        before = Presence(presence.status)
        if before == status and presence.auto == auto:
            return presence
        presence.status = status
        presence.auto = auto
        presence.changed_at = now
    await session.flush()
    emit_on_commit(
        session,
        Event(
            name=EventName.AGENT_PRESENCE_CHANGED,
            topics=("presence:all", agent_topic(agent_id)),
            payload={"agent_id": str(agent_id), "status": status.value, "auto": auto},
        ),
    )
    if status != before:
        if status == Presence.ONLINE:
            await pull_queue(session, agent_id)
        elif status == Presence.OFFLINE:
            await release_agent(session, agent_id)
    return presence


async def do_set_presence(session: AsyncSession, actor: AgentActor, status: Presence) -> AgentPresence:
    """The agent's own choice of state (auto=False: connections opening or closing do not undo it)."""
    return await set_presence(session, actor.agent_id, Presence(status), auto=False)


async def do_connection_opened(session: AsyncSession, agent_id: uuid.UUID, node: str) -> uuid.UUID:
    """Record a console WebSocket opened on `node`; an agent new or automatically away comes online."""
    if not node or len(node) > MAX_NODE_LENGTH:
        raise InvalidInput("node must be 1-100 characters", fields={"node": "invalid"})
    now = utcnow()
    connection = AgentConnection(agent_id=agent_id, node=node, opened_at=now, last_seen_at=now)
    session.add(connection)
    await session.flush()
    presence = await _presence_row(session, agent_id)
    if presence is None or (presence.auto and presence.status != Presence.ONLINE):
        # An automatic offline counts too: it only followed an automatic away.
        await set_presence(session, agent_id, Presence.ONLINE, auto=True)
    else:
        presence.last_seen_at = now
        await session.flush()
    return connection.id


async def do_connection_heartbeat(session: AsyncSession, connection_id: uuid.UUID) -> bool:
    """Mark the connection (and its agent) as seen now; False when it was reaped or closed."""
    now = utcnow()
    agent_id = await session.scalar(
        update(AgentConnection)
        .where(AgentConnection.id == connection_id)
        .values(last_seen_at=now)
        .returning(AgentConnection.agent_id)
        .execution_options(synchronize_session=False)
    )
    if agent_id is None:
        return False
    await session.execute(
        update(AgentPresence)
        .where(AgentPresence.agent_id == agent_id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


async def do_connection_closed(session: AsyncSession, connection_id: uuid.UUID) -> None:
    """Forget the connection; when it was the agent's last, an online agent becomes away (auto)."""
    agent_id = await session.scalar(
        delete(AgentConnection)
        .where(AgentConnection.id == connection_id)
        .returning(AgentConnection.agent_id)
        .execution_options(synchronize_session=False)
    )
    if agent_id is not None:
        await _after_disconnect(session, agent_id)


async def _after_disconnect(session: AsyncSession, agent_id: uuid.UUID) -> None:
    remaining = await session.scalar(
        select(func.count()).select_from(AgentConnection).where(AgentConnection.agent_id == agent_id)
    )
    if remaining:
        return
    presence = await _presence_row(session, agent_id)
    if presence is not None and presence.status == Presence.ONLINE:
        await set_presence(session, agent_id, Presence.AWAY, auto=True)


async def reap_connections(session: AsyncSession) -> int:
    """Close connections not seen for CONNECTION_TIMEOUT (their node crashed); returns how many."""
    cutoff = utcnow() - CONNECTION_TIMEOUT
    rows = (
        await session.execute(
            delete(AgentConnection)
            .where(AgentConnection.last_seen_at < cutoff)
            .returning(AgentConnection.id, AgentConnection.agent_id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    for agent_id in sorted({agent_id for _, agent_id in rows}):
        await _after_disconnect(session, agent_id)
    return len(rows)


async def expire_away(session: AsyncSession) -> int:
    """Agents automatically away for longer than AWAY_TIMEOUT go offline (auto); returns how many."""
    cutoff = utcnow() - AWAY_TIMEOUT
    agent_ids = list(
        await session.scalars(
            select(AgentPresence.agent_id)
            .where(
                AgentPresence.status == Presence.AWAY,
                AgentPresence.auto.is_(True),
                AgentPresence.changed_at < cutoff,
            )
            .order_by(AgentPresence.agent_id)
        )
    )
    for agent_id in agent_ids:
        await set_presence(session, agent_id, Presence.OFFLINE, auto=True)
    return len(agent_ids)
