"""Enrolling a TOTP second factor: begin (a pending secret) then confirm (password + a valid code)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.auth.login import TOTP_PURPOSE, check_reauth, claim_timestep
from kefu.auth.models import Agent, AgentSession
from kefu.auth.service import get_agent
from kefu.auth.sessions import do_revoke_other_sessions
from kefu.auth.totp import match_timestep, new_totp_secret, provisioning_uri
from kefu.core.clock import utcnow
from kefu.core.crypto import decrypt_field, encrypt_field
from kefu.core.errors import InvalidInput, NotFound
from kefu.settings import Settings


@dataclass(frozen=True)
class TotpEnrollment:
    """Shown once to the agent (as text and QR code); never logged."""

    secret: str
    provisioning_uri: str


async def _active_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    agent = await get_agent(session, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound("Agent not found.")
    return agent


async def do_enroll_totp(session: AsyncSession, *, agent_id: uuid.UUID, settings: Settings) -> TotpEnrollment:
    """Start enrolment: store a new pending secret; an already active factor keeps working meanwhile."""
    agent = await _active_agent(session, agent_id)
    secret = new_totp_secret()
    agent.totp_pending_secret_encrypted = encrypt_field(secret, purpose=TOTP_PURPOSE, key=settings.secret_key)
    await session.flush()
    await record_audit(
        session,
        action="auth.second_factor_enrollment_started",
        actor=AgentActor(agent_id=agent.id, role=agent.role),
        target_type="agent",
        target_id=str(agent.id),
    )
    return TotpEnrollment(secret, provisioning_uri(secret, account_name=agent.email))


async def do_confirm_totp(
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    code: str,
    password: str,
    settings: Settings,
    keep_session_id: str | None = None,
    ip: str | None = None,
) -> Agent:
    """Enable the pending secret after re-authentication and a valid code; revokes other sessions.

    The kept session is marked second-factor verified, since the agent has just proved the factor.
    Precondition: `session` holds no uncommitted writes.
    """
    agent = await _active_agent(session, agent_id)
    await check_reauth(session, agent=agent, password=password, settings=settings, ip=ip)
    if agent.totp_pending_secret_encrypted is None:
        raise InvalidInput("Start the two-factor setup again.", fields={"code": "no_enrollment"})
    secret = decrypt_field(agent.totp_pending_secret_encrypted, purpose=TOTP_PURPOSE, key=settings.secret_key)
    # Steps are time, not per secret: right after signing in with the old secret the app may need
    # to show its next code, which is the price of never accepting a time step twice.
    step = match_timestep(secret, code, at=utcnow(), last_timestep=agent.totp_last_timestep)
    if step is None or not await claim_timestep(session, agent, step):
        raise InvalidInput(
            "That code is not valid. Check your authenticator app's clock.", fields={"code": "invalid"}
        )
    agent.totp_secret_encrypted = agent.totp_pending_secret_encrypted
    agent.totp_pending_secret_encrypted = None
    agent.totp_enabled_at = utcnow()
    revoked = await do_revoke_other_sessions(session, agent_id=agent.id, keep_session_id=keep_session_id)
    if keep_session_id is not None:
        kept = await session.get(AgentSession, keep_session_id)
        if kept is not None and kept.agent_id == agent.id and kept.revoked_at is None:
            kept.mfa_verified = True
    await session.flush()
    await record_audit(
        session,
        action="auth.second_factor_enabled",
        actor=AgentActor(agent_id=agent.id, role=agent.role, session_id=keep_session_id),
        target_type="agent",
        target_id=str(agent.id),
        ip=ip,
        details={"revoked_session_count": len(revoked)},
    )
    return agent
