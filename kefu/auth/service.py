"""Reading agents and building actors."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.models import MAX_EMAIL_LENGTH, Agent
from kefu.auth.roles import ROLES_REQUIRING_2FA, Scope, allowed_scopes
from kefu.inboxes.models import TeamMember


def digest(secret: str) -> str:
    """The sha256 hex digest under which a session or API token is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def strip_controls(text: str) -> str:
    """`text` without control characters (PostgreSQL refuses NUL; logs and audit stay one line)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc")


def normalise_email(email: str) -> str:
    """The stored form of an email: trimmed and lower-cased."""
    return email.strip().lower()


def requires_second_factor(agent: Agent) -> bool:
    """True if the agent may only work after proving a second factor in this session."""
    return agent.role in ROLES_REQUIRING_2FA or agent.totp_enabled


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    """The agent with `agent_id`, active or not (no permission check: use `access_agent_by_id`)."""
    return await session.get(Agent, agent_id)


async def get_agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    """The agent with `email` (any case), or None."""
    normalised = normalise_email(email)
    if not normalised or len(normalised) > MAX_EMAIL_LENGTH or strip_controls(normalised) != normalised:
        return None
    return (await session.scalars(select(Agent).where(Agent.email == normalised))).one_or_none()


async def list_team_ids(session: AsyncSession, agent_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The teams the agent belongs to."""
    rows = await session.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == agent_id))
    return frozenset(rows)


async def build_actor(
    session: AsyncSession,
    agent: Agent,
    *,
    scopes: frozenset[Scope] | None = None,
    via_token: bool = False,
    session_id: str | None = None,
) -> AgentActor:
    """The actor for `agent`, with scopes limited to what its current role allows."""
    allowed = allowed_scopes(agent.role)
    return AgentActor(
        agent_id=agent.id,
        role=agent.role,
        team_ids=await list_team_ids(session, agent.id),
        scopes=allowed if scopes is None else scopes & allowed,
        via_token=via_token,
        session_id=session_id,
    )
