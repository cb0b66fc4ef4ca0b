"""Opening conversations: naming the customer, the row with its public reference, the first message."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kefu.auth.actors import Actor, CustomerActor
from kefu.contacts.actions import do_add_identity, do_create_contact
from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations import recipients
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.pipeline import ConversationChange, run_pipeline
from kefu.conversations.schemas import ConversationCreate, CustomerIn
from kefu.conversations.states import AuthorKind, Priority, Status
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, PermissionDenied
from kefu.core.ids import new_id, new_reference
from kefu.db.base import adopt, table_of
from kefu.db.upsert import insert_or_ignore
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind, Team
from kefu.request_forms.validation import check_form_fields

_REFERENCE_ATTEMPTS = 5
# Built once: hot paths reuse compiled statements instead of rebuilding them per request.
_IDENTITIES = table_of(ContactIdentity)
_HOLDERS = select(_IDENTITIES.c.kind, _IDENTITIES.c.value, _IDENTITIES.c.contact_id).where(
    _IDENTITIES.c.value.in_(bindparam("values", expanding=True))
)
_INSERT_TAGS = insert(table_of(ConversationTag))
_VISITOR_CLIENT_ID_MIN = 20


async def resolve_customer(session: AsyncSession, customer: CustomerIn, locale: str) -> uuid.UUID:
    """The id of the contact any given identity belongs to (exchange uid first), created if new.

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
    # One query answers "who holds any of these handles" for the common case of a known customer.
    rows = await (await session.connection()).execute(_HOLDERS, {"values": [value for _, value in given]})
    held = {(str(kind), value): contact_id for kind, value, contact_id in rows}
    owner = next((held[(str(k), v)] for k, v in given if (str(k), v) in held), None)
    if owner is None:
        kind, value = given[0]
        owner, _created = await do_create_contact(session, kind, value, name=customer.name, locale=locale)
        held[(str(given[0][0]), given[0][1])] = owner
    for kind, value in given:
        if (str(kind), value) not in held:
            await do_add_identity(session, owner, kind, value)
    return owner


async def check_team(session: AsyncSession, team_id: uuid.UUID | None) -> None:
    """InvalidInput unless `team_id` is None or an existing team."""
    if team_id is not None and await session.get(Team, team_id) is None:
        raise InvalidInput("unknown team", fields={"team_id": "no such team"})


async def _existing_by_client_id(
    session: AsyncSession, contact_id: uuid.UUID, client_id: str
) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(Conversation.contact_id == contact_id, Conversation.client_id == client_id)
    )


async def _insert_conversation(
    session: AsyncSession, values: dict[str, object], contact_id: uuid.UUID
) -> Conversation | None:
    """Insert with a fresh random reference, retrying on the rare collision; None if client_id raced.

    A Core insert skips the ORM's per-row bookkeeping on this hot path; the object built from the
    inserted values then joins the session as persistent, so later changes to it are saved.
    """
    statement = insert_or_ignore(session, Conversation, returning=("id",))
    for _attempt in range(_REFERENCE_ATTEMPTS):
        values["reference"] = new_reference()
        if (await (await session.connection()).execute(statement, values)).scalar() is not None:
            return adopt(session, Conversation(**values))
        client_id = values.get("client_id")
        if client_id and await _existing_by_client_id(session, contact_id, str(client_id)):
            return None
    raise Conflict("could not allocate a conversation reference; retry")


async def do_create_conversation(
    session: AsyncSession,
    actor: Actor,
    data: ConversationCreate,
    *,
    channel: ChannelKind,
    inbox_id: uuid.UUID | None = None,
    route_to_team: uuid.UUID | None = None,
) -> tuple[Conversation, bool, Message | None]:
    """Open a conversation with its first message; returns (conversation, created, first message).

    Customers open conversations for themselves; agents and API clients name the customer.
    A repeated `client_id` for the same customer returns the original conversation.
    `route_to_team` is the team chosen by routing (an inbox's team) when the caller named none.
    """
    if isinstance(actor, CustomerActor):
        if data.team_id is not None or data.tags:
            raise PermissionDenied("customers cannot choose a team or tags")
        contact_id = actor.contact_id
    else:
        if data.customer is None:
            raise InvalidInput("name the customer", fields={"customer": "required"})
        contact_id = await resolve_customer(session, data.customer, data.locale)
    form_fields = await check_form_fields(session, data.category, data.form_fields, locale=data.locale)
    team_id = data.team_id or route_to_team
    await check_team(session, team_id)
    if data.client_id:
        existing = await _existing_by_client_id(session, contact_id, data.client_id)
        if existing is not None:
            return existing, False, None

    now = utcnow()
    values: dict[str, object] = {
        "id": new_id(),
        "contact_id": contact_id,
        "inbox_id": inbox_id,
        "channel": channel,
        "subject": data.subject,
        "status": Status.NEW,
        "priority": data.priority or Priority.NORMAL,
        "category": data.category,
        "form_fields": form_fields,
        "locale": data.locale,
        "team_id": team_id,
        "assignee_id": None,
        "first_response_at": None,
        "solved_at": None,
        "closed_at": None,
        "client_id": data.client_id,
        "merged_into_id": None,
        "last_seq": 1,
        "last_activity_at": now,
        "created_at": now,
        "updated_at": now,
    }
    conversation = await _insert_conversation(session, values, contact_id)
    if conversation is None:
        raced = await _existing_by_client_id(session, contact_id, str(data.client_id))
        assert raced is not None
        return raced, False, None
    tags = sorted(set(data.tags))
    if tags:
        await session.execute(
            _INSERT_TAGS, [{"conversation_id": conversation.id, "tag": tag} for tag in tags]
        )
    set_committed_value(
        conversation, "tag_rows", [ConversationTag(conversation_id=conversation.id, tag=t) for t in tags]
    )
    author = AuthorKind.CUSTOMER if isinstance(actor, CustomerActor) else AuthorKind.AGENT
    first = await append_message(
        session, conversation, actor, NewMessage(body=data.body), author=author, channel=channel, first=True
    )
    await run_pipeline(session, ConversationChange(conversation, actor, created=True, message=first))
    emit_on_commit(
        session,
        Event(
            name=EventName.CONVERSATION_CREATED,
            topics=recipients.conversation_topics(conversation),
            payload=recipients.conversation_payload(conversation),
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
    contact_id = await resolve_customer(
        session, CustomerIn(email=data.customer.email, name=data.customer.name), data.locale
    )
    visitor = CustomerActor(contact_id=contact_id)
    return await do_create_conversation(
        session, visitor, data.model_copy(update={"customer": None}), channel=channel
    )
