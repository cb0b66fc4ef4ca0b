"""Changes to existing conversations: replies and notes, status, assignment, team, tags.

Actions never commit; events go out after commit. Opening conversations lives in `create.py`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.auth.models import Agent
from kefu.conversations import recipients
from kefu.conversations.create import check_team
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.pipeline import ConversationChange, run_pipeline
from kefu.conversations.redaction import REDACTED_KEY
from kefu.conversations.redaction_notice import warn_customer
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import AuthorKind, Category, MessageKind, Status, can_transition
from kefu.conversations.timeline import NewMessage, append_message, append_message_once
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, PermissionDenied
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind
from kefu.request_forms.validation import refit_form_fields


async def _check_assignee(session: AsyncSession, agent_id: uuid.UUID) -> None:
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise InvalidInput("unknown or inactive agent", fields={"assignee_id": "no such active agent"})


async def do_add_message(
    session: AsyncSession,
    actor: Actor,
    conversation: Conversation,
    new: NewMessage,
    *,
    channel: ChannelKind,
    set_status: Status | None = None,
) -> tuple[Message, bool]:
    """Append a reply or internal note; idempotent on `client_id`. Returns (message, created)."""
    is_customer = isinstance(actor, CustomerActor)
    try:
        if is_customer and (new.kind != MessageKind.REPLY or set_status is not None):
            raise PermissionDenied("customers can only reply")
        if conversation.status == Status.CLOSED:
            raise Conflict("this conversation is closed; please start a new one")
        if not new.body.strip() and new.kind == MessageKind.NOTE:
            raise InvalidInput("a note needs text", fields={"body": "required"})
    except (PermissionDenied, Conflict, InvalidInput):
        # A retry of a message stored before gets it back, whatever changed since.
        existing = await _stored(session, conversation, new.client_id)
        if existing is None:
            raise
        return existing, False

    author = AuthorKind.CUSTOMER if is_customer else AuthorKind.AGENT
    if new.client_id:
        # The client id check rides on the seq bump: no SELECT or savepoint on the common path.
        added = await append_message_once(session, conversation, actor, new, author=author, channel=channel)
        if added is None:
            stored = await _stored(session, conversation, new.client_id)
            assert stored is not None
            return stored, False
        message = added
    else:
        message = await append_message(session, conversation, actor, new, author=author, channel=channel)

    redacted = message.data.get(REDACTED_KEY)
    if redacted and is_customer:
        await warn_customer(session, conversation, redacted, channel=channel)
    status_before = Status(conversation.status)
    routing_before = recipients.routing_snapshot(conversation)
    if is_customer and conversation.status in (Status.PENDING, Status.SOLVED, Status.ON_HOLD):
        await _set_status(session, actor, conversation, Status.OPEN, channel=channel)
    elif not is_customer and new.kind == MessageKind.REPLY:
        if conversation.first_response_at is None:
            conversation.first_response_at = message.created_at
        target = set_status or (Status.OPEN if conversation.status == Status.NEW else None)
        if target is not None:
            await _set_status(session, actor, conversation, target, channel=channel)
    elif set_status is not None:
        await _set_status(session, actor, conversation, set_status, channel=channel)
    changed = {"message"}
    previous: dict[str, object] = {}
    if conversation.status != status_before:
        changed.add("status")
        previous["status"] = status_before
    await run_pipeline(
        session,
        ConversationChange(
            conversation, actor, changed=frozenset(changed), previous=previous, message=message
        ),
    )
    if recipients.routing_snapshot(conversation) != routing_before:
        notify_conversation_updated(session, conversation)
    return message, True


async def _stored(session: AsyncSession, conversation: Conversation, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return await session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.client_id == client_id)
    )


async def _set_status(
    session: AsyncSession,
    actor: Actor | None,
    conversation: Conversation,
    target: Status,
    *,
    channel: ChannelKind,
) -> None:
    current = Status(conversation.status)
    if current == target:
        return
    if not can_transition(current, target):
        raise Conflict(f"a {current.value} conversation cannot become {target.value}")
    conversation.status = target
    now = utcnow()
    if target == Status.SOLVED:
        conversation.solved_at = now
    elif target == Status.CLOSED:
        conversation.closed_at = now
    await _record_change(session, actor, conversation, "status", current.value, target.value, channel=channel)


async def _record_change(
    session: AsyncSession,
    actor: Actor | None,
    conversation: Conversation,
    field: str,
    before: str | None,
    after: str | None,
    *,
    channel: ChannelKind,
) -> None:
    data: dict[str, object] = {"field": field, "from": before, "to": after}
    author = AuthorKind.AGENT if isinstance(actor, AgentActor) else AuthorKind.SYSTEM
    await append_message(
        session,
        conversation,
        actor,
        NewMessage(body="", kind=MessageKind.EVENT, data=data),
        author=author,
        channel=channel,
    )


def _str(value: object) -> str | None:
    return None if value is None else str(value)


async def apply_conversation_update(
    session: AsyncSession, actor: Actor | None, conversation: Conversation, changes: ConversationUpdate
) -> dict[str, object]:
    """Apply `changes` (actor None: the system), record each in the timeline; returns the old values.

    No pipeline run and no event: for processors, which run inside `do_update_conversation` & co.
    """
    channel = ChannelKind(conversation.channel)
    previous: dict[str, object] = {}
    if changes.status is not None and changes.status != conversation.status:
        previous["status"] = conversation.status
        await _set_status(session, actor, conversation, changes.status, channel=channel)
    simple = {"priority": changes.priority, "category": changes.category}
    for field, value in simple.items():
        if value is not None and value != getattr(conversation, field):
            before = getattr(conversation, field)
            previous[field] = before
            setattr(conversation, field, value)
            await _record_change(
                session, actor, conversation, field, _str(before), value.value, channel=channel
            )
    if "category" in previous:
        # Fields of the old category may not fit the new one: keep only what validates.
        conversation.form_fields = await _refit_form(session, conversation)
    if changes.unassign or (
        changes.assignee_id is not None and changes.assignee_id != conversation.assignee_id
    ):
        if changes.assignee_id is not None and not changes.unassign:
            await _check_assignee(session, changes.assignee_id)
        new_assignee = None if changes.unassign else changes.assignee_id
        if new_assignee != conversation.assignee_id:
            before_id = conversation.assignee_id
            previous["assignee"] = before_id
            conversation.assignee_id = new_assignee
            await _record_change(
                session, actor, conversation, "assignee", _str(before_id), _str(new_assignee), channel=channel
            )
    if changes.team_id is not None and changes.team_id != conversation.team_id:
        await check_team(session, changes.team_id)
        before_team = conversation.team_id
        previous["team"] = before_team
        conversation.team_id = changes.team_id
        await _record_change(
            session, actor, conversation, "team", _str(before_team), _str(changes.team_id), channel=channel
        )
    if changes.tags is not None:
        wanted = sorted(set(changes.tags))
        if wanted != conversation.tags:
            before_tags = list(conversation.tags)
            previous["tags"] = before_tags
            conversation.tag_rows = [ConversationTag(tag=tag) for tag in wanted]
            await _record_change(
                session, actor, conversation, "tags", ",".join(before_tags), ",".join(wanted), channel=channel
            )
    if previous:
        conversation.updated_at = utcnow()
        await session.flush()
    return previous


async def do_update_conversation(
    session: AsyncSession, actor: AgentActor, conversation: Conversation, changes: ConversationUpdate
) -> Conversation:
    """Apply an agent's changes; each one is recorded in the timeline as an event message."""
    previous = await apply_conversation_update(session, actor, conversation, changes)
    if previous:
        await run_pipeline(
            session,
            ConversationChange(conversation, actor, changed=frozenset(previous), previous=previous),
        )
    conversation.updated_at = utcnow()
    await session.flush()
    notify_conversation_updated(session, conversation)
    return conversation


def notify_conversation_updated(session: AsyncSession, conversation: Conversation) -> None:
    """Tell staff watching the conversation or its lists, after commit."""
    emit_on_commit(
        session,
        Event(
            name=EventName.CONVERSATION_UPDATED,
            topics=recipients.conversation_topics(conversation),
            payload=recipients.conversation_payload(conversation),
        ),
    )


async def _refit_form(session: AsyncSession, conversation: Conversation) -> dict[str, object]:
    # Fields of the old category may not fit the new one: keep what validates for it.
    return await refit_form_fields(session, Category(conversation.category), conversation.form_fields)


async def do_solve_as_customer(
    session: AsyncSession, actor: CustomerActor, conversation: Conversation
) -> Conversation:
    """The customer says their problem is solved. A later reply from them reopens it; already solved or
    closed conversations are left as they are (a repeated click changes nothing)."""
    if conversation.status in (Status.SOLVED, Status.CLOSED):
        return conversation
    previous = await apply_conversation_update(
        session, actor, conversation, ConversationUpdate(status=Status.SOLVED)
    )
    await run_pipeline(
        session, ConversationChange(conversation, actor, changed=frozenset(previous), previous=previous)
    )
    notify_conversation_updated(session, conversation)
    return conversation
