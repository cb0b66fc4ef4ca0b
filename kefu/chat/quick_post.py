"""A customer's next chat message in one autocommitted statement, when nothing else would change.

Most chat traffic is a customer writing again in their open chat. The general path
(`kefu.chat.actions.do_post_message`) loads the chat into an ORM session, appends the message, runs
the conversation pipeline and commits: five round trips' worth of work whose only write, in the common
case, is the message and the seq bump. This path writes exactly that, as one PostgreSQL statement,
and only when the general path would have written nothing more:

- the chat is still the customer's, `new` or `open` (a customer message reopens pending, on-hold and
  solved chats) and not merged;
- its SLA clocks would not move: the policy basis is current, nothing is paused or to be reopened,
  and either nobody has answered yet or the next-response clock already runs
  (`kefu.sla.actions._reconcile` for a customer reply);
- no active trigger reacts to customer messages and no webhook endpoint wants the message (both
  known from this process's caches; a cold cache means the general path, which fills it);
- the text needed no redaction (the general path warns the customer and audits it), and it has no
  files.

The guards that depend on stored rows are part of the statement, so they hold under concurrent
changes: when any fails, nothing is written and the caller takes the general path. Routing, email
and channel delivery never react to a customer's message in an open chat.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import Select, and_, bindparam, cast, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import Text

from kefu.auth.actors import CustomerActor
from kefu.automation.rules import TriggerOn
from kefu.automation.triggers import ACTIVE_TRIGGERS, load_active_triggers
from kefu.conversations import recipients
from kefu.conversations.models import Conversation, Message
from kefu.conversations.redaction import REDACTED_KEY
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.conversations.timeline import NewMessage, insert_after_bump, message_events, new_message_values
from kefu.core.clock import utcnow
from kefu.db.base import table_of
from kefu.db.driver import fetch_row
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind
from kefu.sla.models import ClockState, ConversationSla
from kefu.webhooks.listeners import ACTIVE_ENDPOINTS, endpoints_want, load_endpoints

_CONVERSATIONS = table_of(Conversation)
_MESSAGES = table_of(Message)
_SLA = table_of(ConversationSla)
_QUIET_STATUSES: Final = (Status.NEW.value, Status.OPEN.value)
_LIVE: Final = (ClockState.RUNNING.value, ClockState.PAUSED.value)
# The configuration caches are read again this long before they expire (see _quiet_configuration).
REFRESH_AHEAD_SECONDS: Final = 1.0
_refreshing: set[asyncio.Task[None]] = set()
# What webhook endpoints are asked about: a customer's reply (endpoints choose by name and kind).
_STAFF_MESSAGE: Final = Event(
    name=EventName.MESSAGE_CREATED,
    topics=(recipients.MESSAGES_TOPIC,),
    payload={"kind": MessageKind.REPLY.value},
)
log = structlog.get_logger(__name__)


def _sla_unmoved() -> Any:
    """The chat's SLA row exists and `_reconcile` would leave it as it is for a customer's reply."""
    c, s = _CONVERSATIONS.c, _SLA.c
    team = func.coalesce(cast(c.team_id, Text), literal(""))
    basis = c.priority + "|" + c.category + "|" + team + "|" + c.channel
    return exists().where(
        s.conversation_id == c.id,
        s.basis == basis,
        s.paused_at.is_(None),
        ~and_(s.resolution_state == ClockState.ACHIEVED.value, s.resolution_at.is_not(None)),
        or_(c.first_response_at.is_(None), *(s.next_response_state == state for state in _LIVE)),
    )


def _quick_append() -> Select[Any]:
    """Bump the seq of a quiet chat and insert the message (data-modifying CTEs, one round trip).

    Returns no row when a guard fails or the client id is stored; else the conversation's fields for
    the events and the ack, and the inserted seq (NULL when the client id raced in meanwhile).
    """
    c = _CONVERSATIONS.c
    bumped = (
        update(_CONVERSATIONS)
        .where(
            c.id == bindparam("conversation"),
            c.contact_id == bindparam("contact"),
            c.channel == ChannelKind.CHAT.value,
            or_(*(c.status == status for status in _QUIET_STATUSES)),  # no IN: rendered per call
            c.merged_into_id.is_(None),
            ~select(_MESSAGES.c.id)
            .where(
                _MESSAGES.c.conversation_id == bindparam("conversation"),
                _MESSAGES.c.client_id == bindparam("m_client_id"),
            )
            .exists(),
            _sla_unmoved(),
        )
        .values(
            last_seq=c.last_seq + 1,
            last_activity_at=bindparam("now", type_=c.last_activity_at.type),
            updated_at=bindparam("now", type_=c.updated_at.type),
        )
        .returning(c.last_seq, c.reference, c.status, c.priority, c.team_id, c.assignee_id)
        .cte("bumped")
    )
    inserted = insert_after_bump(bumped)
    return select(bumped, select(inserted.c.seq).scalar_subquery().label("inserted_seq"))


_QUICK_APPEND: Final = _quick_append()
_GIVE_BACK: Final = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation"), _CONVERSATIONS.c.last_seq == bindparam("seq"))
    .values(last_seq=_CONVERSATIONS.c.last_seq - 1)
)


@dataclass(frozen=True)
class QuickChat:
    """The chat's fields the statement returns: for the ack (reference, status, assignee) and the events."""

    id: uuid.UUID
    reference: str
    status: str
    priority: str
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None


@dataclass(frozen=True)
class QuickPosted:
    """The stored message and its chat as the statement left it."""

    message: Message
    chat: QuickChat
    # The staff and customer `message.created`, to publish (the message is durable already).
    events: tuple[Event, ...]


def _quiet_configuration(sessionmaker: async_sessionmaker[AsyncSession], staff_event: Event) -> bool:
    """Known from this process's caches: no trigger and no webhook endpoint reacts to the message.

    The caches are read again in the background shortly before they expire, so steady chat traffic
    keeps finding them (a miss sends every post of that moment down the general path at once).
    """
    if ACTIVE_TRIGGERS.fresh(None, margin=REFRESH_AHEAD_SECONDS) is None or (
        endpoints_want(staff_event, margin=REFRESH_AHEAD_SECONDS) is None
    ):
        _refresh_soon(sessionmaker)
    triggers = ACTIVE_TRIGGERS.fresh(None)
    if triggers is None or any(rule.on == TriggerOn.CUSTOMER_MESSAGE for rule in triggers):
        return False
    return endpoints_want(staff_event) is False


def _refresh_soon(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Read the triggers and webhook endpoints into their caches, one read at a time per process."""
    if any(not task.done() for task in _refreshing):
        return
    _refreshing.clear()
    task = asyncio.get_running_loop().create_task(_refresh(sessionmaker))
    _refreshing.add(task)


async def _refresh(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    try:
        async with sessionmaker() as session:
            ACTIVE_TRIGGERS.invalidate_if_expiring(None, REFRESH_AHEAD_SECONDS)
            await load_active_triggers(session, frozenset())
            ACTIVE_ENDPOINTS.invalidate_if_expiring(None, REFRESH_AHEAD_SECONDS)
            await ACTIVE_ENDPOINTS.get(session, None, load_endpoints)
    except Exception:  # a database hiccup: the general path carries on and fills them later
        log.warning("quick_post_refresh_failed", exc_info=True)


def _uuid(value: uuid.UUID | None) -> uuid.UUID | None:
    # The driver's UUID subclass, as the ORM would have it (plain uuid.UUID).
    return None if value is None else uuid.UUID(int=value.int)


async def try_quick_post(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    contact_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: str,
    client_id: str,
) -> QuickPosted | None:
    """Store the customer's message if the chat is quiet (see the module); None: nothing was written,
    take the general path (which also answers a resend of a stored client id).

    The message is committed on return; the caller publishes `events`, after acknowledging it to the
    customer (so the customer's copy, coming back from another node, finds it sent already).
    """
    if engine.dialect.name != "postgresql" or not client_id:
        return None
    now: datetime = utcnow()
    actor = CustomerActor(contact_id=contact_id)
    values = new_message_values(
        conversation_id,
        actor,
        NewMessage(body=body, client_id=client_id),
        author=AuthorKind.CUSTOMER,
        channel=ChannelKind.CHAT,
        seq=0,
        created_at=now,
    )
    data = values["data"]
    if isinstance(data, dict) and data.get(REDACTED_KEY):
        return None
    params = {f"m_{key}": value for key, value in values.items() if key != "seq"}
    params |= {"conversation": conversation_id, "contact": contact_id, "now": now}
    if not _quiet_configuration(sessionmaker, _STAFF_MESSAGE):
        return None
    row = await fetch_row(engine, _QUICK_APPEND, params)
    if row is None:
        return None
    if row["inserted_seq"] is None:
        # The client id raced in from another transaction after the check: give the seq back.
        async with engine.begin() as connection:  # rare: through SQLAlchemy, which stamps updated_at
            await connection.execute(_GIVE_BACK, {"conversation": conversation_id, "seq": row["last_seq"]})
        return None
    values["seq"] = row["inserted_seq"]
    message = Message(**values)
    set_committed_value(message, "attachments", [])
    chat = QuickChat(
        id=conversation_id,
        reference=row["reference"],
        status=row["status"],
        priority=row["priority"],
        team_id=_uuid(row["team_id"]),
        assignee_id=_uuid(row["assignee_id"]),
    )
    # Unvalidated: every field comes from this module or the stored row (tests compare these with the
    # general path's events).
    return QuickPosted(message, chat, tuple(message_events(chat, message, validate=False)))
