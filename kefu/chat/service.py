"""Reads of the chat socket: the visitor's conversation, its customer-visible messages, availability,
the queue, and the frames they become (docs/chat-protocol.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kefu.auth.models import Agent
from kefu.channels.live_chat import (
    WaitEstimate,
    chat_team_id,
    count_waiting,
    estimate_wait,
    get_live_chat_status,
)
from kefu.chat.identity import ChatCustomer
from kefu.contacts.actions import identity_owner
from kefu.contacts.models import IdentityKind
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.db.cache import ConfigCache
from kefu.inboxes.models import ChannelKind
from kefu.incidents.service import incident_url, list_current, localized
from kefu.routing.service import WORKING
from kefu.schedules.calendar import NeverOpen
from kefu.schedules.service import get_calendar_for_team
from kefu.sla.models import ConversationSla

MAX_BODY_CHARS: Final = 4000
# One replay page; a longer history is sent in several pages, still in seq order.
REPLAY_PAGE: Final = 200
# Every waiting chat polls its place; the wait estimate (presence, recent answers) is shared a while.
_WAIT: ConfigCache[WaitEstimate] = ConfigCache("chat_wait_estimate", ttl=10.0)


def customer_identity(customer: ChatCustomer) -> tuple[IdentityKind, str]:
    """The contact identity a chat customer is known by: the exchange's user id when signed."""
    if customer.user_id is not None:
        return IdentityKind.EXCHANGE_UID, customer.user_id
    return IdentityKind.WIDGET, customer.visitor_id.hex


async def find_contact(session: AsyncSession, customer: ChatCustomer) -> uuid.UUID | None:
    """The contact of this customer, if they ever wrote (contacts are created on the first message)."""
    kind, value = customer_identity(customer)
    return await identity_owner(session, kind, value)


async def current_conversation(session: AsyncSession, contact_id: uuid.UUID) -> Conversation | None:
    """The customer's latest chat that is not closed (a solved one stays, to be rated or reopened)."""
    return await session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            Conversation.channel == ChannelKind.CHAT,
            Conversation.status != Status.CLOSED,
            Conversation.merged_into_id.is_(None),
        )
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        .limit(1)
    )


# Built once with parameters: composing this statement costs more CPU than running it.
_OPEN_CHAT = (
    select(Conversation, ConversationSla)
    .outerjoin(ConversationSla, ConversationSla.conversation_id == Conversation.id)
    .options(joinedload(Conversation.tag_rows))
    .where(
        Conversation.id == bindparam("conversation"),
        Conversation.contact_id == bindparam("contact"),
        Conversation.channel == ChannelKind.CHAT,
        Conversation.status != Status.CLOSED,
        Conversation.merged_into_id.is_(None),
    )
)


async def load_open_chat(
    session: AsyncSession, contact_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[Conversation, ConversationSla | None] | None:
    """The chat `conversation_id` if it is still `contact_id`'s and open to messages, else None.

    One statement instead of identity + current chat + tags + SLA: the tags and the SLA row (which the
    pipeline reads) join the session's identity map with it. The identity map holds rows weakly, so
    the caller keeps the returned SLA row referenced until the pipeline has run.
    """
    rows = await session.execute(_OPEN_CHAT, {"conversation": conversation_id, "contact": contact_id})
    row = rows.unique().first()
    return (row[0], row[1]) if row is not None else None


async def messages_after(
    session: AsyncSession, conversation_id: uuid.UUID, after: int, *, limit: int = REPLAY_PAGE
) -> list[Message]:
    """Customer-visible messages (replies, never notes or events) with seq > `after`, in seq order."""
    rows = await session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.seq > after,
            Message.kind == MessageKind.REPLY,
        )
        .order_by(Message.seq)
        .limit(limit)
    )
    return list(rows)


async def agent_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of agents (what customers see next to a reply)."""
    if not ids:
        return {}
    rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))
    return {row.id: row.name for row in rows}


def message_frame(
    message: Message,
    names: dict[uuid.UUID, str],
    *,
    bot_name: str,
    file_url: Callable[[uuid.UUID], str] | None = None,
) -> dict[str, Any]:
    """The protocol's `message` object: plain text, files and the author as the customer may see them."""
    kind = AuthorKind(message.author_kind)
    name: str | None = None
    if kind == AuthorKind.AGENT and message.author_agent_id is not None:
        name = names.get(message.author_agent_id)
    elif kind == AuthorKind.BOT:
        name = bot_name
    frame: dict[str, Any] = {
        "seq": message.seq,
        "id": str(message.id),
        "author": {"kind": str(kind), "name": name, "avatar_url": None},
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }
    if kind == AuthorKind.CUSTOMER and message.client_id:
        frame["client_id"] = message.client_id
    files = [a for a in message.attachments if not a.sensitive]
    if files and file_url is not None:
        frame["attachments"] = [
            {
                "id": str(a.id),
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "width": a.width,
                "height": a.height,
                "url": file_url(a.id),
            }
            for a in files
        ]
    challenge = message.data.get("identity_challenge") if isinstance(message.data, dict) else None
    if kind == AuthorKind.SYSTEM and isinstance(challenge, dict):
        frame["identity_challenge"] = {
            "destination": challenge.get("destination"),
            "expires_at": challenge.get("expires_at"),
        }
    bot = message.data.get("bot") if isinstance(message.data, dict) else None
    if kind == AuthorKind.BOT and isinstance(bot, dict):
        frame["choices"] = bot.get("choices") or []
        frame["articles"] = bot.get("articles") or []
    return frame


def conversation_frame(conversation: Conversation, agent_name: str | None) -> dict[str, Any]:
    """The protocol's `conversation` object."""
    return conversation_fields(conversation.id, conversation.reference, str(conversation.status), agent_name)


def conversation_fields(
    conversation_id: uuid.UUID, reference: str, status: str, agent_name: str | None
) -> dict[str, Any]:
    """`conversation_frame` from the fields themselves (a post that returned them from its statement)."""
    return {
        "id": str(conversation_id),
        "reference": reference,
        "status": status,
        "agent": {"name": agent_name, "avatar_url": None} if agent_name else None,
    }


async def describe_conversation(session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
    """`conversation_frame` with the assignee's name looked up."""
    name = None
    if conversation.assignee_id is not None:
        name = (await agent_names(session, {conversation.assignee_id})).get(conversation.assignee_id)
    return conversation_frame(conversation, name)


@dataclass(frozen=True)
class QueuePlace:
    position: int
    estimated_wait_seconds: int | None


async def queue_place(
    session: AsyncSession, conversation: Conversation, *, now: datetime
) -> QueuePlace | None:
    """Where an unassigned chat waits: 1 + the waiting chats opened before it; None once assigned."""
    if conversation.assignee_id is not None or conversation.status not in WORKING:
        return None
    ahead = await count_waiting(session, opened_before=conversation.created_at)
    wait = await _WAIT.get(session, None, lambda s: estimate_wait(s, now=now))
    return QueuePlace(ahead + 1, wait.minutes * 60 if wait.minutes is not None else None)


async def availability(session: AsyncSession, *, now: datetime) -> dict[str, Any]:
    """The `availability` object of `welcome`: answered now, or why not and when it opens."""
    status = await get_live_chat_status(session, now=now)
    opens_at: str | None = None
    if not status.within_hours:
        calendar = await get_calendar_for_team(session, await chat_team_id(session))
        try:
            opens_at = calendar.next_open(now).isoformat()
        except NeverOpen:
            opens_at = None
    reason = "open" if status.online else ("closed" if not status.within_hours else "nobody_online")
    minutes = status.wait.minutes
    return {
        "online": status.online,
        "reason": reason,
        "opens_at": opens_at,
        "estimated_wait_seconds": minutes * 60 if status.online and minutes is not None else None,
    }


async def incident_banner(session: AsyncSession, locale: str, base_url: str) -> dict[str, Any] | None:
    """The most severe current incident, as the widget's status banner."""
    current = await list_current(session)
    if not current:
        return None
    incident = current[0]
    return {
        "title": localized(incident.title, locale),
        "status": str(incident.status),
        "url": base_url.rstrip("/") + incident_url(locale, incident.id),
    }
