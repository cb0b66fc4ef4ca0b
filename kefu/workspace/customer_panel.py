"""The customer panel beside a conversation: who this is, what else they asked, what the exchange knows.

Exchange data is best effort: a slow or failing back office yields the panel with `exchange_error`
set, never a broken conversation page. Account data is looked up only by an exchange uid identity
on the contact (proven), never by a uid typed into a form (claimed); orders and transactions named
by form fields are shown with `foreign_reference` set when they belong to another account, a
common social-engineering move.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.conversations.access import visible_conversations
from kefu.conversations.models import Conversation
from kefu.conversations.states import Category
from kefu.integrations.exchange.errors import ExchangeError
from kefu.integrations.exchange.port import ExchangePort
from kefu.integrations.exchange.schemas import Account, Deposit, Order, Withdrawal
from kefu.workspace.views import InboxRow, inbox_row, inbox_rows_query

OTHER_CONVERSATIONS = 10
RECENT = 5
EXCHANGE_TIMEOUT_SECONDS = 3.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IdentityItem:
    kind: IdentityKind
    value: str
    verified: bool


@dataclass(frozen=True)
class CustomerPanel:
    contact_id: uuid.UUID
    name: str
    identities: list[IdentityItem]
    other_conversations: list[InboxRow]
    exchange_uid: str | None = None
    account: Account | None = None
    order: Order | None = None
    transaction: Deposit | Withdrawal | None = None
    # True when the order/transaction named in the form belongs to another account.
    foreign_reference: bool = False
    recent_orders: list[Order] = field(default_factory=list)
    recent_deposits: list[Deposit] = field(default_factory=list)
    recent_withdrawals: list[Withdrawal] = field(default_factory=list)
    exchange_error: str | None = None


async def _identities(session: AsyncSession, contact_id: uuid.UUID) -> tuple[str, list[IdentityItem]]:
    rows = (
        await session.execute(
            select(Contact.name, ContactIdentity.kind, ContactIdentity.value, ContactIdentity.verified_at)
            .outerjoin(ContactIdentity, ContactIdentity.contact_id == Contact.id)
            .where(Contact.id == contact_id)
            .order_by(ContactIdentity.kind, ContactIdentity.value)
        )
    ).all()
    name = rows[0][0] if rows else ""
    items = [
        IdentityItem(IdentityKind(kind), value, verified_at is not None)
        for _name, kind, value, verified_at in rows
        if kind is not None
    ]
    return name, items


async def _other_conversations(
    session: AsyncSession, actor: AgentActor, conversation: Conversation
) -> list[InboxRow]:
    query = (
        inbox_rows_query(
            visible_conversations(actor)
            & (Conversation.contact_id == conversation.contact_id)
            & (Conversation.id != conversation.id)
        )
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(OTHER_CONVERSATIONS)
    )
    return [inbox_row(tuple(r)) for r in (await session.execute(query)).all()]


def _lookups(
    exchange: ExchangePort, uid: str | None, conversation: Conversation
) -> dict[str, Awaitable[Any]]:
    """The independent exchange calls this conversation's panel needs, by panel field."""
    calls: dict[str, Awaitable[Any]] = {}
    fields = conversation.form_fields or {}
    order_id, tx_hash = fields.get("order_id"), fields.get("tx_hash")
    category = conversation.category
    if category == Category.TRADING and isinstance(order_id, str):
        calls["order"] = exchange.get_order(order_id)
    if category in (Category.DEPOSIT, Category.WITHDRAWAL) and isinstance(tx_hash, str):
        calls["transaction"] = exchange.find_transaction(tx_hash)
    if uid is None:
        return calls
    calls["account"] = exchange.find_account(uid=uid)
    if category == Category.TRADING:
        calls["recent_orders"] = exchange.recent_orders(uid, limit=RECENT)
    if category == Category.DEPOSIT:
        calls["recent_deposits"] = exchange.recent_deposits(uid, limit=RECENT)
    if category in (Category.WITHDRAWAL, Category.SECURITY):
        # A takeover report is first of all about money leaving the account.
        calls["recent_withdrawals"] = exchange.recent_withdrawals(uid, limit=RECENT)
    return calls


async def _ask_exchange(calls: dict[str, Awaitable[Any]]) -> tuple[dict[str, Any], str | None]:
    """Run the calls concurrently within the timeout; (answers that arrived, first error message)."""
    if not calls:
        return {}, None
    try:
        async with asyncio.timeout(EXCHANGE_TIMEOUT_SECONDS):
            answers = await asyncio.gather(*calls.values(), return_exceptions=True)
    except TimeoutError:
        return {}, "the exchange did not answer in time"
    found: dict[str, Any] = {}
    error: str | None = None
    for name, answer in zip(calls, answers, strict=True):
        if isinstance(answer, ExchangeError):
            error = error or answer.message
        elif isinstance(answer, BaseException):
            log.error("exchange_lookup_failed", lookup=name, error=repr(answer))
            error = error or "the exchange lookup failed"
        else:
            found[name] = answer
    return found, error


async def get_customer_panel(
    session: AsyncSession, actor: AgentActor, conversation: Conversation, exchange: ExchangePort | None
) -> CustomerPanel:
    """The panel for `conversation` (the caller has passed the access gate); `exchange` None skips it."""
    name, identities = await _identities(session, conversation.contact_id)
    others = await _other_conversations(session, actor, conversation)
    uid = next((i.value for i in identities if i.kind == IdentityKind.EXCHANGE_UID), None)
    panel = CustomerPanel(
        contact_id=conversation.contact_id,
        name=name,
        identities=identities,
        other_conversations=others,
        exchange_uid=uid,
    )
    if exchange is None:
        return panel
    found, error = await _ask_exchange(_lookups(exchange, uid, conversation))
    order = cast(Order | None, found.get("order"))
    transaction = cast(Deposit | Withdrawal | None, found.get("transaction"))
    owners = {named.uid for named in (order, transaction) if named is not None}
    return replace(
        panel,
        account=cast(Account | None, found.get("account")),
        order=order,
        transaction=transaction,
        foreign_reference=bool(owners) and owners != {uid},
        recent_orders=list(found.get("recent_orders", [])),
        recent_deposits=list(found.get("recent_deposits", [])),
        recent_withdrawals=list(found.get("recent_withdrawals", [])),
        exchange_error=error,
    )
