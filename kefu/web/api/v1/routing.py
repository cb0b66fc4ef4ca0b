"""Presence, team routing, agents' routing profiles and transfers: thin routes over kefu.routing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from kefu.conversations.access import access_conversation_by_id
from kefu.conversations.schemas import ConversationOut
from kefu.routing.actions import do_set_routing_profile, do_set_team_routing, do_transfer
from kefu.routing.models import LanguageMatch, RoutingMode, TeamRouting
from kefu.routing.presence import do_set_presence
from kefu.routing.schemas import (
    AgentPresenceOut,
    PresenceIn,
    PresenceOut,
    RoutingProfileIn,
    RoutingProfileOut,
    TeamRoutingIn,
    TeamRoutingOut,
    TransferIn,
)
from kefu.routing.service import access_team_by_id, count_queue, get_team_routing, list_agent_presence
from kefu.web.api.v1.serializers import conversation_out
from kefu.web.deps import AgentReader, AgentWriter, DbSession, Supervisor

router = APIRouter(tags=["routing"])


async def _routing_out(session: DbSession, routing: TeamRouting) -> TeamRoutingOut:
    return TeamRoutingOut(
        team_id=routing.team_id,
        mode=RoutingMode(routing.mode),
        language_match=LanguageMatch(routing.language_match),
        last_assigned_agent_id=routing.last_assigned_agent_id,
        queue_length=await count_queue(session, routing.team_id),
    )


@router.put("/agents/me/presence", response_model=PresenceOut)
async def set_my_presence(body: PresenceIn, actor: AgentWriter, session: DbSession) -> PresenceOut:
    """Any agent sets their own presence (online pulls queued work; offline hands work back)."""
    presence = await do_set_presence(session, actor, body.status)
    return PresenceOut.model_validate(presence, from_attributes=True)


@router.get("/presence", response_model=list[AgentPresenceOut])
async def list_presence(actor: AgentReader, session: DbSession) -> list[AgentPresenceOut]:
    """Staff: every active agent's presence, load, capacity, languages and teams (the team panel)."""
    del actor  # colleagues' availability is visible to every agent
    rows = await list_agent_presence(session)
    return [AgentPresenceOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/teams/{team_id}/routing", response_model=TeamRoutingOut)
async def get_routing(team_id: uuid.UUID, actor: AgentReader, session: DbSession) -> TeamRoutingOut:
    """Staff who may see the team: its routing mode, language rule and queue length."""
    await access_team_by_id(session, actor, team_id)
    return await _routing_out(session, await get_team_routing(session, team_id))


@router.put("/teams/{team_id}/routing", response_model=TeamRoutingOut)
async def put_routing(
    team_id: uuid.UUID, body: TeamRoutingIn, actor: Supervisor, session: DbSession
) -> TeamRoutingOut:
    """Supervisors set a team's routing; switching to an automatic mode routes the waiting queue."""
    routing = await do_set_team_routing(
        session, actor, team_id, mode=body.mode, language_match=body.language_match
    )
    return await _routing_out(session, routing)


@router.put("/agents/{agent_id}/routing-profile", response_model=RoutingProfileOut)
async def put_routing_profile(
    agent_id: uuid.UUID, body: RoutingProfileIn, actor: Supervisor, session: DbSession
) -> RoutingProfileOut:
    """Supervisors set an agent's capacity (0-200 open conversations) and languages."""
    agent = await do_set_routing_profile(
        session, actor, agent_id, capacity=body.capacity, languages=body.languages
    )
    return RoutingProfileOut(agent_id=agent.id, capacity=agent.capacity, languages=list(agent.languages))


@router.post("/conversations/{conversation_id}/transfer", response_model=ConversationOut)
async def transfer(
    conversation_id: uuid.UUID, body: TransferIn, actor: AgentWriter, session: DbSession
) -> ConversationOut:
    """Agents who may see the conversation hand it to an agent and/or team, with an internal note."""
    conversation = await access_conversation_by_id(session, actor, conversation_id, for_update=True)
    await do_transfer(
        session,
        actor,
        conversation,
        to_agent_id=body.to_agent_id,
        to_team_id=body.to_team_id,
        note=body.note,
    )
    return conversation_out(conversation, actor)
