"""Named inbox views: each is a pure WHERE clause, always ANDed with the actor's visibility.

Status groups (why each view uses which):
- ACTIVE (new, open, on_hold): support owes work. "mine", "my_teams" and "unassigned" show these;
  a pending conversation waits on the customer and has its own view ("waiting").
- OPEN (new, open, pending, on_hold): not yet solved. "all_open", "sla", "by_channel" and
  "by_category" show these. Solved and closed conversations appear in no view (search finds them).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.automation.views import SavedViewFilters
from kefu.contacts.models import Contact, ContactIdentity
from kefu.conversations.access import visible_conversations
from kefu.conversations.models import Conversation, ConversationTag
from kefu.conversations.states import Category, Priority, Status
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput
from kefu.db.base import table_of
from kefu.inboxes.models import ChannelKind, Team
from kefu.sla.models import ConversationSla
from kefu.sla.service import needs_attention as sla_needs_attention

ACTIVE_STATUSES: tuple[Status, ...] = (Status.NEW, Status.OPEN, Status.ON_HOLD)
OPEN_STATUSES: tuple[Status, ...] = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
# "Due soon" for the SLA view: enough warning to act before the deadline passes.
SLA_SOON = timedelta(minutes=30)
MAX_LIMIT = 100
MAX_TEXT = 200


class ViewName(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    MY_TEAMS = "my_teams"
    ALL_OPEN = "all_open"
    WAITING = "waiting"  # pending: waiting on the customer
    SLA = "sla"  # breaching or due within SLA_SOON
    BY_CHANNEL = "by_channel"
    BY_CATEGORY = "by_category"
    SAVED = "saved"  # no base restriction: an agent's saved filters decide everything


@dataclass(frozen=True)
class View:
    """A view with its parameter (`channel` for by_channel, `category` for by_category)."""

    name: ViewName
    channel: ChannelKind | None = None
    category: Category | None = None

    def __post_init__(self) -> None:
        if (self.name == ViewName.BY_CHANNEL) != (self.channel is not None):
            raise InvalidInput("by_channel needs a channel", fields={"view": "channel required"})
        if (self.name == ViewName.BY_CATEGORY) != (self.category is not None):
            raise InvalidInput("by_category needs a category", fields={"view": "category required"})


Assignee = Literal["me", "none", "any"] | uuid.UUID


@dataclass(frozen=True)
class ViewFilters:
    """Extra narrowing on top of a view (the same vocabulary as saved views)."""

    statuses: tuple[Status, ...] | None = None
    assignee: Assignee = "any"
    team_id: uuid.UUID | None = None
    category: Category | None = None
    channel: ChannelKind | None = None
    priority: Priority | None = None
    tag: str | None = None
    text: str | None = None
    sla_attention: bool = False


@dataclass(frozen=True)
class InboxRow:
    id: uuid.UUID
    reference: str
    subject: str
    status: Status
    priority: Priority
    category: Category
    channel: ChannelKind
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    team_id: uuid.UUID | None
    team_name: str | None
    customer_name: str
    last_activity_at: datetime
    sla_next_due_at: datetime | None
    sla_breached: bool


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


# --- SLA state (owned by kefu.sla) -----------------------------------------------------------------


def sla_table() -> Table:
    """The `conversation_sla` table."""
    return table_of(ConversationSla)


def needs_attention(now: datetime, soon: timedelta = SLA_SOON) -> ColumnElement[bool]:
    """Conversations whose SLA clock is breached and running, or due within `soon`."""
    return sla_needs_attention(now, soon)


def sla_breached(sla: FromClause) -> ColumnElement[bool]:
    """A running clock is past its deadline."""
    return sla.c.overdue.is_(True)


# --- clauses --------------------------------------------------------------------------------------


def view_clause(actor: AgentActor, view: View, now: datetime) -> ColumnElement[bool]:
    """The WHERE clause of `view` for `actor` (visibility not included; see scoped_clause)."""
    name = view.name
    if name == ViewName.SAVED:
        return true()
    if name == ViewName.MINE:
        return and_(Conversation.assignee_id == actor.agent_id, Conversation.status.in_(ACTIVE_STATUSES))
    if name == ViewName.UNASSIGNED:
        return and_(Conversation.assignee_id.is_(None), Conversation.status.in_(ACTIVE_STATUSES))
    if name == ViewName.MY_TEAMS:
        if not actor.team_ids:
            return false()
        return and_(
            Conversation.team_id.in_(sorted(actor.team_ids)), Conversation.status.in_(ACTIVE_STATUSES)
        )
    if name == ViewName.WAITING:
        return Conversation.status == Status.PENDING
    open_ = Conversation.status.in_(OPEN_STATUSES)
    if name == ViewName.SLA:
        return and_(open_, needs_attention(now))
    if name == ViewName.BY_CHANNEL:
        return and_(open_, Conversation.channel == view.channel)
    if name == ViewName.BY_CATEGORY:
        return and_(open_, Conversation.category == view.category)
    return open_


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def filters_clause(actor: AgentActor, filters: ViewFilters, now: datetime) -> ColumnElement[bool]:
    """The WHERE clause of saved-view style filters (ANDed onto a view)."""
    terms: list[ColumnElement[bool]] = []
    if filters.statuses:
        terms.append(Conversation.status.in_(filters.statuses))
    if filters.assignee == "me":
        terms.append(Conversation.assignee_id == actor.agent_id)
    elif filters.assignee == "none":
        terms.append(Conversation.assignee_id.is_(None))
    elif isinstance(filters.assignee, uuid.UUID):
        terms.append(Conversation.assignee_id == filters.assignee)
    for column, value in (
        (Conversation.team_id, filters.team_id),
        (Conversation.category, filters.category),
        (Conversation.channel, filters.channel),
        (Conversation.priority, filters.priority),
    ):
        if value is not None:
            terms.append(column == value)
    if filters.tag:
        terms.append(
            exists().where(
                ConversationTag.conversation_id == Conversation.id, ConversationTag.tag == filters.tag.lower()
            )
        )
    text = (filters.text or "").strip()
    if text:
        if len(text) > MAX_TEXT or "\x00" in text:
            raise InvalidInput("filter text is too long or malformed", fields={"text": "invalid"})
        terms.append(func.lower(Conversation.subject).like(_like(text), escape="\\"))
    if filters.sla_attention:
        terms.append(needs_attention(now))
    return and_(true(), *terms)


def scoped_clause(
    actor: AgentActor, view: View, filters: ViewFilters | None = None, *, now: datetime | None = None
) -> ColumnElement[bool]:
    """View ∧ filters ∧ visibility: what list_view lists and view_counts counts."""
    now = now or utcnow()
    clause = and_(visible_conversations(actor), view_clause(actor, view, now))
    return and_(clause, filters_clause(actor, filters, now)) if filters else clause


# --- keyset cursor (same shape as kefu.conversations.service's) -----------------------------------


def encode_cursor(at: datetime, ident: uuid.UUID) -> str:
    """An opaque cursor for the row after (at, ident) in (last_activity_at desc, id desc) order."""
    raw = json.dumps([at.isoformat(), str(ident)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (last_activity_at, id) in a cursor; InvalidInput when it is not one of ours."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", fields={"cursor": "not a cursor returned by this API"}) from None


# --- the list -------------------------------------------------------------------------------------


def _customer_name() -> ColumnElement[str]:
    # Contacts first reached by email often have no name: show their first handle instead.
    first_handle = (
        select(ContactIdentity.value)
        .where(ContactIdentity.contact_id == Conversation.contact_id)
        .order_by(ContactIdentity.kind, ContactIdentity.value)
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return func.coalesce(func.nullif(Contact.name, ""), first_handle, "")


def inbox_rows_query(where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """The columns of an inbox row for conversations matching `where`, names joined (no N+1)."""
    # An alias: `where` may hold a correlated EXISTS over conversation_sla (needs_attention).
    sla = sla_table().alias("sla")
    return (
        select(
            Conversation.id,
            Conversation.reference,
            Conversation.subject,
            Conversation.status,
            Conversation.priority,
            Conversation.category,
            Conversation.channel,
            Conversation.assignee_id,
            Agent.name,
            Conversation.team_id,
            Team.name,
            _customer_name(),
            Conversation.last_activity_at,
            sla.c.next_due_at,
            sla_breached(sla),
        )
        .select_from(Conversation)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
        .outerjoin(Team, Team.id == Conversation.team_id)
        .outerjoin(sla, sla.c.conversation_id == Conversation.id)
        .where(where)
    )


def inbox_row(values: tuple[object, ...]) -> InboxRow:
    """An InboxRow from a row of inbox_rows_query."""
    (ident, ref, subject, status, priority, category, channel, assignee_id, assignee_name, team_id) = values[
        :10
    ]
    team_name, customer, at, due, breached = values[10:]
    return InboxRow(
        id=cast(uuid.UUID, ident),
        reference=cast(str, ref),
        subject=cast(str, subject),
        status=Status(cast(str, status)),
        priority=Priority(cast(str, priority)),
        category=Category(cast(str, category)),
        channel=ChannelKind(cast(str, channel)),
        assignee_id=cast(uuid.UUID | None, assignee_id),
        assignee_name=cast(str | None, assignee_name),
        team_id=cast(uuid.UUID | None, team_id),
        team_name=cast(str | None, team_name),
        customer_name=cast(str, customer or ""),
        last_activity_at=cast(datetime, at),
        sla_next_due_at=cast(datetime | None, due),
        sla_breached=bool(breached),
    )


async def list_view(
    session: AsyncSession,
    actor: AgentActor,
    view: View | ViewName,
    *,
    cursor: str | None = None,
    limit: int = 50,
    filters: ViewFilters | None = None,
    now: datetime | None = None,
) -> InboxPage:
    """One page of a view, most recently active first (one query; the caller is staff)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", fields={"limit": "out of range"})
    view = view if isinstance(view, View) else View(view)
    query = inbox_rows_query(scoped_clause(actor, view, filters, now=now))
    if cursor:
        at, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < ident),
            )
        )
    query = query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit + 1)
    rows = [inbox_row(tuple(r)) for r in (await session.execute(query)).all()]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.last_activity_at, last.id)
    return InboxPage(rows=rows[:limit], next_cursor=next_cursor)


def filters_from_saved(saved: SavedViewFilters) -> ViewFilters:
    """The filters of a saved view (kefu.automation) as inbox filters."""
    return ViewFilters(
        statuses=tuple(saved.statuses) or None,
        assignee=saved.assignee,
        team_id=saved.team_id,
        category=saved.category,
        channel=saved.channel,
        priority=saved.priority,
        tag=saved.tag,
        text=saved.text,
        sla_attention=saved.sla == "attention",
    )
