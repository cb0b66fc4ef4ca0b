"""The console's search box: a reference, an email, an order id, a tx hash, or words.

Identifier-like queries use exact, indexed lookups (reference, contact identity, the form-field
expression indexes on conversations); when such a lookup finds nothing the query is searched as
text too, since "BTC2024" may as well be a word in a message. Text search is a case-insensitive
LIKE over subjects and message bodies: a scan of the messages the actor may search, fine for a
console search box, not for a public endpoint (the search/ package brings full-text indexes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import JSON, ColumnElement, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor
from kefu.contacts.identities import normalise_email
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.access import can_see_internal, visible_conversations
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.core.errors import InvalidInput
from kefu.workspace.views import InboxRow, inbox_row, inbox_rows_query

MAX_QUERY = 200
MAX_LIMIT = 100
_REFERENCE = re.compile(r"^KF-\d{6,12}$", re.IGNORECASE)
# Same shapes as kefu.conversations.forms (TxHash, OrderId); a digit tells an id from a word.
_TX_HASH = re.compile(r"^(0x)?[A-Za-z0-9]{32,100}$")
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_DIGIT = re.compile(r"\d")


class QueryKind(StrEnum):
    REFERENCE = "reference"
    EMAIL = "email"
    ORDER_ID = "order_id"
    TX_HASH = "tx_hash"
    TEXT = "text"


@dataclass(frozen=True)
class SearchResults:
    kind: QueryKind  # how the query was understood (the last lookup tried)
    rows: list[InboxRow]


def form_field(name: str) -> ColumnElement[str]:
    """`form_fields[name]` as text, spelled exactly like the expression indexes on conversations."""
    key = bindparam(None, name, type_=JSON.JSONStrIndexType(), literal_execute=True)
    expression: ColumnElement[str] = Conversation.form_fields[key].as_string()
    return expression


def classify(query: str) -> QueryKind:
    """What a (stripped) query looks like; TEXT when nothing more specific fits."""
    if _REFERENCE.match(query):
        return QueryKind.REFERENCE
    if "@" in query and " " not in query:
        return QueryKind.EMAIL
    if _DIGIT.search(query):
        if _TX_HASH.match(query):
            return QueryKind.TX_HASH
        if _ORDER_ID.match(query):
            return QueryKind.ORDER_ID
    return QueryKind.TEXT


def _clean(query: str) -> str:
    if "\x00" in query:
        raise InvalidInput("the query contains a NUL character", fields={"q": "invalid character"})
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"the query is longer than {MAX_QUERY} characters", fields={"q": "too long"})
    return query.strip()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _identifier_clause(kind: QueryKind, query: str) -> ColumnElement[bool] | None:
    if kind == QueryKind.REFERENCE:
        return Conversation.reference == query.upper()
    if kind == QueryKind.EMAIL:
        try:
            email = normalise_email(query)
        except InvalidInput:
            return None
        holders = select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == IdentityKind.EMAIL, ContactIdentity.value == email
        )
        return Conversation.contact_id.in_(holders)
    if kind == QueryKind.TX_HASH:
        # Hex hashes are pasted in either case; a 32-64 character id may also be an order id.
        return or_(func.lower(form_field("tx_hash")) == query.lower(), form_field("order_id") == query)
    if kind == QueryKind.ORDER_ID:
        return form_field("order_id") == query
    return None


def _text_clause(actor: Actor, query: str) -> ColumnElement[bool]:
    pattern = _like(query)
    kinds = [MessageKind.REPLY, MessageKind.NOTE] if can_see_internal(actor) else [MessageKind.REPLY]
    in_messages = select(Message.conversation_id).where(
        func.lower(Message.body).like(pattern, escape="\\"), Message.kind.in_(kinds)
    )
    return or_(
        func.lower(Conversation.subject).like(pattern, escape="\\"),
        Conversation.id.in_(in_messages),
    )


async def _run(
    session: AsyncSession, actor: Actor, clause: ColumnElement[bool], limit: int
) -> list[InboxRow]:
    query = (
        inbox_rows_query(visible_conversations(actor) & clause)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [inbox_row(tuple(r)) for r in (await session.execute(query)).all()]


async def search_conversations(
    session: AsyncSession, actor: Actor, query: str, *, limit: int = 20
) -> SearchResults:
    """Conversations matching `query` that `actor` may see, most recently active first.

    InvalidInput for a NUL character or a query over MAX_QUERY characters; empty for a blank one.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", fields={"limit": "out of range"})
    query = _clean(query)
    if not query:
        return SearchResults(QueryKind.TEXT, [])
    kind = classify(query)
    exact = _identifier_clause(kind, query)
    if exact is not None:
        rows = await _run(session, actor, exact, limit)
        if rows or kind in (QueryKind.REFERENCE, QueryKind.EMAIL):
            return SearchResults(kind, rows)
    return SearchResults(QueryKind.TEXT, await _run(session, actor, _text_clause(actor, query), limit))
