"""`/teams`: supervisors and administrators list teams; administrators create, change and delete them
and manage their members. Routing settings of a team are in routing.py (`/teams/{id}/routing`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from kefu.staff.access import check_team_reader
from kefu.staff.schemas import TeamCreate, TeamMemberIn, TeamOut, TeamUpdate
from kefu.staff.service import get_team, list_teams, team_out
from kefu.staff.teams import (
    do_add_team_member,
    do_create_team,
    do_delete_team,
    do_remove_team_member,
    do_update_team,
)
from kefu.web.deps import Admin, AgentReader, DbSession, client_ip

router = APIRouter(prefix="/teams", tags=["teams"])


@router.get("", response_model=list[TeamOut])
async def teams(actor: AgentReader, session: DbSession) -> list[TeamOut]:
    """Supervisors and admins: every team (private ones too) with its members, by name."""
    check_team_reader(actor)
    return await list_teams(session)


@router.post("", status_code=201, response_model=TeamOut)
async def create_team(body: TeamCreate, actor: Admin, session: DbSession, request: Request) -> TeamOut:
    """Admins create a team (slug made from the name unless given); 409 when the name or slug is taken."""
    team = await do_create_team(session, actor, body, ip=client_ip(request))
    return await team_out(session, team)


@router.get("/{team_id}", response_model=TeamOut)
async def read_team(team_id: uuid.UUID, actor: AgentReader, session: DbSession) -> TeamOut:
    """Supervisors and admins: one team with its members."""
    check_team_reader(actor)
    return await team_out(session, await get_team(session, team_id))


@router.patch("/{team_id}", response_model=TeamOut)
async def update_team(
    team_id: uuid.UUID, body: TeamUpdate, actor: Admin, session: DbSession, request: Request
) -> TeamOut:
    """Admins rename a team, change its slug or make it private (only the keys sent change)."""
    team = await do_update_team(session, actor, team_id, body, ip=client_ip(request))
    return await team_out(session, team)


@router.delete("/{team_id}", status_code=204, response_class=Response)
async def delete_team(team_id: uuid.UUID, actor: Admin, session: DbSession, request: Request) -> Response:
    """Admins delete an unused team; 409 (naming what uses it) while conversations, inboxes or rules do."""
    await do_delete_team(session, actor, team_id, ip=client_ip(request))
    return Response(status_code=204)


@router.post("/{team_id}/members", response_model=TeamOut)
async def add_member(
    team_id: uuid.UUID, body: TeamMemberIn, actor: Admin, session: DbSession, request: Request
) -> TeamOut:
    """Admins add an agent to a team (an existing member is left as is)."""
    team = await do_add_team_member(session, actor, team_id, body.agent_id, ip=client_ip(request))
    return await team_out(session, team)


@router.delete("/{team_id}/members/{agent_id}", status_code=204, response_class=Response)
async def remove_member(
    team_id: uuid.UUID, agent_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> Response:
    """Admins take an agent out of a team (404 when not a member)."""
    await do_remove_team_member(session, actor, team_id, agent_id, ip=client_ip(request))
    return Response(status_code=204)
