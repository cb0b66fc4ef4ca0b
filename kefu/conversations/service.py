"""Reads: conversation lists with filters and keyset pagination, and a conversation's timeline."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor
from kefu.conversations.access import can_see_internal, visible_conversations
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.states import Category, MessageKind, Status
from kefu.core.errors import InvalidInput


@dataclass(frozen=True)
class ConversationFilters:
    status: list[Status] | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    team_id: uuid.UUID | None = None
    category: Category | None = None
    tag: str | None = None
    text: str | None = None


def _encode_cursor(conversation: Conversation) -> str:
    raw = json.dumps([conversation.last_activity_at.isoformat(), str(conversation.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", fields={"cursor": "not a cursor returned by this API"}) from None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(actor: Actor, filters: ConversationFilters) -> Select[Conversation]:
    query = select(Conversation).where(visible_conversations(actor))
    if filters.status:
        query = query.where(Conversation.status.in_(filters.status))
    if filters.unassigned:
        query = query.where(Conversation.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        query = query.where(Conversation.assignee_id == filters.assignee_id)
    if filters.team_id is not None:
        query = query.where(Conversation.team_id == filters.team_id)
    if filters.category is not None:
        query = query.where(Conversation.category == filters.category)
    if filters.tag:
        query = query.where(
            exists().where(
                ConversationTag.conversation_id == Conversation.id, ConversationTag.tag == filters.tag.lower()
            )
        )
    if filters.text:
        pattern = _like(filters.text.strip())
        searchable = [Message.kind == MessageKind.REPLY] if not can_see_internal(actor) else []
        in_messages = exists().where(
            Message.conversation_id == Conversation.id,
            func.lower(Message.body).like(func.lower(pattern), escape="\\"),
            *searchable,
        )
        query = query.where(
            or_(
                Conversation.reference == filters.text.strip().upper(),
                func.lower(Conversation.subject).like(func.lower(pattern), escape="\\"),
                in_messages,
            )
        )
    return query


async def list_conversations(
    session: AsyncSession, actor: Actor, filters: ConversationFilters, *, limit: int, cursor: str | None
) -> tuple[list[Conversation], str | None]:
    """Visible conversations, most recently active first; returns (page, next cursor)."""
    query = _filtered(actor, filters)
    if cursor:
        at, ident = _decode_cursor(cursor)
        query = query.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < ident),
            )
        )
    query = query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def list_messages(
    session: AsyncSession, actor: Actor, conversation: Conversation, *, after_seq: int, limit: int
) -> list[Message]:
    """A conversation's timeline after `after_seq` (the caller has passed the access gate)."""
    query = select(Message).where(Message.conversation_id == conversation.id, Message.seq > after_seq)
    if not can_see_internal(actor):
        query = query.where(Message.kind == MessageKind.REPLY)
    query = query.order_by(Message.seq).limit(limit)
    return list((await session.scalars(query)).all())
