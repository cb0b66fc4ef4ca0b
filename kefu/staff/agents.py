"""Administrators' changes to agents: profile, role, deactivation, second factor, teams.

Deactivation takes effect at once: every browser session and API token of the agent is revoked (open
console sockets close after commit through `agent.sessions_revoked`), sign-in is refused, and each of
their unfinished conversations (new, open, pending, on hold) is unassigned and stays in its team: an
auto-routed team routes it to another member at once, a manual team shows it in its unassigned
queue. Solved and closed conversations keep the agent as their assignee for history and reports.
Team memberships, macros and the second factor are kept, so reactivation restores the account as it
was (with new sign-ins and new tokens). Nothing here commits.
"""

from __future__ import annotations

import uuid
from typing import Final

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actions import clean_email, clean_name, do_change_role
from kefu.auth.actors import Actor, AgentActor
from kefu.auth.models import Agent
from kefu.auth.roles import ROLES_REQUIRING_2FA, Role
from kefu.auth.service import get_agent, get_agent_by_email
from kefu.auth.sessions import do_revoke_other_sessions
from kefu.auth.tokens import do_revoke_all_api_tokens
from kefu.conversations.actions import apply_conversation_update, notify_conversation_updated
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationUpdate
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.i18n import DEFAULT_LOCALE
from kefu.inboxes.models import Team, TeamMember
from kefu.mail.outbox import queue_email
from kefu.routing.actions import route_conversation
from kefu.routing.models import AgentPresence, Presence
from kefu.routing.presence import set_presence
from kefu.staff.access import check_admin
from kefu.staff.schemas import AgentProfileUpdate
from kefu.staff.service import UNFINISHED

_TARGET: Final = "agent"
log = structlog.get_logger(__name__)


async def _agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    agent = await get_agent(session, agent_id)
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


async def count_active_admins(session: AsyncSession) -> int:
    """Active administrators (there is always at least one)."""
    query = select(func.count()).select_from(Agent).where(Agent.role == Role.ADMIN, Agent.is_active)
    return int((await session.execute(query)).scalar_one())


async def do_update_agent_profile(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, body: AgentProfileUpdate, *, ip: str | None
) -> Agent:
    """Change an agent's name and/or email (administrators; audited).

    A new email is a new sign-in identity: the agent's sessions are revoked (an admin changing their
    own keeps the current one). Conflict when another agent has the email.
    """
    admin = check_admin(actor)
    agent = await _agent(session, agent_id)
    changes: dict[str, object] = {}
    if body.name is not None:
        name = clean_name(body.name)
        if name != agent.name:
            changes["name_changed"] = True
            agent.name = name
    revoked: list[str] = []
    if body.email is not None:
        email = clean_email(body.email)
        if email != agent.email:
            other = await get_agent_by_email(session, email)
            if other is not None and other.id != agent.id:
                raise Conflict("An agent with this email already exists.", fields={"email": "taken"})
            changes["old_email"], changes["new_email"] = agent.email, email
            agent.email = email
            keep = admin.session_id if admin.agent_id == agent.id else None
            revoked = await do_revoke_other_sessions(session, agent_id=agent.id, keep_session_id=keep)
            changes["revoked_session_count"] = len(revoked)
            await _notify_email_change(session, admin, agent, old_email=str(changes["old_email"]))
    if changes:
        await session.flush()
        await record_audit(
            session, action="agent.updated", actor=admin, target_type=_TARGET, target_id=str(agent.id),
            ip=ip, details=changes,
        )  # fmt: skip
    return agent


async def _notify_email_change(
    session: AsyncSession, admin: AgentActor, agent: Agent, *, old_email: str
) -> None:
    """Tell the old and the new address that the sign-in email changed, by whom and when (SECURITY.md:
    notices to old and new email). Queued in the change's transaction: sent only if it commits."""
    by = await get_agent(session, admin.agent_id)
    now = utcnow()
    context = {
        "old_email": old_email,
        "new_email": agent.email,
        "changed_by": by.name if by is not None else "an administrator",
        "changed_at": now.isoformat(),
    }
    for recipient, address in (("old", old_email), ("new", agent.email)):
        try:
            await queue_email(
                session,
                template="agent_email_changed",
                to=address,
                locale=DEFAULT_LOCALE,  # agents have no stored language yet
                context=context | {"recipient": recipient},
                idempotency_key=f"agent-email-changed:{agent.id}:{now.timestamp()}:{recipient}",
            )
        except ValueError:
            # An address mail cannot be sent to (e.g. a non-ASCII local part): the change stands.
            log.warning("agent_email_notice_skipped", agent_id=str(agent.id), recipient=recipient)


async def do_change_agent_role(session: AsyncSession, actor: Actor, agent_id: uuid.UUID, role: Role) -> Agent:
    """Change a role (administrators); an admin cannot demote themselves, nor anyone the last admin."""
    admin = check_admin(actor)
    if agent_id == admin.agent_id and Role(role) != Role.ADMIN:
        raise Conflict("You cannot take away your own administrator role; ask another administrator.")
    return await do_change_role(session, agent_id=agent_id, role=Role(role), actor=admin)


async def _hand_back_work(session: AsyncSession, actor: AgentActor, agent_id: uuid.UUID) -> int:
    """Unassign the agent's unfinished conversations; auto-routed teams route each again at once."""
    await session.flush()
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.assignee_id == agent_id, Conversation.status.in_(UNFINISHED))
            .order_by(Conversation.created_at, Conversation.id)
        )
    )
    for conversation in conversations:
        await apply_conversation_update(session, actor, conversation, ConversationUpdate(unassign=True))
        conversation.updated_at = utcnow()
        await route_conversation(session, conversation, exclude={agent_id})
        notify_conversation_updated(session, conversation)
    return len(conversations)


async def do_deactivate_agent(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, *, ip: str | None
) -> Agent:
    """Switch an agent off (administrators): sessions and tokens revoked, open work handed back.

    Conflict for oneself and for the last active administrator. Deactivating an inactive agent is a
    no-op.
    """
    admin = check_admin(actor)
    agent = await _agent(session, agent_id)
    if agent.id == admin.agent_id:
        raise Conflict("You cannot deactivate your own account; ask another administrator.")
    if not agent.is_active:
        return agent
    if agent.role == Role.ADMIN and await count_active_admins(session) <= 1:
        raise Conflict("The last active administrator cannot be deactivated.")
    agent.is_active = False
    await session.flush()
    sessions = await do_revoke_other_sessions(session, agent_id=agent.id)
    tokens = await do_revoke_all_api_tokens(session, agent_id=agent.id)
    handed_back = await _hand_back_work(session, admin, agent.id)
    if await session.get(AgentPresence, agent.id) is not None:
        await set_presence(session, agent.id, Presence.OFFLINE, auto=True)
    await record_audit(
        session,
        action="agent.deactivated",
        actor=admin,
        target_type=_TARGET,
        target_id=str(agent.id),
        ip=ip,
        details={
            "revoked_session_count": len(sessions),
            "revoked_token_count": tokens,
            "unassigned_conversation_count": handed_back,
        },
    )
    return agent


async def do_reactivate_agent(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, *, ip: str | None
) -> Agent:
    """Switch an agent back on (administrators); they sign in again (old sessions and tokens stay revoked)."""
    admin = check_admin(actor)
    agent = await _agent(session, agent_id)
    if agent.is_active:
        return agent
    agent.is_active = True
    await session.flush()
    await record_audit(
        session, action="agent.reactivated", actor=admin, target_type=_TARGET, target_id=str(agent.id), ip=ip
    )
    return agent


async def do_reset_second_factor(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, *, ip: str | None
) -> Agent:
    """Remove an agent's TOTP factor (a lost phone) and sign them out everywhere (administrators).

    Admins and KYC reviewers must enrol again at their next sign-in before they can work; other roles
    sign in with their password. Conflict for oneself (use the own two-factor settings instead).
    """
    admin = check_admin(actor)
    agent = await _agent(session, agent_id)
    if agent.id == admin.agent_id:
        raise Conflict("You cannot reset your own second factor here; ask another administrator.")
    had_factor = agent.totp_enabled or agent.totp_pending_secret_encrypted is not None
    agent.totp_secret_encrypted = None
    agent.totp_pending_secret_encrypted = None
    agent.totp_enabled_at = None
    await session.flush()
    revoked = await do_revoke_other_sessions(session, agent_id=agent.id)
    await record_audit(
        session,
        action="agent.second_factor_reset",
        actor=admin,
        target_type=_TARGET,
        target_id=str(agent.id),
        ip=ip,
        details={
            "had_second_factor": had_factor,
            "must_enrol": agent.role in ROLES_REQUIRING_2FA,
            "revoked_session_count": len(revoked),
        },
    )
    return agent


async def do_set_agent_teams(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, team_ids: list[uuid.UUID], *, ip: str | None
) -> Agent:
    """Make `team_ids` exactly the agent's teams (administrators; audited with what was added/removed)."""
    admin = check_admin(actor)
    agent = await _agent(session, agent_id)
    wanted = set(team_ids)
    known = set(await session.scalars(select(Team.id).where(Team.id.in_(wanted)))) if wanted else set()
    if unknown := wanted - known:
        raise InvalidInput(
            "Unknown team: " + ", ".join(sorted(str(t) for t in unknown)), fields={"team_ids": "unknown team"}
        )
    current = set(await session.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == agent.id)))
    added, removed = wanted - current, current - wanted
    if removed:
        await session.execute(
            delete(TeamMember).where(TeamMember.agent_id == agent.id, TeamMember.team_id.in_(removed))
        )
    session.add_all(TeamMember(team_id=team_id, agent_id=agent.id) for team_id in added)
    if added or removed:
        await session.flush()
        await record_audit(
            session,
            action="agent.teams_changed",
            actor=admin,
            target_type=_TARGET,
            target_id=str(agent.id),
            ip=ip,
            details={
                "added_team_ids": sorted(str(t) for t in added),
                "removed_team_ids": sorted(str(t) for t in removed),
            },
        )
    return agent
