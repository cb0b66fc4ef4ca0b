"""Is live chat answered right now, and how long would a new chat wait?

Online means: within the chat team's business hours, at least one active agent of that team is
online and below capacity (the same test routing uses to hand out work, kefu.routing.assignment).
The chat team is the team of the first active chat inbox; without one, every agent and the
organisation's default schedule count.

The wait estimate (docs/contact-page.md) is the median first-response time of recent chats, scaled by
how many "rounds" of free agent slots the current queue needs:

    base    = median(first_response_at − created_at) of web/chat conversations answered in the
              last 2 hours (at least 3 of them), else in the last 8 weeks, else no estimate
    rounds  = ceil((waiting + 1) / max(free slots, 1))
    minutes = max(1, ceil(base × rounds / 60))

where `waiting` counts new/open unassigned web and chat conversations and `free slots` is the sum of
(capacity − load) over the agents who are accepting.
"""

from __future__ import annotations

import math
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.routing.models import Presence
from kefu.routing.service import WORKING, list_agent_presence
from kefu.schedules.service import get_calendar_for_team

CHAT_CHANNELS: Final = (ChannelKind.WEB, ChannelKind.CHAT)
RECENT_WINDOW: Final = timedelta(hours=2)
HISTORY_WINDOW: Final = timedelta(weeks=8)
MIN_SAMPLES: Final = 3
# The newest answers are enough for a median; bounds the rows a page view reads.
MAX_SAMPLES: Final = 500

Basis = Literal["recent", "history", "none"]


@dataclass(frozen=True)
class WaitEstimate:
    """How long a new chat would wait for its first answer, and what the figure rests on."""

    minutes: int | None  # None: no answered chats to learn from yet
    waiting: int
    free_slots: int
    basis: Basis
    samples: int


@dataclass(frozen=True)
class LiveChatStatus:
    """Whether chat is answered now, by how many agents, and the current estimate."""

    online: bool
    within_hours: bool
    agents_available: int
    wait: WaitEstimate


@dataclass(frozen=True)
class _Availability:
    agents: int
    free_slots: int


async def chat_team_id(session: AsyncSession) -> uuid.UUID | None:
    """The team behind the first active chat inbox, or None (everyone answers chats)."""
    return await session.scalar(
        select(Inbox.team_id)
        .where(Inbox.channel == ChannelKind.CHAT, Inbox.is_active.is_(True), Inbox.team_id.is_not(None))
        .order_by(Inbox.created_at, Inbox.id)
        .limit(1)
    )


async def _availability(session: AsyncSession, team_id: uuid.UUID | None) -> _Availability:
    agents = 0
    free = 0
    for view in await list_agent_presence(session):
        if team_id is not None and team_id not in view.team_ids:
            continue
        if view.status == Presence.ONLINE and view.load < view.capacity:
            agents += 1
            free += view.capacity - view.load
    return _Availability(agents, free)


async def count_waiting(session: AsyncSession, *, opened_before: datetime | None = None) -> int:
    """New/open web and chat conversations nobody has been assigned yet (opened before a time, if given:
    how many are ahead of a waiting chat)."""
    statement = (
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.channel.in_(CHAT_CHANNELS),
            Conversation.assignee_id.is_(None),
            Conversation.status.in_(WORKING),
        )
    )
    if opened_before is not None:
        statement = statement.where(Conversation.created_at < opened_before)
    return int(await session.scalar(statement) or 0)


async def _response_seconds(session: AsyncSession, *, since: datetime, now: datetime) -> list[float]:
    rows = await session.execute(
        select(Conversation.created_at, Conversation.first_response_at)
        .where(
            Conversation.channel.in_(CHAT_CHANNELS),
            Conversation.first_response_at.is_not(None),
            Conversation.first_response_at >= since,
            Conversation.first_response_at <= now,
        )
        .order_by(Conversation.first_response_at.desc())
        .limit(MAX_SAMPLES)
    )
    return [
        max(0.0, (answered - created).total_seconds()) for created, answered in rows if answered is not None
    ]


async def _estimate(session: AsyncSession, *, now: datetime, free_slots: int) -> WaitEstimate:
    waiting = await count_waiting(session)
    basis: Basis = "recent"
    samples = await _response_seconds(session, since=now - RECENT_WINDOW, now=now)
    if len(samples) < MIN_SAMPLES:
        basis = "history"
        samples = await _response_seconds(session, since=now - HISTORY_WINDOW, now=now)
    if len(samples) < MIN_SAMPLES:
        return WaitEstimate(None, waiting, free_slots, "none", len(samples))
    base = statistics.median(samples)
    rounds = math.ceil((waiting + 1) / max(free_slots, 1))
    minutes = max(1, math.ceil(base * rounds / 60))
    return WaitEstimate(minutes, waiting, free_slots, basis, len(samples))


async def estimate_wait(session: AsyncSession, *, now: datetime) -> WaitEstimate:
    """The estimated wait of a chat started at `now` (tz-aware); reads only, never cached here."""
    available = await _availability(session, await chat_team_id(session))
    return await _estimate(session, now=now, free_slots=available.free_slots)


async def get_live_chat_status(session: AsyncSession, *, now: datetime) -> LiveChatStatus:
    """Online/offline at `now` and the wait estimate (uncached; the contact page caches it briefly)."""
    team_id = await chat_team_id(session)
    calendar = await get_calendar_for_team(session, team_id)
    within_hours = calendar.is_open(now)
    available = await _availability(session, team_id)
    wait = await _estimate(session, now=now, free_slots=available.free_slots)
    return LiveChatStatus(
        online=within_hours and available.agents > 0,
        within_hours=within_hours,
        agents_available=available.agents,
        wait=wait,
    )
