"""Signing in: password check with throttling, then the second factor.

Every credential failure looks the same to the client ("Invalid email or password"); the reason is
kept in the audit trail only. Failures and their audit rows are committed in their own transaction
(see `kefu.db.uow.independent_transaction`) because the caller rolls back when these functions raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kefu.audit.actions import record_audit
from kefu.audit.models import AuditActorType
from kefu.auth import throttle
from kefu.auth.models import Agent, AgentSession
from kefu.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    password_needs_rehash,
    spend_verification_time,
    verify_password,
)
from kefu.auth.roles import ROLES_REQUIRING_2FA
from kefu.auth.service import build_actor, get_agent_by_email, requires_second_factor, strip_controls
from kefu.auth.sessions import create_session, get_live_session
from kefu.auth.totp import match_timestep
from kefu.core.clock import utcnow
from kefu.core.crypto import decrypt_field
from kefu.core.errors import NotAuthenticated, RateLimited
from kefu.db.uow import independent_transaction
from kefu.settings import Settings

INVALID_CREDENTIALS = "Invalid email or password"
INVALID_CODE = "Invalid or expired code"
TOTP_PURPOSE = "totp"


@dataclass(frozen=True)
class LoginResult:
    """A new session; the caller sets `session_token` as the cookie (a fresh value at every login)."""

    session_token: str
    agent: Agent
    agent_session: AgentSession
    needs_second_factor: bool
    must_enroll_second_factor: bool


async def _fail(
    session: AsyncSession,
    *,
    rules: list[throttle.ThrottleRule],
    settings: Settings,
    action: str,
    reason: str,
    agent: Agent | None,
    ip: str | None,
    message: str,
) -> NotAuthenticated:
    """Count and audit a failure durably; returns the error for the caller to raise."""
    target_id = str(agent.id) if agent else None
    async with independent_transaction(session) as own:
        locked = await throttle.charge_failures(own, rules, settings=settings)
        await record_audit(
            own,
            action=action,
            actor=None,
            actor_type=AuditActorType.ANONYMOUS,
            target_type="agent" if agent else None,
            target_id=target_id,
            ip=ip,
            details={"reason": reason},
        )
        for key, until in locked:
            await record_audit(
                own,
                action="auth.locked_out",
                actor=None,
                actor_type=AuditActorType.ANONYMOUS,
                target_type="agent" if agent else None,
                target_id=target_id,
                ip=ip,
                details={"scope": key.split(":", 1)[0], "locked_until": until.isoformat()},
            )
    return NotAuthenticated(message)


async def _refuse_if_locked(
    session: AsyncSession, rules: list[throttle.ThrottleRule], *, agent: Agent | None, ip: str | None
) -> None:
    try:
        await throttle.check_not_locked(session, [rule.key for rule in rules])
    except RateLimited:
        # Attempts during a lockout are audited but not counted: the lock must end on time.
        async with independent_transaction(session) as own:
            await record_audit(
                own,
                action="auth.login_failed",
                actor=None,
                actor_type=AuditActorType.ANONYMOUS,
                target_type="agent" if agent else None,
                target_id=str(agent.id) if agent else None,
                ip=ip,
                details={"reason": "locked_out"},
            )
        raise


async def claim_timestep(session: AsyncSession, agent: Agent, step: int) -> bool:
    """Record `step` as the agent's last used TOTP step unless it (or a later one) was used already.

    A conditional UPDATE, so two concurrent requests replaying one code cannot both succeed.
    """
    result = await session.execute(
        update(Agent)
        .where(
            Agent.id == agent.id,
            or_(Agent.totp_last_timestep.is_(None), Agent.totp_last_timestep < step),
        )
        .values(totp_last_timestep=step)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    set_committed_value(agent, "totp_last_timestep", step)
    return True


async def check_reauth(
    session: AsyncSession, *, agent: Agent, password: str, settings: Settings, ip: str | None = None
) -> None:
    """Re-authentication before a sensitive change; a wrong password counts as a sign-in failure.

    Precondition: `session` holds no uncommitted writes.
    """
    rules = throttle.account_rules(settings, agent.email)
    await _refuse_if_locked(session, rules, agent=agent, ip=ip)
    if not verify_password(agent.password_hash, password):
        raise await _fail(
            session,
            rules=rules,
            settings=settings,
            action="auth.reauth_failed",
            reason="wrong_password",
            agent=agent,
            ip=ip,
            message="Your current password is incorrect.",
        )


async def check_login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    settings: Settings,
) -> LoginResult:
    """Check the password and open a new session; raises NotAuthenticated or RateLimited.

    Precondition: `session` holds no uncommitted writes. On success the caller commits.
    """
    ip = strip_controls(ip) if ip else None
    user_agent = strip_controls(user_agent) if user_agent else None
    rules = throttle.login_rules(settings, email=email, ip=ip)
    agent = await get_agent_by_email(session, email)
    await _refuse_if_locked(session, rules, agent=agent, ip=ip)

    if agent is None or len(password) > MAX_PASSWORD_LENGTH:
        spend_verification_time(password)
        reason = "unknown_email" if agent is None else "password_too_long"
        ok = False
    else:
        ok = verify_password(agent.password_hash, password)
        reason = "wrong_password"
        if ok and not agent.is_active:
            ok, reason = False, "inactive"
    if not ok or agent is None:
        raise await _fail(
            session,
            rules=rules,
            settings=settings,
            action="auth.login_failed",
            reason=reason,
            agent=agent,
            ip=ip,
            message=INVALID_CREDENTIALS,
        )

    if password_needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    needs_factor = requires_second_factor(agent) and agent.totp_enabled
    must_enroll = agent.role in ROLES_REQUIRING_2FA and not agent.totp_enabled
    # With a second factor pending the account counter stays, so re-entering a known password
    # cannot reset the budget for guessing TOTP codes.
    if not needs_factor:
        await throttle.clear_failures(session, throttle.account_key(email))
    agent.last_login_at = utcnow()
    row, token = await create_session(session, agent, ip=ip, user_agent=user_agent, settings=settings)
    await record_audit(
        session,
        action="auth.login_succeeded",
        actor=await build_actor(session, agent, session_id=row.id),
        target_type="agent",
        target_id=str(agent.id),
        ip=ip,
        details={"second_factor_pending": needs_factor, "must_enroll_second_factor": must_enroll},
    )
    return LoginResult(token, agent, row, needs_factor, must_enroll)


async def do_verify_second_factor(
    session: AsyncSession, *, session_token: str, code: str, settings: Settings
) -> tuple[AgentSession, str]:
    """Accept a TOTP code for a signed-in session and mark it verified; failures count as sign-in failures.

    Precondition: `session` holds no uncommitted writes. On success the caller commits.
    """
    live = await get_live_session(session, session_token)
    if live is None:
        raise NotAuthenticated("Your session has expired. Please sign in again.")
    row, agent = live
    if not agent.totp_enabled or agent.totp_secret_encrypted is None:
        raise NotAuthenticated(INVALID_CODE)
    rules = throttle.account_rules(settings, agent.email)
    await _refuse_if_locked(session, rules, agent=agent, ip=row.ip)

    secret = decrypt_field(agent.totp_secret_encrypted, purpose=TOTP_PURPOSE, key=settings.secret_key)
    step = match_timestep(secret, code, at=utcnow(), last_timestep=agent.totp_last_timestep)
    if step is None:
        raise await _fail(
            session,
            rules=rules,
            settings=settings,
            action="auth.second_factor_failed",
            reason="wrong_or_replayed_code",
            agent=agent,
            ip=row.ip,
            message=INVALID_CODE,
        )
    if not await claim_timestep(session, agent, step):
        # Lost a race with a concurrent request using the same code: a replay. Not counted, since
        # this session now holds a write and a second writer would wait for it on SQLite.
        raise NotAuthenticated(INVALID_CODE)
    # Privilege goes up: the half-signed-in session ends and a new id carries the full one, so a
    # session id seen before the second factor is worth nothing after it.
    row.revoked_at = utcnow()
    full, token = await create_session(
        session, agent, ip=row.ip, user_agent=row.user_agent, settings=settings
    )
    full.mfa_verified = True
    await throttle.clear_failures(session, throttle.account_key(agent.email))
    await record_audit(
        session,
        action="auth.second_factor_verified",
        actor=await build_actor(session, agent, session_id=full.id),
        target_type="agent",
        target_id=str(agent.id),
        ip=row.ip,
    )
    return full, token
