"""Appending to a conversation's timeline: seq allocation, the message row and its event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
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


@dataclass(frozen=True)
class NewMessage:
    body: str
    kind: MessageKind = MessageKind.REPLY
    client_id: str | None = None
    data: dict[str, object] | None = None


async def _next_seq(session: AsyncSession, conversation: Conversation) -> int:
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
    kind = MessageKind(message.kind)
    facts = {"message_id": str(message.id), "seq": message.seq, "kind": kind.value}
    emit_on_commit(
        session,
        Event(
            name=EventName.MESSAGE_CREATED,
            topics=recipients.staff_message_topics(conversation),
            payload={**recipients.conversation_payload(conversation), **facts},
        ),
    )
    if kind == MessageKind.REPLY:
        # The customer's copy names only the conversation: team and assignee are internal.
        emit_on_commit(
            session,
            Event(
                name=EventName.MESSAGE_CREATED,
                topics=(recipients.customer_topic(conversation.id),),
                payload={"conversation_id": str(conversation.id), **facts},
            ),
        )
    return message


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
    created_at = conversation.last_activity_at if first else utcnow()
    values = new_message_values(
        conversation.id, actor, new, author=author, channel=channel, seq=seq, created_at=created_at
    )
    await (await session.connection()).execute(_INSERT_MESSAGE, values)
    return message_written(session, conversation, values)
