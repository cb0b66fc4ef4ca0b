"""The one gate in front of every conversation read or write. Missing and forbidden look the same."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.conversations.models import Conversation
from kefu.core.errors import NotFound
from kefu.inboxes.models import Team
from kefu.observability.context import bind_conversation


def visible_conversations(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the conversations `actor` may see (used by lists and search)."""
    if isinstance(actor, CustomerActor):
        clause = Conversation.contact_id == actor.contact_id
        if actor.conversation_id is not None:
            clause = clause & (Conversation.id == actor.conversation_id)
        return clause
    if actor.is_supervisor_or_admin:
        return true()
    private_teams = select(Team.id).where(Team.is_private.is_(True))
    member_of = Conversation.team_id.in_(actor.team_ids) if actor.team_ids else false()
    return or_(
        Conversation.team_id.is_(None),
        Conversation.team_id.not_in(private_teams),
        member_of,
        Conversation.assignee_id == actor.agent_id,
    )


async def access_conversation_by_id(
    session: AsyncSession, actor: Actor, conversation_id: uuid.UUID, *, for_update: bool = False
) -> Conversation:
    """The conversation if `actor` may see it; NotFound otherwise (never reveals existence)."""
    query = select(Conversation).where(Conversation.id == conversation_id, visible_conversations(actor))
    if for_update:
        query = query.with_for_update()
    conversation = await session.scalar(query)
    if conversation is None:
        raise NotFound("conversation not found")
    bind_conversation(conversation.id)
    return conversation


async def access_conversation_by_reference(
    session: AsyncSession, actor: Actor, reference: str
) -> Conversation:
    """Like access_conversation_by_id, by the public `KF-` reference."""
    conversation = await session.scalar(
        select(Conversation).where(Conversation.reference == reference.upper(), visible_conversations(actor))
    )
    if conversation is None:
        raise NotFound("conversation not found")
    bind_conversation(conversation.id)
    return conversation


async def list_private_team_ids(session: AsyncSession) -> frozenset[uuid.UUID]:
    """Ids of private teams (whose conversations only members, assignees and supervisors see)."""
    return frozenset(await session.scalars(select(Team.id).where(Team.is_private.is_(True))))


def can_see_conversation_facts(
    actor: AgentActor,
    *,
    team_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
    private_team_ids: frozenset[uuid.UUID],
) -> bool:
    """`visible_conversations` for an agent, in memory: filters realtime events without a query."""
    if actor.is_supervisor_or_admin or team_id is None or team_id not in private_team_ids:
        return True
    return team_id in actor.team_ids or assignee_id == actor.agent_id


def can_see_internal(actor: Actor) -> bool:
    """Internal notes and events are for staff only."""
    return isinstance(actor, AgentActor)
