"""Reads for team and agent administration: teams with members, what still names a team, agents."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import Agent
from kefu.automation.models import Macro, Trigger
from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.errors import NotFound
from kefu.inboxes.models import Inbox, Team, TeamMember
from kefu.staff.schemas import AgentAdminOut, TeamOut

UNFINISHED = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


@dataclass(frozen=True)
class TeamUsage:
    """What still points at a team: a team is deleted only when nothing but members and hours do."""

    conversations: int
    open_conversations: int
    inboxes: int
    # Names of the triggers and macros whose conditions or actions name the team.
    rules: tuple[str, ...]

    @property
    def in_use(self) -> bool:
        return bool(self.conversations or self.inboxes or self.rules)


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team:
    """The team (no permission check: callers passed `check_team_reader` or `check_admin`)."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("Team not found.")
    return team


async def list_member_ids(
    session: AsyncSession, team_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each team's members, by agent name."""
    ids = list(team_ids)
    members: dict[uuid.UUID, list[uuid.UUID]] = {team_id: [] for team_id in ids}
    if not ids:
        return members
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.agent_id)
        .join(Agent, Agent.id == TeamMember.agent_id)
        .where(TeamMember.team_id.in_(ids))
        .order_by(Agent.name, Agent.id)
    )
    for team_id, agent_id in rows:
        members[team_id].append(agent_id)
    return members


def _team_out(team: Team, member_ids: list[uuid.UUID]) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        slug=team.slug,
        is_private=team.is_private,
        member_ids=member_ids,
        created_at=team.created_at,
        updated_at=team.updated_at,
    )


async def team_out(session: AsyncSession, team: Team) -> TeamOut:
    """One team with its members."""
    await session.flush()
    return _team_out(team, (await list_member_ids(session, [team.id]))[team.id])


async def list_teams(session: AsyncSession) -> list[TeamOut]:
    """Every team by name, with members."""
    teams = list(await session.scalars(select(Team).order_by(Team.name, Team.id)))
    members = await list_member_ids(session, (team.id for team in teams))
    return [_team_out(team, members[team.id]) for team in teams]


def _names_team(payload: object, team_id: uuid.UUID) -> bool:
    return str(team_id) in json.dumps(payload)


async def get_team_usage(session: AsyncSession, team_id: uuid.UUID) -> TeamUsage:
    """Conversations, inboxes (email and social/phone) and rules that name the team."""
    await session.flush()
    total, unfinished = (
        await session.execute(
            select(func.count(), func.count().filter(Conversation.status.in_(UNFINISHED))).where(
                Conversation.team_id == team_id
            )
        )
    ).one()
    inboxes = await session.scalar(select(func.count()).select_from(Inbox).where(Inbox.team_id == team_id))
    rules = [
        trigger.name
        for trigger in await session.scalars(select(Trigger).order_by(Trigger.position, Trigger.name))
        if _names_team([trigger.conditions, trigger.actions], team_id)
    ]
    rules += [
        macro.name
        for macro in await session.scalars(select(Macro).order_by(Macro.name))
        if _names_team(macro.actions, team_id)
    ]
    return TeamUsage(int(total), int(unfinished), int(inboxes or 0), tuple(rules))


async def count_open_by_team(session: AsyncSession) -> dict[uuid.UUID, int]:
    """Unfinished conversations of each team that has any."""
    rows = await session.execute(
        select(Conversation.team_id, func.count())
        .where(Conversation.team_id.is_not(None), Conversation.status.in_(UNFINISHED))
        .group_by(Conversation.team_id)
    )
    return {team_id: int(count) for team_id, count in rows if team_id is not None}


async def agent_admin_out(session: AsyncSession, agent: Agent) -> AgentAdminOut:
    """One agent with their teams."""
    await session.flush()
    team_ids = list(
        await session.scalars(
            select(TeamMember.team_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.agent_id == agent.id)
            .order_by(Team.name)
        )
    )
    return _agent_out(agent, team_ids)


def _agent_out(agent: Agent, team_ids: list[uuid.UUID]) -> AgentAdminOut:
    return AgentAdminOut(
        id=agent.id,
        email=agent.email,
        name=agent.name,
        role=agent.role,
        is_active=agent.is_active,
        second_factor_enabled=agent.totp_enabled,
        team_ids=team_ids,
        last_login_at=agent.last_login_at,
        created_at=agent.created_at,
    )


async def list_admin_agents(session: AsyncSession) -> list[AgentAdminOut]:
    """Every agent, active ones first, by name, with their teams (gate: `check_admin`)."""
    agents = list(await session.scalars(select(Agent).order_by(Agent.is_active.desc(), Agent.name, Agent.id)))
    teams: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    rows = await session.execute(
        select(TeamMember.agent_id, TeamMember.team_id)
        .join(Team, Team.id == TeamMember.team_id)
        .order_by(Team.name)
    )
    for agent_id, team_id in rows:
        teams[agent_id].append(team_id)
    return [_agent_out(agent, teams[agent.id]) for agent in agents]
