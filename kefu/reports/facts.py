"""Facts: what one conversation contributes to the reports, derived from its durable rows.

`refresh_facts` replaces the facts of the given conversations (deleting those of conversations that
no longer exist) and returns every UTC hour whose rollups the change touched, old and new, so the
caller can recompute exactly those hours. Running it twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot.models import BotOutcomeEvent
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.core.clock import utcnow
from kefu.ratings.models import SatisfactionRating
from kefu.reports.models import conversation_facts, reply_facts
from kefu.schedules.calendar import BusinessCalendar
from kefu.schedules.service import get_calendar_for_team
from kefu.sla.models import ClockState, ConversationSla

CHUNK: Final = 500
MET: Final = "met"
BREACHED: Final = "breached"


def hour_of(at: datetime) -> datetime:
    """The UTC hour that contains `at`."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def business_seconds(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Business seconds from `start` to `end` (0 if `end` is not after `start`)."""
    if end <= start:
        return 0.0
    return calendar.business_time_between(start, end).total_seconds()


@dataclass
class _Inputs:
    messages: dict[uuid.UUID, list[Any]] = field(default_factory=lambda: defaultdict(list))
    slas: dict[uuid.UUID, Any] = field(default_factory=dict)
    ratings: dict[uuid.UUID, Any] = field(default_factory=dict)
    bot: dict[uuid.UUID, set[str]] = field(default_factory=lambda: defaultdict(set))


async def _load_inputs(session: AsyncSession, ids: Sequence[uuid.UUID]) -> _Inputs:
    inputs = _Inputs()
    messages = await session.execute(
        select(
            Message.conversation_id,
            Message.seq,
            Message.author_kind,
            Message.author_agent_id,
            Message.created_at,
        )
        .where(
            Message.conversation_id.in_(ids),
            Message.kind == MessageKind.REPLY,
            Message.author_kind.in_([AuthorKind.CUSTOMER, AuthorKind.AGENT]),
        )
        .order_by(Message.conversation_id, Message.seq)
    )
    for row in messages:
        inputs.messages[row.conversation_id].append(row)
    slas = await session.execute(
        select(
            ConversationSla.conversation_id,
            ConversationSla.first_response_state,
            ConversationSla.first_response_breached,
            ConversationSla.resolution_state,
            ConversationSla.resolution_breached,
            ConversationSla.next_response_met,
            ConversationSla.next_response_missed,
        ).where(ConversationSla.conversation_id.in_(ids))
    )
    inputs.slas = {row.conversation_id: row for row in slas}
    ratings = await session.execute(
        select(
            SatisfactionRating.conversation_id,
            SatisfactionRating.score,
            SatisfactionRating.agent_id,
            SatisfactionRating.created_at,
        ).where(SatisfactionRating.conversation_id.in_(ids))
    )
    inputs.ratings = {row.conversation_id: row for row in ratings}
    outcomes = await session.execute(
        select(BotOutcomeEvent.conversation_id, BotOutcomeEvent.outcome)
        .where(BotOutcomeEvent.conversation_id.in_(ids))
        .group_by(BotOutcomeEvent.conversation_id, BotOutcomeEvent.outcome)
    )
    for conversation_id, outcome in outcomes:
        inputs.bot[conversation_id].add(outcome)
    return inputs


def _sla_outcome(state: str | None, breached: bool) -> str | None:
    if breached:
        return BREACHED
    return MET if state == ClockState.ACHIEVED else None


def _replies(conversation: Any, messages: list[Any], calendar: BusinessCalendar) -> list[dict[str, Any]]:
    """Agent replies that ended a customer's wait, with the wait in business seconds."""
    rows: list[dict[str, Any]] = []
    waiting_since: datetime | None = None
    answered = False
    for message in messages:
        if message.author_kind == AuthorKind.CUSTOMER:
            if waiting_since is None:
                # The first wait starts when the conversation was opened.
                waiting_since = conversation.created_at if not answered else message.created_at
            continue
        if waiting_since is not None:
            rows.append(
                {
                    "conversation_id": conversation.id,
                    "seq": message.seq,
                    "agent_id": message.author_agent_id,
                    "team_id": conversation.team_id,
                    "channel": conversation.channel,
                    "category": conversation.category,
                    "replied_at": message.created_at,
                    "replied_hour": hour_of(message.created_at),
                    "is_first": not rows,
                    "wait_seconds": business_seconds(calendar, waiting_since, message.created_at),
                }
            )
            waiting_since = None
        answered = True
    return rows


def _fact(
    conversation: Any,
    inputs: _Inputs,
    calendar: BusinessCalendar,
    replies: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    first = next((r for r in replies if r["is_first"]), None)
    sla = inputs.slas.get(conversation.id)
    rating = inputs.ratings.get(conversation.id)
    outcomes = inputs.bot.get(conversation.id, set())
    # A reopened conversation keeps its old solved_at until solved again: not resolved meanwhile.
    finished = conversation.status in (Status.SOLVED, Status.CLOSED)
    solved_at: datetime | None = conversation.solved_at if finished else None
    return {
        "conversation_id": conversation.id,
        "team_id": conversation.team_id,
        "channel": conversation.channel,
        "category": conversation.category,
        "assignee_id": conversation.assignee_id,
        "status": conversation.status,
        "created_at": conversation.created_at,
        "created_hour": hour_of(conversation.created_at),
        "first_response_at": first["replied_at"] if first else None,
        "first_response_hour": first["replied_hour"] if first else None,
        "first_response_seconds": first["wait_seconds"] if first else None,
        "solved_at": solved_at,
        "solved_hour": hour_of(solved_at) if solved_at else None,
        "resolution_seconds": (
            business_seconds(calendar, conversation.created_at, solved_at) if solved_at else None
        ),
        "sla_first": _sla_outcome(sla.first_response_state, sla.first_response_breached) if sla else None,
        "sla_resolution": _sla_outcome(sla.resolution_state, sla.resolution_breached) if sla else None,
        "sla_next_met": sla.next_response_met if sla else 0,
        "sla_next_missed": sla.next_response_missed if sla else 0,
        "rating_score": rating.score if rating else None,
        "rating_agent_id": rating.agent_id if rating else None,
        "rated_hour": hour_of(rating.created_at) if rating else None,
        "bot_answered": "answered" in outcomes,
        "bot_deflected": "deflected" in outcomes,
        "bot_handed_over": "handed_over" in outcomes,
        "computed_at": now,
    }


FACT_HOURS: Final = ("created_hour", "first_response_hour", "solved_hour", "rated_hour")


async def _old_hours(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[datetime]:
    hours: set[datetime] = set()
    c = conversation_facts.c
    for row in await session.execute(
        select(*(c[name] for name in FACT_HOURS)).where(c.conversation_id.in_(ids))
    ):
        hours.update(h for h in row if h is not None)
    r = reply_facts.c
    found = await session.scalars(select(r.replied_hour).where(r.conversation_id.in_(ids)).distinct())
    hours.update(found)
    return hours


async def _refresh_chunk(session: AsyncSession, ids: Sequence[uuid.UUID], now: datetime) -> set[datetime]:
    dirty = await _old_hours(session, ids)
    await session.execute(delete(reply_facts).where(reply_facts.c.conversation_id.in_(ids)))
    await session.execute(delete(conversation_facts).where(conversation_facts.c.conversation_id.in_(ids)))
    conversations = (
        await session.execute(
            select(
                Conversation.id,
                Conversation.team_id,
                Conversation.channel,
                Conversation.category,
                Conversation.assignee_id,
                Conversation.status,
                Conversation.created_at,
                Conversation.solved_at,
            ).where(Conversation.id.in_(ids))
        )
    ).all()
    if not conversations:
        return dirty
    inputs = await _load_inputs(session, ids)
    facts: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    for conversation in conversations:
        calendar = await get_calendar_for_team(session, conversation.team_id)
        rows = _replies(conversation, inputs.messages.get(conversation.id, []), calendar)
        fact = _fact(conversation, inputs, calendar, rows, now)
        facts.append(fact)
        replies.extend(rows)
        dirty.update(fact[name] for name in FACT_HOURS if fact[name] is not None)
        dirty.update(row["replied_hour"] for row in rows)
    await session.execute(insert(conversation_facts), facts)
    if replies:
        await session.execute(insert(reply_facts), replies)
    return dirty


async def refresh_facts(session: AsyncSession, ids: Iterable[uuid.UUID]) -> set[datetime]:
    """Recompute the facts of `ids`; returns the UTC hours whose rollups are now stale."""
    unique = sorted(set(ids))
    now = utcnow()
    dirty: set[datetime] = set()
    for start in range(0, len(unique), CHUNK):
        dirty |= await _refresh_chunk(session, unique[start : start + CHUNK], now)
    return dirty


async def count_facts(session: AsyncSession) -> int:
    """How many conversations have facts (diagnostics and tests)."""
    return int(await session.scalar(select(func.count()).select_from(conversation_facts)) or 0)
