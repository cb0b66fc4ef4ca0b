"""Administrators manage agents' accounts: profile, activation, second factor and teams.

Listing, reading, creating agents and changing roles are in admin.py; every route here is for
administrators (a session with the second factor done, or a token with the admin scope).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from kefu.staff.agents import (
    do_deactivate_agent,
    do_reactivate_agent,
    do_reset_second_factor,
    do_set_agent_teams,
    do_update_agent_profile,
)
from kefu.staff.schemas import AgentAdminOut, AgentProfileUpdate, AgentTeamsIn
from kefu.staff.service import agent_admin_out, list_admin_agents
from kefu.web.deps import Admin, DbSession, client_ip

router = APIRouter(tags=["admin"])


@router.get("/admin/agents", response_model=list[AgentAdminOut])
async def admin_agents(actor: Admin, session: DbSession) -> list[AgentAdminOut]:
    """Admins: every agent, deactivated ones too, with role, teams, second factor and last sign-in."""
    del actor
    return await list_admin_agents(session)


@router.patch("/agents/{agent_id}", response_model=AgentAdminOut)
async def update_agent(
    agent_id: uuid.UUID, body: AgentProfileUpdate, actor: Admin, session: DbSession, request: Request
) -> AgentAdminOut:
    """Admins change an agent's name or email (a new email signs the agent out everywhere)."""
    agent = await do_update_agent_profile(session, actor, agent_id, body, ip=client_ip(request))
    return await agent_admin_out(session, agent)


@router.post("/agents/{agent_id}/deactivate", response_model=AgentAdminOut)
async def deactivate_agent(
    agent_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> AgentAdminOut:
    """Admins switch an agent off: sessions and tokens revoked, open conversations unassigned (409 for
    oneself and the last active admin)."""
    agent = await do_deactivate_agent(session, actor, agent_id, ip=client_ip(request))
    return await agent_admin_out(session, agent)


@router.post("/agents/{agent_id}/reactivate", response_model=AgentAdminOut)
async def reactivate_agent(
    agent_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> AgentAdminOut:
    """Admins switch an agent back on; they sign in again."""
    agent = await do_reactivate_agent(session, actor, agent_id, ip=client_ip(request))
    return await agent_admin_out(session, agent)


@router.post("/agents/{agent_id}/second-factor/reset", response_model=AgentAdminOut)
async def reset_second_factor(
    agent_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> AgentAdminOut:
    """Admins remove an agent's second factor and sign them out (admins and KYC reviewers re-enrol)."""
    agent = await do_reset_second_factor(session, actor, agent_id, ip=client_ip(request))
    return await agent_admin_out(session, agent)


@router.put("/agents/{agent_id}/teams", response_model=AgentAdminOut)
async def set_agent_teams(
    agent_id: uuid.UUID, body: AgentTeamsIn, actor: Admin, session: DbSession, request: Request
) -> AgentAdminOut:
    """Admins set the complete list of an agent's teams."""
    agent = await do_set_agent_teams(session, actor, agent_id, body.team_ids, ip=client_ip(request))
    return await agent_admin_out(session, agent)
