"""Routing state changes: the pipeline processor, queue pulls, reassignment, transfers, settings.

Assignment is serialised per team by locking its `team_routing` row (`SELECT … FOR UPDATE` on
PostgreSQL; SQLite serialises writers anyway), so two conversations created at once cannot both see
an agent's last free slot. Loads are recounted after the lock, never cached.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.conversations.actions import (
    apply_conversation_update,
    do_add_message,
    do_update_conversation,
    notify_conversation_updated,
)
from kefu.conversations.models import Conversation
from kefu.conversations.pipeline import ConversationChange
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import MessageKind, Status
from kefu.conversations.timeline import NewMessage
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.db.cache import ConfigCache, invalidate_on_change
from kefu.inboxes.models import ChannelKind, Team, TeamMember
from kefu.routing.assignment import Candidate, choose_assignee
from kefu.routing.models import AgentPresence, LanguageMatch, Presence, RoutingMode, TeamRouting
from kefu.routing.service import (
    WORKING,
    agent_loads,
    auto_routed_teams,
    list_candidates,
    list_queue,
    list_waiting,
)

_DONE = (Status.SOLVED, Status.CLOSED)


# Whether a team routes automatically, per team: every new conversation of a team asks, and most
# teams rarely change it. A switch to automatic reaches other processes within seconds; a switch to
# manual is seen at once, because the locked row is read again before anyone is assigned.
ROUTING_MODES: ConfigCache[str | None] = ConfigCache("team_routing_modes")
invalidate_on_change(ROUTING_MODES, [TeamRouting])


async def _routing_mode(session: AsyncSession, team_id: uuid.UUID) -> str | None:
    async def load(s: AsyncSession) -> str | None:
        mode: str | None = await s.scalar(select(TeamRouting.mode).where(TeamRouting.team_id == team_id))
        return mode

    return await ROUTING_MODES.get(session, team_id, load)


async def _lock_routing(session: AsyncSession, team_id: uuid.UUID) -> TeamRouting | None:
    # populate_existing: the row may sit in the identity map with values read before the lock.
    return await session.scalar(
        select(TeamRouting)
        .where(TeamRouting.team_id == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _assign(
    session: AsyncSession, routing: TeamRouting, conversation: Conversation, agent_id: uuid.UUID
) -> None:
    await apply_conversation_update(session, None, conversation, ConversationUpdate(assignee_id=agent_id))
    now = utcnow()
    routing.last_assigned_agent_id = agent_id
    routing.updated_at = now
    presence = await session.get(AgentPresence, agent_id)
    if presence is not None:
        presence.last_assigned_at = now
    await session.flush()


async def _routes_automatically(session: AsyncSession, conversation: Conversation) -> bool:
    """Whether `conversation` is unassigned, unfinished and in an auto-routed team (as cached)."""
    if conversation.team_id is None or conversation.assignee_id is not None or conversation.status in _DONE:
        return False
    return await _routing_mode(session, conversation.team_id) not in (None, RoutingMode.MANUAL)


async def route_conversation(
    session: AsyncSession, conversation: Conversation, *, exclude: Collection[uuid.UUID] = ()
) -> uuid.UUID | None:
    """Assign an unassigned, unfinished conversation within its auto-routed team; the agent or None."""
    # The team test again only narrows its type for the calls below.
    if conversation.team_id is None or not await _routes_automatically(session, conversation):
        return None
    routing = await _lock_routing(session, conversation.team_id)
    if routing is None or routing.mode == RoutingMode.MANUAL:
        return None
    members = await list_candidates(session, conversation.team_id)
    candidates = [c for c in members if c.agent_id not in exclude]
    chosen = choose_assignee(
        RoutingMode(routing.mode),
        candidates,
        conversation.locale,
        routing.last_assigned_agent_id,
        LanguageMatch(routing.language_match),
    )
    if chosen is not None:
        await _assign(session, routing, conversation, chosen)
    return chosen


async def pull_queue(
    session: AsyncSession, agent_id: uuid.UUID, *, exclude: uuid.UUID | None = None
) -> list[Conversation]:
    """Give an online agent the oldest waiting conversations of their auto-routed teams, up to capacity."""
    agent = await session.get(Agent, agent_id)
    presence = await session.get(AgentPresence, agent_id)
    if agent is None or not agent.is_active or presence is None or presence.status != Presence.ONLINE:
        return []
    routings = {r.team_id: r for r in await auto_routed_teams(session, agent_id, lock=True)}
    load = (await agent_loads(session, [agent_id]))[agent_id]
    assigned: list[Conversation] = []
    if load >= agent.capacity or not routings:
        return assigned
    for conversation in await list_waiting(session, list(routings)):
        if load >= agent.capacity:
            break
        if conversation.id == exclude or conversation.team_id is None:
            continue
        routing = routings[conversation.team_id]
        me = Candidate(agent_id, load, agent.capacity, tuple(agent.languages or ()), None)
        # The team's language rule still applies: under "require" a non-speaker leaves it waiting.
        fits = choose_assignee(
            RoutingMode(routing.mode), [me], conversation.locale, None, LanguageMatch(routing.language_match)
        )
        if fits != agent_id:
            continue
        await _assign(session, routing, conversation, agent_id)
        notify_conversation_updated(session, conversation)
        load += 1
        assigned.append(conversation)
    return assigned


async def release_agent(session: AsyncSession, agent_id: uuid.UUID) -> list[Conversation]:
    """Unassign an agent's new/open conversations in auto-routed teams and route each again."""
    await session.flush()
    conversations = await session.scalars(
        select(Conversation)
        .join(TeamRouting, TeamRouting.team_id == Conversation.team_id)
        .where(
            Conversation.assignee_id == agent_id,
            Conversation.status.in_(WORKING),
            TeamRouting.mode != RoutingMode.MANUAL,
        )
        .order_by(Conversation.created_at, Conversation.id)
    )
    released = list(conversations)
    for conversation in released:
        await apply_conversation_update(session, None, conversation, ConversationUpdate(unassign=True))
        await route_conversation(session, conversation, exclude={agent_id})
        notify_conversation_updated(session, conversation)
    return released


def _freed_agent(change: ConversationChange) -> uuid.UUID | None:
    """The agent who stopped carrying this conversation as open work in `change`, if any."""
    conversation = change.conversation
    status_before = change.previous.get("status", conversation.status)
    if "assignee" in change.changed:
        before = change.previous.get("assignee")
        return before if isinstance(before, uuid.UUID) and status_before in WORKING else None
    if (
        "status" in change.changed
        and conversation.assignee_id is not None
        and status_before in WORKING
        and conversation.status not in WORKING
    ):
        return conversation.assignee_id
    return None


async def process_change(session: AsyncSession, change: ConversationChange) -> None:
    """Pipeline step: route new, moved, unassigned or reopened conversations; refill freed agents."""
    conversation = change.conversation
    freed = _freed_agent(change)
    reopened = (
        "status" in change.changed
        and change.previous.get("status") not in WORKING
        and conversation.status in WORKING
    )
    if conversation.assignee_id is None and (
        change.created or "team" in change.changed or "assignee" in change.changed or reopened
    ):
        # Someone who just gave the conversation up should not get it straight back.
        await route_conversation(session, conversation, exclude={freed} if freed else ())
    if freed is not None:
        await pull_queue(session, freed, exclude=conversation.id)


async def quiet_on_opening(session: AsyncSession, change: ConversationChange) -> bool:
    """Pipeline QUIET_ON_OPENING check: routing would neither assign `change.conversation` nor free
    an agent (a conversation opened outside an auto-routed team, or already assigned)."""
    return _freed_agent(change) is None and not await _routes_automatically(session, change.conversation)


async def _can_see_team(session: AsyncSession, agent: Agent, team_id: uuid.UUID | None) -> bool:
    if team_id is None or agent.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    team = await session.get(Team, team_id)
    if team is None or not team.is_private:
        return True
    member = await session.get(TeamMember, (team_id, agent.id))
    return member is not None


async def do_transfer(
    session: AsyncSession,
    actor: AgentActor,
    conversation: Conversation,
    *,
    to_agent_id: uuid.UUID | None = None,
    to_team_id: uuid.UUID | None = None,
    note: str,
) -> Conversation:
    """Move a conversation to an agent and/or team with an internal note; team only: route within it.

    Precondition: `actor` passed the conversation's access gate. A human transfer to a named agent
    is not limited by capacity (the sender knows why), but the agent must be able to see the team.
    """
    if to_agent_id is None and to_team_id is None:
        raise InvalidInput("name an agent or a team", fields={"to_agent_id": "or to_team_id is required"})
    if conversation.status == Status.CLOSED:
        raise Conflict("a closed conversation cannot be transferred")
    parts: list[str] = []
    if to_team_id is not None:
        team = await session.get(Team, to_team_id)
        if team is None:
            raise InvalidInput("unknown team", fields={"to_team_id": "no such team"})
        parts.append(f"team {team.name}")
    if to_agent_id is not None:
        agent = await session.get(Agent, to_agent_id)
        if agent is None or not agent.is_active:
            raise InvalidInput("unknown or inactive agent", fields={"to_agent_id": "no such active agent"})
        if not await _can_see_team(session, agent, to_team_id or conversation.team_id):
            raise InvalidInput(
                "this agent cannot see the conversation's private team",
                fields={"to_agent_id": "not a member of the private team"},
            )
        if agent.id == conversation.assignee_id and to_team_id in (None, conversation.team_id):
            raise InvalidInput("already assigned there", fields={"to_agent_id": "unchanged"})
        parts.append(agent.name)
    body = "Transferred to " + " / ".join(parts) + (f": {note.strip()}" if note.strip() else "")
    await do_add_message(
        session,
        actor,
        conversation,
        NewMessage(body=body, kind=MessageKind.NOTE, data={"transfer": True}),
        channel=ChannelKind(conversation.channel),
    )
    previous_assignee = conversation.assignee_id
    update = ConversationUpdate(team_id=to_team_id, assignee_id=to_agent_id, unassign=to_agent_id is None)
    await do_update_conversation(session, actor, conversation, update)
    if to_agent_id is None and conversation.assignee_id is None:
        # Same team, already unassigned: nothing changed, so the pipeline did not route it.
        exclude = {previous_assignee} if previous_assignee else set()
        if await route_conversation(session, conversation, exclude=exclude) is not None:
            notify_conversation_updated(session, conversation)
    return conversation


async def do_set_team_routing(
    session: AsyncSession,
    actor: AgentActor,
    team_id: uuid.UUID,
    *,
    mode: RoutingMode,
    language_match: LanguageMatch,
) -> TeamRouting:
    """Set a team's routing (supervisors; audited); an automatic mode routes the waiting queue at once."""
    if await session.get(Team, team_id) is None:
        raise NotFound("team not found")
    routing = await _lock_routing(session, team_id)
    if routing is None:
        routing = TeamRouting(team_id=team_id, last_assigned_agent_id=None)
        session.add(routing)
    routing.mode = mode
    routing.language_match = language_match
    routing.updated_at = utcnow()
    await session.flush()
    await record_audit(
        session,
        action="routing.team_updated",
        actor=actor,
        target_type="team",
        target_id=str(team_id),
        details={"mode": mode.value, "language_match": language_match.value},
    )
    if mode != RoutingMode.MANUAL:
        for conversation in await list_queue(session, team_id):
            if await route_conversation(session, conversation) is not None:
                notify_conversation_updated(session, conversation)
    return routing


async def do_set_routing_profile(
    session: AsyncSession, actor: AgentActor, agent_id: uuid.UUID, *, capacity: int, languages: list[str]
) -> Agent:
    """Set an agent's capacity and languages (supervisors; audited); new room is filled from the queue."""
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("agent not found")
    agent.capacity = capacity
    agent.languages = list(dict.fromkeys(languages))
    await session.flush()
    await record_audit(
        session,
        action="routing.profile_updated",
        actor=actor,
        target_type="agent",
        target_id=str(agent_id),
        details={"capacity": capacity, "languages": agent.languages},
    )
    await pull_queue(session, agent_id)
    return agent
