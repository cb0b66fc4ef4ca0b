"""Permission gates for agent records."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, AgentActor
from kefu.auth.models import Agent
from kefu.auth.service import get_agent
from kefu.core.errors import NotFound


async def access_agent_by_id(session: AsyncSession, actor: Actor, agent_id: uuid.UUID) -> Agent:
    """The agent if `actor` may see it (supervisors and admins: all; agents: themselves); else NotFound."""
    if isinstance(actor, AgentActor) and (actor.is_supervisor_or_admin or actor.agent_id == agent_id):
        agent = await get_agent(session, agent_id)
        if agent is not None:
            return agent
    raise NotFound("Agent not found.")
