"""Reads: policies, a conversation's SLA card, and the "needs attention" filter for lists."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.core.errors import NotFound
from kefu.sla.models import ConversationSla, SlaPolicy, Target
from kefu.sla.schemas import ClockOut, ConversationSlaOut


async def list_policies(session: AsyncSession) -> list[SlaPolicy]:
    """Every policy in the order they are tried."""
    rows = await session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.created_at))
    return list(rows.all())


async def get_policy(session: AsyncSession, policy_id: uuid.UUID) -> SlaPolicy:
    """The policy; NotFound if missing."""
    policy = await session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("SLA policy not found")
    return policy


async def get_conversation_sla(session: AsyncSession, conversation_id: uuid.UUID) -> ConversationSla | None:
    """The SLA row of a conversation (the caller has passed the access gate); None if it has none."""
    return await session.get(ConversationSla, conversation_id)


def sla_out(conversation_id: uuid.UUID, row: ConversationSla | None) -> ConversationSlaOut:
    """The console's SLA card (a conversation without a row shows no clocks)."""
    if row is None:
        row = ConversationSla(
            conversation_id=conversation_id,
            targets={},
            paused_seconds=0,
            next_response_met=0,
            next_response_missed=0,
            first_response_breached=False,
            next_response_breached=False,
            resolution_breached=False,
            overdue=False,
        )

    def clock(target: Target) -> ClockOut:
        minutes = (row.targets or {}).get(target.value)
        return ClockOut(
            target_minutes=None if minutes is None else int(minutes),
            state=getattr(row, f"{target.value}_state"),
            due_at=getattr(row, f"{target.value}_due_at"),
            breached=bool(getattr(row, f"{target.value}_breached")),
        )

    return ConversationSlaOut(
        conversation_id=conversation_id,
        policy_id=row.policy_id,
        first_response=clock(Target.FIRST_RESPONSE),
        next_response=clock(Target.NEXT_RESPONSE),
        resolution=clock(Target.RESOLUTION),
        first_response_at=row.first_response_at,
        resolution_at=row.resolution_at,
        next_response_met=row.next_response_met,
        next_response_missed=row.next_response_missed,
        paused=row.paused_at is not None,
        paused_at=row.paused_at,
        paused_seconds=row.paused_seconds,
        next_due_at=row.next_due_at,
        next_due_target=row.next_due_target,
        breached_at=row.breached_at,
        warned_at=row.warned_at,
        overdue=row.overdue,
    )


def needs_attention(now: datetime, soon: timedelta) -> ColumnElement[bool]:
    """WHERE clause over `Conversation`: a breached clock still runs, or a deadline falls before now+soon."""
    return exists().where(
        ConversationSla.conversation_id == Conversation.id,
        or_(ConversationSla.overdue.is_(True), ConversationSla.next_due_at <= now + soon),
    )
