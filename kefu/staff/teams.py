"""Changes to teams and their members (administrators; audited; nothing commits).

A team is deleted only while nothing but its members, routing settings and business hours points at
it: conversations keep their team for history and reports, and inboxes, triggers and macros would be
left routing to nowhere. Such a team answers 409 with what still uses it; rename it instead.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor
from kefu.auth.models import Agent
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.inboxes.models import Team, TeamMember
from kefu.mail.mailboxes import MAILBOXES
from kefu.schedules.models import Schedule
from kefu.schedules.service import TEAM_CALENDARS
from kefu.staff.access import check_admin
from kefu.staff.schemas import SLUG_MAX, TeamCreate, TeamUpdate
from kefu.staff.service import get_team, get_team_usage

_TARGET: Final = "team"
_NOT_SLUG: Final = re.compile(r"[^a-z0-9]+")


def slug_of(name: str) -> str:
    """A slug made from a name's ASCII letters and digits ("" when it has none, e.g. 资金组)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", ascii_name).strip("-")[: SLUG_MAX - 4].strip("-")


async def _slug_taken(session: AsyncSession, slug: str, *, other_than: uuid.UUID | None = None) -> bool:
    query = select(Team.id).where(Team.slug == slug)
    if other_than is not None:
        query = query.where(Team.id != other_than)
    return await session.scalar(query) is not None


async def _free_slug(session: AsyncSession, name: str) -> str:
    base = slug_of(name) or "team-" + secrets.token_hex(3)
    slug, n = base, 2
    while await _slug_taken(session, slug):
        slug, n = f"{base}-{n}", n + 1
    return slug


async def _check_name_free(session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None) -> None:
    query = select(Team.id).where(func.lower(Team.name) == name.lower())
    if other_than is not None:
        query = query.where(Team.id != other_than)
    if await session.scalar(query) is not None:
        raise Conflict("A team with this name already exists.", fields={"name": "taken"})


async def do_create_team(session: AsyncSession, actor: Actor, body: TeamCreate, *, ip: str | None) -> Team:
    """Create a team (administrators); Conflict when the name or slug is taken."""
    admin = check_admin(actor)
    await _check_name_free(session, body.name)
    if body.slug is not None and await _slug_taken(session, body.slug):
        raise Conflict("Another team has this slug.", fields={"slug": "taken"})
    slug = body.slug or await _free_slug(session, body.name)
    team = Team(name=body.name, slug=slug, is_private=body.is_private)
    session.add(team)
    await session.flush()
    # KEFU_SUPPORT_ADDRESSES may name the new slug: the listener's mailbox map is rebuilt.
    MAILBOXES.invalidate_after_commit(session)
    await record_audit(
        session,
        action="team.created",
        actor=admin,
        target_type=_TARGET,
        target_id=str(team.id),
        ip=ip,
        details={"name": team.name, "slug": team.slug, "is_private": team.is_private},
    )
    return team


async def do_update_team(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID, body: TeamUpdate, *, ip: str | None
) -> Team:
    """Rename a team, change its slug or privacy (administrators); only what is sent changes."""
    admin = check_admin(actor)
    team = await get_team(session, team_id)
    changes: dict[str, object] = {}
    if body.name is not None and body.name != team.name:
        await _check_name_free(session, body.name, other_than=team.id)
        changes["name"] = [team.name, body.name]
        team.name = body.name
    if body.slug is not None and body.slug != team.slug:
        if await _slug_taken(session, body.slug, other_than=team.id):
            raise Conflict("Another team has this slug.", fields={"slug": "taken"})
        changes["slug"] = [team.slug, body.slug]
        team.slug = body.slug
    if body.is_private is not None and body.is_private != team.is_private:
        changes["is_private"] = [team.is_private, body.is_private]
        team.is_private = body.is_private
    if changes:
        await session.flush()
        MAILBOXES.invalidate_after_commit(session)
        await record_audit(
            session,
            action="team.updated",
            actor=admin,
            target_type=_TARGET,
            target_id=str(team.id),
            ip=ip,
            details=changes,
        )
    return team


def _refusal(usage_conversations: int, inboxes: int, rules: tuple[str, ...]) -> Conflict:
    parts: list[str] = []
    fields: dict[str, str] = {}
    if usage_conversations:
        parts.append(
            f"{usage_conversations} conversation(s) (kept for their history: rename the team instead)"
        )
        fields["conversations"] = str(usage_conversations)
    if inboxes:
        parts.append(f"{inboxes} inbox(es) route to it (move them to another team first)")
        fields["inboxes"] = str(inboxes)
    if rules:
        parts.append("triggers or macros name it: " + ", ".join(rules[:5]) + ("…" if len(rules) > 5 else ""))
        fields["rules"] = str(len(rules))
    return Conflict("This team cannot be deleted: " + "; ".join(parts) + ".", fields=fields)


async def do_delete_team(session: AsyncSession, actor: Actor, team_id: uuid.UUID, *, ip: str | None) -> None:
    """Delete an unused team with its memberships, routing and business hours (administrators).

    Conflict while conversations, inboxes, triggers or macros name it (nothing is changed).
    """
    admin = check_admin(actor)
    team = await get_team(session, team_id)
    usage = await get_team_usage(session, team.id)
    if usage.in_use:
        raise _refusal(usage.conversations, usage.inboxes, usage.rules)
    members = int(
        await session.scalar(
            select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team.id)
        )
        or 0
    )
    schedule = await session.scalar(select(Schedule.id).where(Schedule.team_id == team.id))
    details = {"name": team.name, "slug": team.slug, "member_count": members, "had_schedule": bool(schedule)}
    # Memberships go explicitly: SQLite runs without ON DELETE CASCADE unless foreign keys are on.
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    await session.delete(team)
    await session.flush()
    TEAM_CALENDARS.invalidate_after_commit(session)
    MAILBOXES.invalidate_after_commit(session)
    await record_audit(
        session, action="team.deleted", actor=admin, target_type=_TARGET, target_id=str(team_id), ip=ip,
        details=details,
    )  # fmt: skip


async def _active_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise InvalidInput("No agent has this id.", fields={"agent_id": "unknown agent"})
    return agent


async def do_add_team_member(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID, agent_id: uuid.UUID, *, ip: str | None
) -> Team:
    """Add an agent to a team (administrators; idempotent: an existing member is left as is)."""
    admin = check_admin(actor)
    team = await get_team(session, team_id)
    agent = await _active_agent(session, agent_id)
    if await session.get(TeamMember, (team.id, agent.id)) is None:
        session.add(TeamMember(team_id=team.id, agent_id=agent.id))
        await session.flush()
        await record_audit(
            session, action="team.member_added", actor=admin, target_type=_TARGET, target_id=str(team.id),
            ip=ip, details={"agent_id": str(agent.id)},
        )  # fmt: skip
    return team


async def do_remove_team_member(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID, agent_id: uuid.UUID, *, ip: str | None
) -> None:
    """Take an agent out of a team (administrators); NotFound when they are not a member."""
    admin = check_admin(actor)
    team = await get_team(session, team_id)
    member = await session.get(TeamMember, (team.id, agent_id))
    if member is None:
        raise NotFound("This agent is not a member of the team.")
    await session.delete(member)
    await session.flush()
    await record_audit(
        session, action="team.member_removed", actor=admin, target_type=_TARGET, target_id=str(team.id),
        ip=ip, details={"agent_id": str(agent_id)},
    )  # fmt: skip
