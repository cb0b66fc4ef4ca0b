"""State changes of conversations and messages. Actions never commit; events go out after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.auth.models import Agent
from kefu.contacts.actions import do_add_identity, do_resolve_contact, get_contact_by_identity
from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import Contact, IdentityKind
from kefu.conversations import recipients
from kefu.conversations.forms import FORMS, validate_form_fields
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.schemas import ConversationCreate, ConversationUpdate, CustomerIn
from kefu.conversations.states import AuthorKind, Category, MessageKind, Status, can_transition
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kefu.core.ids import new_reference
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind, Team

_REFERENCE_ATTEMPTS = 5
_VISITOR_CLIENT_ID_MIN = 20


@dataclass(frozen=True)
class NewMessage:
    body: str
    kind: MessageKind = MessageKind.REPLY
    client_id: str | None = None
    data: dict[str, object] | None = None


async def resolve_customer(session: AsyncSession, customer: CustomerIn, locale: str) -> Contact:
    """The contact any given identity belongs to (exchange uid first), created if new.

    Identities given alongside that no other contact holds are attached, so an agent's
    "uid 10000001, alice@example.com" links both handles to one person.
    """
    given = [
        (kind, normalise_identity(kind, value))
        for kind, value in (
            (IdentityKind.EXCHANGE_UID, customer.exchange_uid),
            (IdentityKind.EMAIL, customer.email),
            (IdentityKind.PHONE, customer.phone),
        )
        if value
    ]
    if not given:
        raise InvalidInput(
            "the customer needs an email, phone or exchange uid", fields={"customer": "required"}
        )
    contact = None
    for kind, value in given:
        contact = await get_contact_by_identity(session, kind, value)
        if contact is not None:
            break
    if contact is None:
        contact, _created = await do_resolve_contact(session, *given[0], name=customer.name, locale=locale)
    for kind, value in given:
        await do_add_identity(session, contact, kind, value)
    return contact


async def _check_team(session: AsyncSession, team_id: uuid.UUID | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise InvalidInput("unknown team", fields={"team_id": "no such team"})


async def _check_assignee(session: AsyncSession, agent_id: uuid.UUID) -> None:
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise InvalidInput("unknown or inactive agent", fields={"assignee_id": "no such active agent"})


async def _existing_by_client_id(
    session: AsyncSession, contact_id: uuid.UUID, client_id: str
) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(Conversation.contact_id == contact_id, Conversation.client_id == client_id)
    )


async def do_create_conversation(
    session: AsyncSession,
    actor: Actor,
    data: ConversationCreate,
    *,
    channel: ChannelKind,
    inbox_id: uuid.UUID | None = None,
) -> tuple[Conversation, bool, Message | None]:
    """Open a conversation with its first message; returns (conversation, created, first message).

    Customers open conversations for themselves; agents and API clients name the customer.
    A repeated `client_id` for the same customer returns the original conversation.
    """
    if isinstance(actor, CustomerActor):
        if data.team_id is not None or data.tags:
            raise PermissionDenied("customers cannot choose a team or tags")
        contact = await session.get(Contact, actor.contact_id)
        if contact is None:
            raise NotFound("customer not found")
    else:
        if data.customer is None:
            raise InvalidInput("name the customer", fields={"customer": "required"})
        contact = await resolve_customer(session, data.customer, data.locale)
    form_fields = validate_form_fields(data.category, data.form_fields)
    await _check_team(session, data.team_id)
    if data.client_id:
        existing = await _existing_by_client_id(session, contact.id, data.client_id)
        if existing is not None:
            return existing, False, None

    conversation = Conversation(
        contact_id=contact.id,
        inbox_id=inbox_id,
        channel=channel,
        subject=data.subject,
        category=data.category,
        priority=data.priority,
        form_fields=form_fields,
        locale=data.locale,
        team_id=data.team_id,
        client_id=data.client_id,
        last_activity_at=utcnow(),
    )
    conversation.tag_rows = [ConversationTag(tag=tag) for tag in sorted(set(data.tags))]
    await _insert_with_unique_reference(session, conversation, contact.id, data.client_id)
    author = AuthorKind.CUSTOMER if isinstance(actor, CustomerActor) else AuthorKind.AGENT
    first = await _append_message(
        session, conversation, actor, NewMessage(body=data.body), author=author, channel=channel
    )
    emit_on_commit(
        session,
        Event(
            name=EventName.CONVERSATION_CREATED,
            topics=recipients.conversation_topics(conversation),
            payload={"conversation_id": str(conversation.id), "reference": conversation.reference},
        ),
    )
    return conversation, True, first


async def do_open_as_visitor(
    session: AsyncSession, data: ConversationCreate, *, channel: ChannelKind
) -> tuple[Conversation, bool, Message | None]:
    """Open a conversation for an anonymous visitor who named their email (a help-center form).

    The email is not proven, so the conversation is filed under that contact but the visitor is
    only ever granted this one conversation (see customer tokens), never the contact's history.
    """
    if data.customer is None or not data.customer.email:
        raise InvalidInput("tell us your email so we can reply", fields={"customer.email": "required"})
    if data.team_id is not None or data.tags:
        raise PermissionDenied("customers cannot choose a team or tags")
    if data.client_id is not None and len(data.client_id) < _VISITOR_CLIENT_ID_MIN:
        # A retry returns the original conversation (and a token for it): only unguessable ids may do that.
        raise InvalidInput(
            "client_id must be a random id of 20+ characters",
            fields={"client_id": "too short to be unguessable"},
        )
    contact = await resolve_customer(
        session, CustomerIn(email=data.customer.email, name=data.customer.name), data.locale
    )
    visitor = CustomerActor(contact_id=contact.id)
    return await do_create_conversation(
        session, visitor, data.model_copy(update={"customer": None}), channel=channel
    )


async def _insert_with_unique_reference(
    session: AsyncSession, conversation: Conversation, contact_id: uuid.UUID, client_id: str | None
) -> None:
    for _attempt in range(_REFERENCE_ATTEMPTS):
        conversation.reference = new_reference()
        try:
            async with session.begin_nested():
                session.add(conversation)
                await session.flush()
            return
        except IntegrityError:
            if client_id and await _existing_by_client_id(session, contact_id, client_id):
                raise Conflict("a conversation with this client_id is being created") from None
    raise Conflict("could not allocate a conversation reference; retry")


async def _append_message(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor | None,
    new: NewMessage,
    *,
    author: AuthorKind,
    channel: ChannelKind,
) -> Message:
    now = utcnow()
    # One UPDATE both bumps and reads the counter: concurrent writers serialise on the row lock.
    seq = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq + 1, last_activity_at=now, updated_at=now)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    )
    assert seq is not None
    conversation.last_seq = seq
    conversation.last_activity_at = now
    message = Message(
        conversation_id=conversation.id,
        seq=seq,
        kind=new.kind,
        author_kind=author,
        author_agent_id=actor.agent_id if isinstance(actor, AgentActor) else None,
        author_contact_id=actor.contact_id if isinstance(actor, CustomerActor) else None,
        body=new.body,
        data=dict(new.data or {}),
        client_id=new.client_id,
        channel=channel,
        created_at=now,
        attachments=[],  # known empty: appending files must not lazy-load in async code
    )
    session.add(message)
    await session.flush()
    emit_on_commit(
        session,
        Event(
            name=EventName.MESSAGE_CREATED,
            topics=recipients.message_topics(conversation, message),
            payload={
                "conversation_id": str(conversation.id),
                "message_id": str(message.id),
                "seq": seq,
                "kind": message.kind.value if isinstance(message.kind, MessageKind) else message.kind,
            },
        ),
    )
    return message


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
    if new.client_id:
        existing = await session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id, Message.client_id == new.client_id
            )
        )
        if existing is not None:
            return existing, False
    is_customer = isinstance(actor, CustomerActor)
    if is_customer and (new.kind != MessageKind.REPLY or set_status is not None):
        raise PermissionDenied("customers can only reply")
    if conversation.status == Status.CLOSED:
        raise Conflict("this conversation is closed; please start a new one")
    if not new.body.strip() and new.kind == MessageKind.NOTE:
        raise InvalidInput("a note needs text", fields={"body": "required"})

    author = AuthorKind.CUSTOMER if is_customer else AuthorKind.AGENT
    try:
        async with session.begin_nested():
            message = await _append_message(session, conversation, actor, new, author=author, channel=channel)
    except IntegrityError:
        # The same client_id raced in from a retry: hand back the stored one.
        raced = await session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id, Message.client_id == new.client_id
            )
        )
        if raced is None:
            raise
        return raced, False

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
    return message, True


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
    await _append_message(
        session,
        conversation,
        actor,
        NewMessage(body="", kind=MessageKind.EVENT, data=data),
        author=author,
        channel=channel,
    )


def _str(value: object) -> str | None:
    return None if value is None else str(value)


async def do_update_conversation(
    session: AsyncSession, actor: AgentActor, conversation: Conversation, changes: ConversationUpdate
) -> Conversation:
    """Apply an agent's changes; each one is recorded in the timeline as an event message."""
    channel = ChannelKind(conversation.channel)
    if changes.status is not None:
        await _set_status(session, actor, conversation, changes.status, channel=channel)
    simple = {"priority": changes.priority, "category": changes.category}
    for field, value in simple.items():
        if value is not None and value != getattr(conversation, field):
            before = getattr(conversation, field)
            setattr(conversation, field, value)
            await _record_change(
                session, actor, conversation, field, _str(before), value.value, channel=channel
            )
    if changes.category is not None:
        # Fields of the old category may not fit the new one: keep only what validates.
        conversation.form_fields = _refit_form(conversation)
    if changes.unassign or (
        changes.assignee_id is not None and changes.assignee_id != conversation.assignee_id
    ):
        if changes.assignee_id is not None and not changes.unassign:
            await _check_assignee(session, changes.assignee_id)
        new_assignee = None if changes.unassign else changes.assignee_id
        if new_assignee != conversation.assignee_id:
            before_id = conversation.assignee_id
            conversation.assignee_id = new_assignee
            await _record_change(
                session, actor, conversation, "assignee", _str(before_id), _str(new_assignee), channel=channel
            )
    if changes.team_id is not None and changes.team_id != conversation.team_id:
        await _check_team(session, changes.team_id)
        before_team = conversation.team_id
        conversation.team_id = changes.team_id
        await _record_change(
            session, actor, conversation, "team", _str(before_team), _str(changes.team_id), channel=channel
        )
    if changes.tags is not None:
        wanted = sorted(set(changes.tags))
        if wanted != conversation.tags:
            before_tags = ",".join(conversation.tags)
            conversation.tag_rows = [ConversationTag(tag=tag) for tag in wanted]
            await _record_change(
                session, actor, conversation, "tags", before_tags, ",".join(wanted), channel=channel
            )
    conversation.updated_at = utcnow()
    await session.flush()
    emit_on_commit(
        session,
        Event(
            name=EventName.CONVERSATION_UPDATED,
            topics=recipients.conversation_topics(conversation),
            payload={"conversation_id": str(conversation.id), "status": str(conversation.status)},
        ),
    )
    return conversation


def _refit_form(conversation: Conversation) -> dict[str, object]:
    allowed = FORMS[Category(conversation.category)].model_fields
    kept = {k: v for k, v in conversation.form_fields.items() if k in allowed}
    try:
        return validate_form_fields(Category(conversation.category), kept)
    except InvalidInput:
        return {}
