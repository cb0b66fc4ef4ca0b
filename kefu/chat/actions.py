"""Writes of the chat socket: a customer's message (opening the chat on the first one), and the
ephemeral typing/read notices agents see in the console."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.channels.live_chat import chat_team_id
from kefu.chat.identity import ChatCustomer
from kefu.chat.service import current_conversation, customer_identity, load_open_chat
from kefu.contacts.actions import do_add_identity, do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.actions import do_add_message
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.recipients import conversation_payload, staff_topic
from kefu.conversations.schemas import ConversationCreate
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.events.bus import EventBus
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.storage.uploads import StoredFile

SUBJECT_CHARS: Final = 80
CLOCK_SKEW_WARNING_MS: Final = 30_000


@dataclass(frozen=True)
class Posted:
    conversation: Conversation
    message: Message
    created: bool
    contact_id: uuid.UUID


@dataclass(frozen=True)
class KnownChat:
    """What a socket learnt from its last post: the customer's contact and their open chat."""

    contact_id: uuid.UUID
    conversation_id: uuid.UUID


def chat_subject(body: str) -> str:
    """A chat has no subject line: the first line of its first message stands in for one."""
    first = body.strip().splitlines()[0] if body.strip() else ""
    return first if len(first) <= SUBJECT_CHARS else first[: SUBJECT_CHARS - 1] + "…"


async def _chat_inbox_id(session: AsyncSession) -> uuid.UUID | None:
    return await session.scalar(
        select(Inbox.id)
        .where(Inbox.channel == ChannelKind.CHAT, Inbox.is_active.is_(True))
        .order_by(Inbox.created_at, Inbox.id)
        .limit(1)
    )


async def ensure_contact(session: AsyncSession, customer: ChatCustomer, *, locale: str) -> uuid.UUID:
    """The customer's contact, created on their first message; a verified email is attached once."""
    kind, value = customer_identity(customer)
    contact_id, _created = await do_resolve_contact(
        session, kind, value, name=customer.name or "", locale=locale
    )
    if customer.email is not None:
        # Only from a signed identity; an address another contact holds stays theirs.
        await do_add_identity(session, contact_id, IdentityKind.EMAIL, customer.email)
    return contact_id


async def do_post_message(
    session: AsyncSession,
    customer: ChatCustomer,
    *,
    body: str,
    client_id: str,
    locale: str,
    files: Sequence[StoredFile] = (),
    known: KnownChat | None = None,
) -> Posted:
    """Store the customer's message (and its already-stored files) in their current chat, opening one
    if needed; idempotent on `client_id` (a resend after a lost ack returns the stored message).

    `known`: the contact and chat of this socket's previous post. While that chat is still theirs and
    open, the message goes there without resolving the contact and the current chat again.
    """
    if known is not None:
        loaded = await load_open_chat(session, known.contact_id, known.conversation_id)
        if loaded is not None:
            chat, sla = loaded
            posted = await _add(session, known.contact_id, chat, body, client_id, files)
            del sla  # held until here: the pipeline's SLA step finds it in the session
            return posted
    contact_id = await ensure_contact(session, customer, locale=locale)
    conversation = await current_conversation(session, contact_id)
    if conversation is not None:
        return await _add(session, contact_id, conversation, body, client_id, files)
    actor = CustomerActor(contact_id=contact_id)
    # A chat opened with only a screenshot: its file names stand in for the text of the first message.
    opening = body or ", ".join(f.filename for f in files)
    data = ConversationCreate(subject=chat_subject(opening), body=opening, locale=locale, client_id=client_id)
    conversation, created, first = await do_create_conversation(
        session,
        actor,
        data,
        channel=ChannelKind.CHAT,
        inbox_id=await _chat_inbox_id(session),
        route_to_team=await chat_team_id(session),
    )
    if first is None:
        first = await session.scalar(
            select(Message).where(Message.conversation_id == conversation.id, Message.client_id == client_id)
        )
        assert first is not None
    elif files:
        await do_attach_files(session, conversation, first, list(files), sensitive=False)
    return Posted(conversation, first, created, contact_id)


async def _add(
    session: AsyncSession,
    contact_id: uuid.UUID,
    conversation: Conversation,
    body: str,
    client_id: str,
    files: Sequence[StoredFile],
) -> Posted:
    actor = CustomerActor(contact_id=contact_id)
    message, created = await do_add_message(
        session, actor, conversation, NewMessage(body=body, client_id=client_id), channel=ChannelKind.CHAT
    )
    if created and files:
        await do_attach_files(session, conversation, message, list(files), sensitive=False)
    return Posted(conversation, message, created, contact_id)


async def do_record_diagnostics(
    session: AsyncSession, conversation: Conversation, facts: dict[str, object]
) -> None:
    """The customer's browser facts as an internal note (shared with consent; agents only)."""
    offset = facts.get("clock_offset_ms")
    summary = ", ".join(
        str(part)
        for part in (facts.get("browser"), facts.get("os"), facts.get("time_zone"))
        if isinstance(part, str) and part
    )
    body = f"Diagnostics shared by the customer: {summary or 'browser details'}."
    if isinstance(offset, int) and abs(offset) >= CLOCK_SKEW_WARNING_MS:
        # Time-based 2FA codes fail when the device clock is off by more than about 30 s.
        body += f" Their device clock is off by {offset / 1000:+.0f} s: 2FA codes may fail."
    await append_message(
        session,
        conversation,
        None,
        NewMessage(body=body, kind=MessageKind.NOTE, data={"diagnostics": facts}),
        author=AuthorKind.SYSTEM,
        channel=ChannelKind.CHAT,
    )


async def publish_customer_activity(
    bus: EventBus, conversation: Conversation, *, state: str, seq: int | None = None
) -> None:
    """Tell agents watching the conversation that the customer is typing, stopped, or read up to `seq`."""
    payload: dict[str, object] = {**conversation_payload(conversation), "customer": True, "state": state}
    if seq is not None:
        payload["seq"] = seq
    await bus.publish(
        Event(name=EventName.CONVERSATION_ACTIVITY, topics=(staff_topic(conversation.id),), payload=payload)
    )
