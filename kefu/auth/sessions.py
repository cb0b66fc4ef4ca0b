"""Browser sessions: creation at sign-in, resolution on each request, logout and revocation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.models import MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, Agent, AgentSession
from kefu.auth.service import build_actor, digest, requires_second_factor
from kefu.core.clock import utcnow
from kefu.core.ids import new_token
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event, agent_topic
from kefu.settings import Settings

# Writing last_seen_at on every request would turn each page view into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Anything longer is not a token we issued; refuse before hashing attacker-sized input.
MAX_TOKEN_LENGTH = 256


class SessionState(StrEnum):
    INVALID = "invalid"
    NEEDS_SECOND_FACTOR = "needs_second_factor"
    MUST_ENROLL_SECOND_FACTOR = "must_enroll_second_factor"
    ACTIVE = "active"


@dataclass(frozen=True)
class SessionStatus:
    """Where a browser session stands; the web layer routes to the 2FA or enrolment page from it."""

    state: SessionState
    agent_session: AgentSession | None = None
    agent: Agent | None = None


async def create_session(
    session: AsyncSession, agent: Agent, *, ip: str | None, user_agent: str | None, settings: Settings
) -> tuple[AgentSession, str]:
    """A new session for `agent`; returns the row and the cookie token (stored only as its digest)."""
    token = new_token()
    now = utcnow()
    row = AgentSession(
        id=digest(token),
        agent_id=agent.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_age_hours),
        ip=ip[:MAX_IP_LENGTH] if ip else None,
        user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent else None,
        mfa_verified=False,
    )
    session.add(row)
    await session.flush()
    return row, token


async def get_live_session(session: AsyncSession, token: str) -> tuple[AgentSession, Agent] | None:
    """The unrevoked, unexpired session for `token` and its active agent, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = await session.get(AgentSession, digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    agent = await session.get(Agent, row.agent_id)
    if agent is None or not agent.is_active:
        return None
    return row, agent


async def get_session_state(session: AsyncSession, token: str) -> SessionStatus:
    """Whether `token` is usable, awaits a TOTP code, or belongs to an agent who must enrol one."""
    live = await get_live_session(session, token)
    if live is None:
        return SessionStatus(SessionState.INVALID)
    row, agent = live
    if not requires_second_factor(agent) or row.mfa_verified:
        state = SessionState.ACTIVE
    elif agent.totp_enabled:
        state = SessionState.NEEDS_SECOND_FACTOR
    else:
        state = SessionState.MUST_ENROLL_SECOND_FACTOR
    return SessionStatus(state, row, agent)


async def resolve_session(session: AsyncSession, token: str, *, settings: Settings) -> AgentActor | None:
    """The actor of a fully signed-in session, or None (unknown, expired, revoked, inactive, no 2FA)."""
    status = await get_session_state(session, token)
    if status.state != SessionState.ACTIVE or status.agent_session is None or status.agent is None:
        return None
    row = status.agent_session
    now = utcnow()
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return await build_actor(session, status.agent, session_id=row.id)


def _emit_revoked(session: AsyncSession, agent_id: uuid.UUID, session_ids: Sequence[str]) -> None:
    # After commit, every node closes the websockets opened by these sessions.
    if session_ids:
        emit_on_commit(
            session,
            Event(
                name=EventName.AGENT_SESSIONS_REVOKED,
                topics=(agent_topic(agent_id),),
                payload={"agent_id": str(agent_id), "session_ids": list(session_ids)},
            ),
        )


async def do_logout(session: AsyncSession, token: str) -> bool:
    """Revoke the session of `token`; True if one was live. Open websockets close after commit."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    row = await session.get(AgentSession, digest(token))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    _emit_revoked(session, row.agent_id, [row.id])
    return True


async def do_revoke_other_sessions(
    session: AsyncSession, *, agent_id: uuid.UUID, keep_session_id: str | None = None
) -> list[str]:
    """Revoke every live session of the agent except `keep_session_id`; returns the revoked ids."""
    query = select(AgentSession.id).where(
        AgentSession.agent_id == agent_id, AgentSession.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        query = query.where(AgentSession.id != keep_session_id)
    ids = list((await session.scalars(query)).all())
    if ids:
        await session.execute(
            update(AgentSession)
            .where(AgentSession.id.in_(ids))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
    _emit_revoked(session, agent_id, ids)
    return ids
