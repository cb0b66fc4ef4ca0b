"""Appending to a conversation's timeline: seq allocation, the message row and its event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, Insert, Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.conversations import recipients
from kefu.conversations.models import Conversation, Message
from kefu.conversations.redaction import REDACTED_KEY, audit_redaction, redact_body
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.core.clock import utcnow
from kefu.core.ids import new_id
from kefu.db.base import adopt, table_of
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind

_INSERT_MESSAGE = insert(table_of(Message))
# A message with a client id goes in only if that id is new in the conversation (a retry race).
_INSERT_ONCE: dict[str, Insert] = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(table_of(Message))
    .on_conflict_do_nothing(index_elements=["conversation_id", "client_id"])
    .returning(table_of(Message).c.id)
    for dialect in (postgresql, sqlite)
}


@dataclass(frozen=True)
class NewMessage:
    body: str
    kind: MessageKind = MessageKind.REPLY
    client_id: str | None = None
    data: dict[str, object] | None = None


_CONVERSATIONS = table_of(Conversation)
_MESSAGES = table_of(Message)
# One UPDATE both bumps and reads the counter: concurrent writers serialise on the row lock. Built
# once: composing a statement costs more CPU than sending it.
_BUMP = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation"))
    .values(
        last_seq=_CONVERSATIONS.c.last_seq + 1,
        last_activity_at=bindparam("now", type_=_CONVERSATIONS.c.last_activity_at.type),
        updated_at=bindparam("now", type_=_CONVERSATIONS.c.updated_at.type),
    )
    .returning(_CONVERSATIONS.c.last_seq)
)
# The same, unless a message with the client id is already stored (then no row comes back).
_BUMP_UNLESS_STORED = _BUMP.where(
    ~select(_MESSAGES.c.id)
    .where(
        _MESSAGES.c.conversation_id == bindparam("conversation"),
        _MESSAGES.c.client_id == bindparam("message_client_id"),
    )
    .exists()
)


async def _next_seq(
    session: AsyncSession, conversation: Conversation, *, unless_client_id: str | None = None
) -> int | None:
    """Bump and return the conversation's seq; None (nothing bumped) if `unless_client_id` is stored."""
    now = utcnow()
    connection = await session.connection()
    seq: int | None
    if unless_client_id is None:
        seq = await connection.scalar(_BUMP, {"conversation": conversation.id, "now": now})
    else:
        seq = await connection.scalar(
            _BUMP_UNLESS_STORED,
            {"conversation": conversation.id, "now": now, "message_client_id": unless_client_id},
        )
    if seq is None:
        assert unless_client_id is not None, "the conversation row is gone"
        return None
    # The UPDATE already stored these: record them as loaded, not as changes to flush again.
    set_committed_value(conversation, "last_seq", seq)
    set_committed_value(conversation, "last_activity_at", now)
    set_committed_value(conversation, "updated_at", now)
    return seq


def new_message_values(
    conversation_id: uuid.UUID,
    actor: Actor | None,
    new: NewMessage,
    *,
    author: AuthorKind,
    channel: ChannelKind,
    seq: int,
    created_at: datetime,
) -> dict[str, object]:
    """Every column of the row `new` becomes as message number `seq` of the conversation.

    The body is redacted here, the one place every message row of every channel is built: pasted
    seed phrases, keys and passwords never reach the table, the search index or the event bus.
    """
    body, data, _kinds = redact_body(new.body, new.data)
    return {
        "id": new_id(),
        "conversation_id": conversation_id,
        "seq": seq,
        "kind": new.kind,
        "author_kind": author,
        "author_agent_id": actor.agent_id if isinstance(actor, AgentActor) else None,
        "author_contact_id": actor.contact_id if isinstance(actor, CustomerActor) else None,
        "body": body,
        "data": dict(data or {}),
        "client_id": new.client_id,
        "channel": channel,
        "created_at": created_at,
    }


def message_written(session: AsyncSession, conversation: Conversation, values: dict[str, object]) -> Message:
    """The message whose row was just inserted with `values`; joins `session`, published after commit.

    Skips the unit-of-work bookkeeping of an ORM insert: the object is complete (attachments known
    empty, so appending files never lazy-loads) and later changes to it are flushed as UPDATEs.
    """
    message = adopt(session, Message(**values))
    set_committed_value(message, "attachments", [])
    kinds = message.data.get(REDACTED_KEY)
    if kinds:
        author = CustomerActor(contact_id=message.author_contact_id) if message.author_contact_id else None
        audit_redaction(session, conversation, author, kinds, where="body", message=message)
    for event in message_events(conversation, message):
        emit_on_commit(session, event)
    return message


def message_events(
    conversation: recipients.ConversationFacts, message: Message, *, validate: bool = True
) -> list[Event]:
    """The `message.created` events of a new message: the staff copy and, for a reply, the customer's.

    `validate=False` builds them without pydantic's checks, for hot paths whose every field comes from
    our own code or the stored row (the bus validates what other processes send).
    """
    kind = MessageKind(message.kind)
    facts = {"message_id": str(message.id), "seq": message.seq, "kind": kind.value}
    build = Event if validate else _unvalidated_event
    events = [
        build(
            name=EventName.MESSAGE_CREATED,
            topics=recipients.staff_message_topics(conversation),
            payload={**recipients.conversation_payload(conversation), **facts},
        )
    ]
    if kind == MessageKind.REPLY:
        # The customer's copy names only the conversation: team and assignee are internal.
        events.append(
            build(
                name=EventName.MESSAGE_CREATED,
                topics=(recipients.customer_topic(conversation.id),),
                payload={"conversation_id": str(conversation.id), **facts},
            )
        )
    return events


def _unvalidated_event(*, name: EventName, topics: tuple[str, ...], payload: dict[str, object]) -> Event:
    return Event.model_construct(
        name=name, topics=topics, payload=payload, id=str(new_id()), occurred_at=utcnow(), position=None
    )


async def append_message(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor | None,
    new: NewMessage,
    *,
    author: AuthorKind,
    channel: ChannelKind,
    first: bool = False,
) -> Message:
    """Insert the next message of `conversation` and publish it after commit.

    `first` is for a conversation inserted in this transaction with last_seq already 1: nobody else
    can see it yet, so the counter needs no bump.
    """
    seq = 1 if first else await _next_seq(session, conversation)
    assert seq is not None
    created_at = conversation.last_activity_at if first else utcnow()
    values = new_message_values(
        conversation.id, actor, new, author=author, channel=channel, seq=seq, created_at=created_at
    )
    await (await session.connection()).execute(_INSERT_MESSAGE, values)
    return message_written(session, conversation, values)


def insert_after_bump(bumped: CTE) -> CTE:
    """PostgreSQL: the INSERT of a message numbered `bumped.c.last_seq`, as a data-modifying CTE.

    Parameters `m_<column>` for every message column but `seq`; a client id stored meanwhile is
    skipped (`ON CONFLICT DO NOTHING`); returns the inserted seq. No row is inserted when `bumped`
    returned none.
    """
    columns = [c for c in _MESSAGES.columns if c.key != "seq"]
    return (
        postgresql.insert(_MESSAGES)
        .from_select(
            [*(c.key for c in columns), "seq"],
            select(*(bindparam(f"m_{c.key}", type_=c.type) for c in columns), bumped.c.last_seq),
        )
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_id"])
        .returning(_MESSAGES.c.seq)
        .cte("inserted")
    )


def _append_once_pg() -> Select[Any]:
    """PostgreSQL: the seq bump and the insert of `_INSERT_ONCE` in one round trip.

    Data-modifying CTEs; returns (the bumped seq or NULL when the client id was stored, the inserted
    seq or NULL when it raced in meanwhile). Parameters: those of `_BUMP_UNLESS_STORED`, and
    `m_<column>` for every message column but `seq`.
    """
    bumped = _BUMP_UNLESS_STORED.cte("bumped")
    inserted = insert_after_bump(bumped)
    return select(select(bumped.c.last_seq).scalar_subquery(), select(inserted.c.seq).scalar_subquery())


_APPEND_ONCE_PG = _append_once_pg()


async def append_message_once(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor | None,
    new: NewMessage,
    *,
    author: AuthorKind,
    channel: ChannelKind,
) -> Message | None:
    """`append_message` unless a message with `new.client_id` is stored (then None, nothing written).

    Without a savepoint: the seq bump skips a known client id, and the insert skips one that raced in
    meanwhile from another transaction, whose bump is then undone (this one still holds the row lock).
    """
    client_id = new.client_id
    assert client_id is not None
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        now = utcnow()
        values = new_message_values(
            conversation.id, actor, new, author=author, channel=channel, seq=0, created_at=now
        )
        params = {f"m_{key}": value for key, value in values.items() if key != "seq"}
        params |= {"conversation": conversation.id, "now": now, "message_client_id": client_id}
        bumped, seq = (await connection.execute(_APPEND_ONCE_PG, params)).one()
        if bumped is not None:
            set_committed_value(conversation, "last_seq", bumped)
            set_committed_value(conversation, "last_activity_at", now)
            set_committed_value(conversation, "updated_at", now)
        if seq is None:
            if bumped is not None:
                await _undo_bump(session, conversation, bumped)
            return None
        values["seq"] = seq
        return message_written(session, conversation, values)
    bumped = await _next_seq(session, conversation, unless_client_id=client_id)
    if bumped is None:
        return None
    values = new_message_values(
        conversation.id, actor, new, author=author, channel=channel, seq=bumped, created_at=utcnow()
    )
    if await connection.scalar(_INSERT_ONCE[connection.dialect.name], values) is None:
        await _undo_bump(session, conversation, bumped)
        return None
    return message_written(session, conversation, values)


async def _undo_bump(session: AsyncSession, conversation: Conversation, bumped: int) -> None:
    """Give back a seq whose message raced in from another transaction (no gap in the seqs)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq - 1)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(conversation, "last_seq", bumped - 1)
