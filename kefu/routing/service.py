"""Reads: agents' load, routing candidates, a team's queue and routing, the console's team panel.

Load counts an agent's assigned conversations that are `new` or `open` only. Pending conversations
wait on the customer and on-hold ones on a third party: the agent has nothing to do until they come
back (and they come back as `open`, counting again). Counting them would let a few slow customers
block an agent from new work for days.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.errors import NotFound
from kefu.inboxes.models import Team, TeamMember
from kefu.routing.assignment import Candidate
from kefu.routing.models import AgentPresence, LanguageMatch, Presence, RoutingMode, TeamRouting

WORKING = (Status.NEW, Status.OPEN)
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class AgentPresenceView:
    """One row of the console's team panel."""

    agent_id: uuid.UUID
    name: str
    status: Presence
    auto: bool
    changed_at: datetime | None
    load: int
    capacity: int
    languages: list[str]
    team_ids: list[uuid.UUID]


async def agent_loads(session: AsyncSession, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open work (new/open conversations assigned) of each agent; agents with none map to 0."""
    ids = list(agent_ids)
    if not ids:
        return {}
    await session.flush()  # sessions do not autoflush: count what this transaction changed too
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.assignee_id.in_(ids), Conversation.status.in_(WORKING))
        .group_by(Conversation.assignee_id)
    )
    loads = dict.fromkeys(ids, 0)
    for agent_id, count in rows:
        if agent_id is not None:
            loads[agent_id] = int(count)
    return loads


async def list_candidates(
    session: AsyncSession, team_id: uuid.UUID, *, only: uuid.UUID | None = None
) -> list[Candidate]:
    """Active members of `team_id` (or just agent `only`) as routing candidates with live load."""
    query = (
        select(Agent, AgentPresence)
        .join(TeamMember, TeamMember.agent_id == Agent.id)
        .outerjoin(AgentPresence, AgentPresence.agent_id == Agent.id)
        .where(TeamMember.team_id == team_id, Agent.is_active.is_(True))
    )
    if only is not None:
        query = query.where(Agent.id == only)
    rows = (await session.execute(query)).all()
    loads = await agent_loads(session, (agent.id for agent, _ in rows))
    return [
        Candidate(
            agent_id=agent.id,
            load=loads[agent.id],
            capacity=agent.capacity,
            languages=tuple(agent.languages or ()),
            last_assigned_at=presence.last_assigned_at if presence else None,
            status=Presence(presence.status) if presence else Presence.OFFLINE,
        )
        for agent, presence in rows
    ]


async def get_team_routing(session: AsyncSession, team_id: uuid.UUID) -> TeamRouting:
    """The team's routing (a transient manual default when never configured); NotFound for no team."""
    routing = await session.get(TeamRouting, team_id)
    if routing is not None:
        return routing
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("team not found")
    return TeamRouting(
        team_id=team_id,
        mode=RoutingMode.MANUAL,
        language_match=LanguageMatch.PREFER,
        last_assigned_agent_id=None,
        updated_at=team.created_at,
    )


async def access_team_by_id(session: AsyncSession, actor: AgentActor, team_id: uuid.UUID) -> Team:
    """The team if `actor` may see it (private teams: members, supervisors, admins); NotFound otherwise."""
    team = await session.get(Team, team_id)
    if team is None or (
        team.is_private and not actor.is_supervisor_or_admin and team_id not in actor.team_ids
    ):
        raise NotFound("team not found")
    return team


def _queue_query(team_ids: Sequence[uuid.UUID]) -> Select[Conversation]:
    return (
        select(Conversation)
        .where(
            Conversation.team_id.in_(team_ids),
            Conversation.assignee_id.is_(None),
            Conversation.status.in_(WORKING),
        )
        .order_by(Conversation.created_at, Conversation.id)
    )


async def list_queue(
    session: AsyncSession, team_id: uuid.UUID, *, limit: int = QUEUE_LIMIT
) -> list[Conversation]:
    """Unassigned new/open conversations of the team, oldest first (the order they are handed out)."""
    await session.flush()
    return list(await session.scalars(_queue_query([team_id]).limit(limit)))


async def list_waiting(
    session: AsyncSession, team_ids: Sequence[uuid.UUID], *, limit: int = QUEUE_LIMIT
) -> list[Conversation]:
    """The queue of several teams merged, oldest first."""
    if not team_ids:
        return []
    await session.flush()
    return list(await session.scalars(_queue_query(team_ids).limit(limit)))


async def auto_routed_teams(
    session: AsyncSession, agent_id: uuid.UUID, *, lock: bool = False
) -> list[TeamRouting]:
    """Routing rows of the agent's auto-routed teams, in a stable order (so locks never deadlock)."""
    query = (
        select(TeamRouting)
        .join(TeamMember, TeamMember.team_id == TeamRouting.team_id)
        .where(TeamMember.agent_id == agent_id, TeamRouting.mode != RoutingMode.MANUAL)
        .order_by(TeamRouting.team_id)
    )
    if lock:
        query = query.with_for_update(of=TeamRouting).execution_options(populate_existing=True)
    return list(await session.scalars(query))


async def list_agent_presence(session: AsyncSession) -> list[AgentPresenceView]:
    """Every active agent with presence (offline when never seen), load, capacity, languages, teams."""
    rows = (
        await session.execute(
            select(Agent, AgentPresence)
            .outerjoin(AgentPresence, AgentPresence.agent_id == Agent.id)
            .where(Agent.is_active.is_(True))
            .order_by(Agent.name, Agent.id)
        )
    ).all()
    ids = [agent.id for agent, _ in rows]
    loads = await agent_loads(session, ids)
    teams: dict[uuid.UUID, list[uuid.UUID]] = {agent_id: [] for agent_id in ids}
    if ids:
        memberships = await session.execute(
            select(TeamMember.agent_id, TeamMember.team_id)
            .where(TeamMember.agent_id.in_(ids))
            .order_by(TeamMember.team_id)
        )
        for agent_id, team_id in memberships:
            teams[agent_id].append(team_id)
    return [
        AgentPresenceView(
            agent_id=agent.id,
            name=agent.name,
            status=Presence(presence.status) if presence else Presence.OFFLINE,
            auto=presence.auto if presence else False,
            changed_at=presence.changed_at if presence else None,
            load=loads[agent.id],
            capacity=agent.capacity,
            languages=list(agent.languages or []),
            team_ids=teams[agent.id],
        )
        for agent, presence in rows
    ]


async def count_queue(session: AsyncSession, team_id: uuid.UUID) -> int:
    """How many conversations wait in the team's queue."""
    await session.flush()
    count = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.team_id == team_id,
            Conversation.assignee_id.is_(None),
            Conversation.status.in_(WORKING),
        )
    )
    return int(count or 0)


async def get_presence(session: AsyncSession, agent_id: uuid.UUID) -> Presence:
    """The agent's presence (offline when they never connected)."""
    status = await session.scalar(select(AgentPresence.status).where(AgentPresence.agent_id == agent_id))
    return Presence(status) if status is not None else Presence.OFFLINE
