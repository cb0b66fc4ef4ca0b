"""State changes to agents: creation, role changes, password changes. None of them commits."""

from __future__ import annotations

import unicodedata
import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor, AgentActor
from kefu.auth.login import check_reauth
from kefu.auth.models import MAX_EMAIL_LENGTH, Agent
from kefu.auth.passwords import check_password_policy, hash_password
from kefu.auth.roles import ROLES_REQUIRING_2FA, Role, Scope
from kefu.auth.service import get_agent, get_agent_by_email, normalise_email
from kefu.auth.sessions import do_revoke_other_sessions
from kefu.auth.tokens import do_revoke_all_api_tokens
from kefu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kefu.settings import Settings

MAX_NAME_LENGTH = 200
LOCALHOST_SUFFIX = ".localhost"


def _check_admin(actor: Actor | None) -> None:
    if actor is None:
        return
    if not isinstance(actor, AgentActor) or not actor.is_admin or not actor.has_scope(Scope.ADMIN):
        raise PermissionDenied("Only administrators can manage agents.")


def clean_email(email: str) -> str:
    """A syntactically valid, lower-cased email, or InvalidInput."""
    candidate = normalise_email(email)
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidInput("Enter a valid email address.", fields={"email": "invalid"})
    # email_validator refuses special-use names; "*.test" (CI) passes with test_environment, and
    # "*.localhost" (DESIGN.md: demo content) is checked as if it were "*.test".
    demo = candidate.endswith(LOCALHOST_SUFFIX)
    checked = candidate.removesuffix(LOCALHOST_SUFFIX) + ".test" if demo else candidate
    try:
        normalised = validate_email(checked, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise InvalidInput("Enter a valid email address.", fields={"email": "invalid"}) from exc
    normalised = normalised.lower()
    return normalised.removesuffix(".test") + LOCALHOST_SUFFIX if demo else normalised


def clean_name(name: str) -> str:
    """A display name without control characters, 1-200 characters."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(f"Enter a name of 1 to {MAX_NAME_LENGTH} characters.", fields={"name": "invalid"})
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in cleaned):
        raise InvalidInput("The name contains invalid characters.", fields={"name": "invalid"})
    return cleaned


async def do_create_agent(
    session: AsyncSession, *, email: str, name: str, role: Role, password: str, actor: Actor | None
) -> Agent:
    """Create an agent (actor None = CLI/bootstrap, else an admin); Conflict if the email is taken."""
    _check_admin(actor)
    normalised = clean_email(email)
    display_name = clean_name(name)
    check_password_policy(password, email=normalised)
    if await get_agent_by_email(session, normalised) is not None:
        raise Conflict("An agent with this email already exists.", fields={"email": "taken"})
    agent = Agent(
        email=normalised,
        name=display_name,
        role=Role(role),
        password_hash=hash_password(password),
        is_active=True,
        languages=[],
        capacity=10,
    )
    session.add(agent)
    await session.flush()
    await record_audit(
        session,
        action="agent.created",
        actor=actor,
        target_type="agent",
        target_id=str(agent.id),
        details={"role": agent.role.value},
    )
    return agent


async def _count_active_admins(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Agent).where(Agent.role == Role.ADMIN, Agent.is_active)
    return int((await session.execute(query)).scalar_one())


async def do_change_role(
    session: AsyncSession, *, agent_id: uuid.UUID, role: Role, actor: AgentActor
) -> Agent:
    """Give an agent a new role (admins only); the last active admin cannot be demoted."""
    _check_admin(actor)
    agent = await get_agent(session, agent_id)
    if agent is None:
        raise NotFound("Agent not found.")
    new_role = Role(role)
    old_role = agent.role
    if new_role == old_role:
        return agent
    if old_role == Role.ADMIN and agent.is_active and await _count_active_admins(session) <= 1:
        raise Conflict("The last administrator cannot be demoted.")
    agent.role = new_role
    revoked_tokens = 0
    if new_role in ROLES_REQUIRING_2FA and old_role not in ROLES_REQUIRING_2FA:
        # Tokens issued under a role without mandatory 2FA must not carry the stronger role.
        revoked_tokens = await do_revoke_all_api_tokens(session, agent_id=agent.id)
    await session.flush()
    await record_audit(
        session,
        action="agent.role_changed",
        actor=actor,
        target_type="agent",
        target_id=str(agent.id),
        details={
            "old_role": old_role.value,
            "new_role": new_role.value,
            "revoked_token_count": revoked_tokens,
        },
    )
    return agent


async def do_change_password(
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    current_password: str,
    new_password: str,
    keep_session_id: str | None,
    settings: Settings,
    ip: str | None = None,
) -> Agent:
    """Change the agent's own password after re-authentication; revokes every other session.

    API tokens stay valid (they are revoked one by one). Precondition: no uncommitted writes.
    """
    agent = await get_agent(session, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound("Agent not found.")
    await check_reauth(session, agent=agent, password=current_password, settings=settings, ip=ip)
    check_password_policy(new_password, email=agent.email)
    if new_password == current_password:
        raise InvalidInput(
            "The new password must differ from the current one.", fields={"new_password": "unchanged"}
        )
    agent.password_hash = hash_password(new_password)
    revoked = await do_revoke_other_sessions(session, agent_id=agent.id, keep_session_id=keep_session_id)
    await record_audit(
        session,
        action="agent.password_changed",
        actor=AgentActor(agent_id=agent.id, role=agent.role, session_id=keep_session_id),
        target_type="agent",
        target_id=str(agent.id),
        ip=ip,
        details={"revoked_session_count": len(revoked)},
    )
    return agent
