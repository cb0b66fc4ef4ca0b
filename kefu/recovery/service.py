"""Reading recovery cases. Callers have passed a gate of kefu.recovery.access first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import Agent
from kefu.conversations.models import Conversation
from kefu.integrations.exchange.errors import ExchangeError
from kefu.integrations.exchange.port import ExchangePort
from kefu.integrations.exchange.schemas import Account
from kefu.recovery.models import OPEN_STATUSES, RecoveryCase, RecoveryDocument, RecoveryStatus

CaseState = Literal["open", "decided", "all"]


@dataclass(frozen=True)
class CaseItem:
    """A case with what its list row and page show besides the case itself."""

    case: RecoveryCase
    reference: str
    reviewer_name: str | None


async def list_cases(session: AsyncSession, *, state: CaseState = "open", limit: int = 100) -> list[CaseItem]:
    """Cases in `state`: open ones oldest first (first come, first served), decided ones newest first."""
    query = (
        select(RecoveryCase, Conversation.reference, Agent.name)
        .join(Conversation, Conversation.id == RecoveryCase.conversation_id)
        .outerjoin(Agent, Agent.id == RecoveryCase.reviewer_id)
        .limit(limit)
    )
    if state == "open":
        query = query.where(RecoveryCase.status.in_(OPEN_STATUSES)).order_by(
            RecoveryCase.created_at, RecoveryCase.id
        )
    elif state == "decided":
        query = query.where(RecoveryCase.status.not_in(OPEN_STATUSES)).order_by(
            RecoveryCase.decided_at.desc(), RecoveryCase.id
        )
    else:
        open_first = when((RecoveryCase.status.in_(OPEN_STATUSES), 0), else_=1)
        query = query.order_by(open_first, RecoveryCase.created_at.desc(), RecoveryCase.id)
    rows = await session.execute(query)
    return [CaseItem(case, reference, name) for case, reference, name in rows]


async def count_open_cases(session: AsyncSession) -> int:
    """How many cases wait for a decision."""
    count = await session.scalar(
        select(func.count()).select_from(RecoveryCase).where(RecoveryCase.status.in_(OPEN_STATUSES))
    )
    return int(count or 0)


async def get_case_item(session: AsyncSession, case: RecoveryCase) -> CaseItem:
    """`case` with its conversation's reference and its reviewer's name."""
    reference = await session.scalar(
        select(Conversation.reference).where(Conversation.id == case.conversation_id)
    )
    name = (
        await session.scalar(select(Agent.name).where(Agent.id == case.reviewer_id))
        if case.reviewer_id
        else None
    )
    return CaseItem(case, reference or "", name)


async def list_documents(session: AsyncSession, case_id: uuid.UUID) -> list[RecoveryDocument]:
    """The case's documents in form order (front, back, selfie)."""
    rows = await session.scalars(select(RecoveryDocument).where(RecoveryDocument.case_id == case_id))
    order = {"id_front": 0, "id_back": 1, "selfie": 2}
    return sorted(rows, key=lambda d: order.get(str(d.kind), 9))


async def get_case_for_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> RecoveryCase | None:
    """The recovery case opened with a conversation, if any (no permission check)."""
    return await session.scalar(select(RecoveryCase).where(RecoveryCase.conversation_id == conversation_id))


def is_decided(case: RecoveryCase) -> bool:
    """True once the case was approved or rejected."""
    return RecoveryStatus(case.status) not in OPEN_STATUSES


@dataclass(frozen=True)
class AccountLookup:
    """What the exchange says about the account a case names (by UID, else by email)."""

    account: Account | None
    searched_by: str | None  # "uid", "email" or None when the case names nothing to look up
    error: str | None = None


async def lookup_account(exchange: ExchangePort, case: RecoveryCase) -> AccountLookup:
    """The exchange account matching the case's UID (or, without one, its email); errors as text."""
    by, value = ("uid", case.exchange_uid) if case.exchange_uid else ("email", case.email)
    if not value:
        return AccountLookup(None, None)
    try:
        account = await (
            exchange.find_account(uid=value) if by == "uid" else exchange.find_account(email=value)
        )
    except ExchangeError as exc:
        return AccountLookup(None, by, exc.message)
    return AccountLookup(account, by)
