"""Opening conversations: naming the customer, the row with its public reference, the first message.

This is the busiest write path (every API, form, email and chat request that starts a conversation),
so on PostgreSQL a known customer's conversation, first message, tags and SLA clocks are written in
one round trip that also looks the customer up (`kefu.conversations.opening`); anything else takes the
general path. The SLA clocks are predicted before triggers and routing run
(`kefu.conversations.pipeline.OPENING_ROWS`); the SLA processor corrects them when those changed the
conversation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kefu.auth.actors import Actor, CustomerActor
from kefu.contacts.actions import do_add_identity, do_create_contact
from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations import recipients
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.opening import ExtraRow, Identity, open_for_known_customer, write_opening
from kefu.conversations.pipeline import ConversationChange, predict_opening_rows, run_pipeline
from kefu.conversations.redaction import REDACTED_KEY, audit_redaction, distinct, redact_fields, redact_text
from kefu.conversations.redaction_notice import warn_customer
from kefu.conversations.schemas import ConversationCreate, CustomerIn
from kefu.conversations.states import AuthorKind, Priority, Status
from kefu.conversations.timeline import NewMessage, message_written, new_message_values
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, PermissionDenied
from kefu.core.ids import new_id, new_reference
from kefu.db.base import adopt, table_of
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind, Team
from kefu.request_forms.validation import check_form_fields

_REFERENCE_ATTEMPTS = 5
_VISITOR_CLIENT_ID_MIN = 20

# Built once: hot paths reuse compiled statements instead of rebuilding them per request.
_IDENTITIES = table_of(ContactIdentity)
_HOLDERS_COLUMNS = (_IDENTITIES.c.kind, _IDENTITIES.c.value, _IDENTITIES.c.contact_id)
# PostgreSQL takes the handles as one array: one statement text (and prepared statement) for any
# count, with no per-value expansion at execution. SQLite has no arrays.
_HOLDERS_PG = select(*_HOLDERS_COLUMNS).where(
    _IDENTITIES.c.value == any_(bindparam("values", type_=postgresql.ARRAY(String)))
)
_HOLDERS = select(*_HOLDERS_COLUMNS).where(_IDENTITIES.c.value.in_(bindparam("values", expanding=True)))


def customer_identities(customer: CustomerIn) -> list[Identity]:
    """The normalised handles naming a customer, exchange uid first; InvalidInput when none."""
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
    return given


async def _resolve_identities(
    session: AsyncSession, given: Sequence[Identity], *, name: str, locale: str
) -> uuid.UUID:
    # One query answers "who holds any of these handles" for the common case of a known customer.
    conn = await session.connection()
    holders = _HOLDERS_PG if conn.dialect.name == "postgresql" else _HOLDERS
    rows = await conn.execute(holders, {"values": [value for _, value in given]})
    held = {(str(kind), value): contact_id for kind, value, contact_id in rows}
    owner = next((held[(str(k), v)] for k, v in given if (str(k), v) in held), None)
    if owner is None:
        kind, value = given[0]
        owner, _created = await do_create_contact(session, kind, value, name=name, locale=locale)
        held[(str(kind), value)] = owner
    for kind, value in given:
        if (str(kind), value) not in held:
            await do_add_identity(session, owner, kind, value)
    return owner


async def resolve_customer(session: AsyncSession, customer: CustomerIn, locale: str) -> uuid.UUID:
    """The id of the contact any given identity belongs to (exchange uid first), created if new.

    Identities given alongside that no other contact holds are attached, so an agent's
    "uid 10000001, alice@example.com" links both handles to one person.
    """
    given = customer_identities(customer)
    return await _resolve_identities(session, given, name=customer.name, locale=locale)


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


async def _insert_opening(
    session: AsyncSession,
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
    *,
    contact_id: uuid.UUID,
    client_id: str | None,
    extra: Sequence[ExtraRow],
) -> bool:
    """Write the opening rows with a fresh random reference, retrying on the rare collision.

    False when the conversation's `client_id` raced in from a concurrent retry (nothing written).
    """
    conn = await session.connection()
    for _attempt in range(_REFERENCE_ATTEMPTS):
        conversation["reference"] = new_reference()
        if await write_opening(conn, conversation, message, tags, extra):
            return True
        if client_id and await _existing_by_client_id(session, contact_id, client_id):
            return False
    raise Conflict("could not allocate a conversation reference; retry")


@dataclass
class Opening:
    """A conversation about to be opened: every row decided, nothing written yet."""

    given: list[Identity]  # the customer's handles, when the caller named the customer
    contact_id: uuid.UUID | None  # the customer, when the caller is the customer
    values: dict[str, object]  # the conversation row (its reference is drawn when written)
    first_values: dict[str, object]  # its first message
    tags: list[str]
    # The conversation as an unsaved object: what processors predict from and check.
    draft: Conversation
    predicted: list[ExtraRow]  # rows processors asked to write with it (the SLA clocks)
    subject_kinds: tuple[str, ...]  # what redaction removed from the subject
    field_kinds: tuple[str, ...]  # and from the form fields

    @property
    def redacted(self) -> bool:
        """Whether redaction removed anything (it is audited, and a customer warned)."""
        data = self.first_values["data"]
        body_kinds = data.get(REDACTED_KEY) if isinstance(data, dict) else None
        return bool(self.subject_kinds or self.field_kinds or body_kinds)


async def prepare_opening(
    session: AsyncSession,
    actor: Actor,
    data: ConversationCreate,
    *,
    channel: ChannelKind,
    inbox_id: uuid.UUID | None = None,
    route_to_team: uuid.UUID | None = None,
    message_data: dict[str, object] | None = None,
) -> Opening:
    """Check the request and build the rows `do_create_conversation` writes (see there); nothing is
    written, and with every configuration cached nothing is read either."""
    given: list[Identity] = []
    contact_id: uuid.UUID | None = None
    if isinstance(actor, CustomerActor):
        if data.team_id is not None or data.tags:
            raise PermissionDenied("customers cannot choose a team or tags")
        contact_id = actor.contact_id
    elif data.customer is None:
        raise InvalidInput("name the customer", fields={"customer": "required"})
    else:
        given = customer_identities(data.customer)
    form_fields = await check_form_fields(session, data.category, data.form_fields, locale=data.locale)
    form_fields, field_kinds = redact_fields(form_fields)
    subject = redact_text(data.subject)
    team_id = data.team_id or route_to_team
    # Only a caller's choice needs checking: `route_to_team` comes from our own rows (an inbox's team).
    await check_team(session, data.team_id)

    now = utcnow()
    conversation_id = new_id()
    values: dict[str, object] = {
        "id": conversation_id,
        "contact_id": contact_id,
        "inbox_id": inbox_id,
        "channel": channel,
        "subject": subject.text,
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
    author = AuthorKind.CUSTOMER if isinstance(actor, CustomerActor) else AuthorKind.AGENT
    # Both rows are known before either is written: one round trip writes them on PostgreSQL.
    first_values = new_message_values(
        conversation_id,
        actor,
        NewMessage(body=data.body, client_id=data.client_id, data=message_data),
        author=author,
        channel=channel,
        seq=1,
        created_at=now,
    )
    tags = sorted(set(data.tags))
    draft = Conversation(**values)
    # Rows the pipeline will want (the SLA clocks) go into the same statement when predictable.
    predicted = await predict_opening_rows(session, draft)
    return Opening(
        given, contact_id, values, first_values, tags, draft, predicted, subject.kinds, field_kinds
    )


def set_tags_written(conversation: Conversation, tags: Sequence[str]) -> None:
    """`conversation.tags` as written with it (after `adopt`: set before, the tag objects would be
    added to the session and inserted a second time)."""
    set_committed_value(
        conversation, "tag_rows", [ConversationTag(conversation_id=conversation.id, tag=t) for t in tags]
    )


def created_event(conversation: Conversation) -> Event:
    """`conversation.created`, for staff watching the inbox."""
    return Event(
        name=EventName.CONVERSATION_CREATED,
        topics=recipients.conversation_topics(conversation),
        payload=recipients.conversation_payload(conversation),
    )


async def do_create_conversation(
    session: AsyncSession,
    actor: Actor,
    data: ConversationCreate,
    *,
    channel: ChannelKind,
    inbox_id: uuid.UUID | None = None,
    route_to_team: uuid.UUID | None = None,
    message_data: dict[str, object] | None = None,
) -> tuple[Conversation, bool, Message | None]:
    """Open a conversation with its first message; returns (conversation, created, first message).

    Customers open conversations for themselves; agents and API clients name the customer.
    A repeated `client_id` for the same customer returns the original conversation.
    `route_to_team` is the team chosen by routing (an inbox's team) when the caller named none.
    `message_data`: channel facts stored with the first message (an email's headers and verdict).
    """
    opening = await prepare_opening(
        session,
        actor,
        data,
        channel=channel,
        inbox_id=inbox_id,
        route_to_team=route_to_team,
        message_data=message_data,
    )
    values, first_values, tags, predicted = (
        opening.values,
        opening.first_values,
        opening.tags,
        opening.predicted,
    )
    contact_id = opening.contact_id
    written = False
    if opening.given:
        conn = await session.connection()
        if conn.dialect.name == "postgresql":
            contact_id, written = await open_for_known_customer(
                conn, opening.given, values, first_values, tags, predicted
            )
        if contact_id is None:
            assert data.customer is not None
            contact_id = await _resolve_identities(
                session, opening.given, name=data.customer.name, locale=data.locale
            )
        values["contact_id"] = contact_id
    assert contact_id is not None
    if not written:
        if data.client_id:
            existing = await _existing_by_client_id(session, contact_id, data.client_id)
            if existing is not None:
                return existing, False, None
        if not await _insert_opening(
            session,
            values,
            first_values,
            tags,
            contact_id=contact_id,
            client_id=data.client_id,
            extra=predicted,
        ):
            raced = await _existing_by_client_id(session, contact_id, str(data.client_id))
            assert raced is not None
            return raced, False, None
    # Persistent without a flush (a Core insert wrote it); later changes to it are saved as UPDATEs.
    # What was decided while writing (the customer, a reference drawn again after a collision).
    draft = opening.draft
    draft.contact_id, draft.reference = contact_id, str(values["reference"])
    conversation = adopt(session, draft)
    set_tags_written(conversation, tags)
    first = message_written(session, conversation, first_values)
    await _after_redaction(
        session, conversation, actor, first, opening.subject_kinds, opening.field_kinds, channel=channel
    )
    opened_with = {table.name: row for table, row in predicted}
    change = ConversationChange(conversation, actor, created=True, message=first, opened_with=opened_with)
    await run_pipeline(session, change)
    emit_on_commit(session, created_event(conversation))
    return conversation, True, first


async def _after_redaction(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    first: Message,
    subject_kinds: tuple[str, ...],
    field_kinds: tuple[str, ...],
    *,
    channel: ChannelKind,
) -> None:
    # The body's redaction is audited where the message was written; subject and fields are here.
    for where, kinds in (("subject", subject_kinds), ("form_fields", field_kinds)):
        if kinds:
            audit_redaction(session, conversation, actor, kinds, where=where)
    body_kinds = first.data.get(REDACTED_KEY) or []
    found = distinct([*subject_kinds, *field_kinds, *body_kinds])
    if found and isinstance(actor, CustomerActor):
        await warn_customer(session, conversation, found, channel=channel)


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
