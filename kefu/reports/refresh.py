"""Keeping facts and rollups current: an incremental refresh by watermark, and full rebuilds.

Nothing is written on the conversation or message hot paths. The periodic job reads what changed
since its watermarks (conversations.last_activity_at, which every message and change bumps;
satisfaction_ratings.updated_at; chat_bot_outcomes.created_at), recomputes those conversations'
facts and the rollups of every hour they touch, and advances the watermarks, all in one transaction:
a crash loses nothing (the run is simply repeated) and a repeated run changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.chat.bot.models import BotOutcomeEvent
from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.db.uow import transaction
from kefu.ratings.models import SatisfactionRating
from kefu.reports.facts import refresh_facts
from kefu.reports.models import report_state
from kefu.reports.rollups import (
    mark_stale,
    month_of,
    next_month,
    recompute_hours,
    recompute_range,
    roll_up_months,
    stale_months,
)

# Rows are re-read this far behind the watermark: a transaction that stamped a row before the last
# run but committed after it is still seen. Re-reading is harmless (facts are replaced, not added).
OVERLAP: Final = timedelta(minutes=5)
BATCH: Final = 2000
TIME_BUDGET: Final = 20.0  # seconds of work per periodic run before leaving the rest to the next
LOCK: Final = "lock"
SOURCES: Final[tuple[tuple[str, Any, Any], ...]] = (
    # Every change the reports use appends a timeline message, which bumps last_activity_at; read
    # through the (status, last_activity_at) index with every status (no new index to maintain).
    ("conversations", Conversation.last_activity_at, Conversation.id),
    ("ratings", SatisfactionRating.updated_at, SatisfactionRating.conversation_id),
    ("bot", BotOutcomeEvent.created_at, BotOutcomeEvent.conversation_id),
)


async def take_lock(session: AsyncSession, *, wait: bool) -> bool:
    """Serialise refreshes and rebuilds (PostgreSQL row lock; SQLite serialises writers anyway).

    Without `wait`, returns False at once when another run holds the lock.
    """
    c = report_state.c
    query = select(c.name).where(c.name == LOCK).with_for_update(skip_locked=not wait)
    if (await session.execute(query)).first() is not None:
        return True
    if await session.scalar(select(func.count()).select_from(report_state).where(c.name == LOCK)):
        return False
    await session.execute(insert(report_state).values(name=LOCK, value=None))
    return True


async def _marks(session: AsyncSession) -> dict[str, datetime | None]:
    rows = await session.execute(select(report_state.c.name, report_state.c.value))
    return {str(name): value for name, value in rows}


async def _save_mark(session: AsyncSession, name: str, value: datetime, known: bool) -> None:
    if known:
        await session.execute(update(report_state).where(report_state.c.name == name).values(value=value))
    else:
        await session.execute(insert(report_state).values(name=name, value=value))


async def refresh_once(session: AsyncSession, now: datetime, *, batch: int = BATCH) -> tuple[int, bool]:
    """One batch of the incremental refresh (the caller holds the lock); (conversations, caught up).

    A watermark is where the next read starts (inclusive): `now - OVERLAP` once a source is caught
    up, else the time of the last row read.
    """
    marks = await _marks(session)
    ids: set[uuid.UUID] = set()
    caught_up = True
    new_marks: dict[str, datetime] = {}
    for name, stamp, conversation_id in SOURCES:
        query = select(conversation_id, stamp).where(stamp <= now).order_by(stamp).limit(batch)
        if stamp is Conversation.last_activity_at:
            query = query.where(Conversation.status.in_(list(Status)))
        mark = marks.get(name)
        if mark is not None:
            query = query.where(stamp >= mark)
        rows = (await session.execute(query)).all()
        ids.update(row[0] for row in rows)
        if len(rows) == batch:
            caught_up = False
            new_marks[name] = rows[-1][1]
        else:
            new_marks[name] = now - OVERLAP
    dirty = await refresh_facts(session, ids)
    # Month rows are left to `do_roll_up_stale_months`: re-summing a month every minute would cost
    # seconds; queries read a stale month's day rows meanwhile.
    await mark_stale(session, await recompute_hours(session, dirty, months=False), now)
    for name, value in new_marks.items():
        await _save_mark(session, name, value, name in marks)
    return len(ids), caught_up


async def do_refresh_reports(
    session: AsyncSession, now: datetime, *, batch: int = BATCH, budget: float = TIME_BUDGET
) -> int:
    """Bring facts and rollups up to `now`, in batches, for at most about `budget` seconds.

    Returns how many conversations were refreshed; 0 without work if another run is in progress.
    """
    if not await take_lock(session, wait=False):
        return 0
    started = time.monotonic()
    total = 0
    while True:
        count, caught_up = await refresh_once(session, now, batch=batch)
        total += count
        if caught_up or time.monotonic() - started > budget:
            return total


async def do_roll_up_stale_months(session: AsyncSession) -> int:
    """Recompute the month rows the refresh left stale; returns how many months (0 if locked)."""
    if not await take_lock(session, wait=False):
        return 0
    months = await stale_months(session)
    await roll_up_months(session, months)
    return len(months)


async def rebuild(
    sessionmaker: async_sessionmaker[AsyncSession],
    since: datetime,
    until: datetime | None = None,
    *,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute the facts of every conversation created in [since, until) and the rollups they touch.

    Each batch is its own transaction, so a rebuild can be stopped and started again at will.
    """
    after: tuple[datetime, uuid.UUID] | None = None
    total = 0
    dirty: set[datetime] = set()
    while True:
        query = (
            select(Conversation.created_at, Conversation.id)
            .where(Conversation.created_at >= since)
            .order_by(Conversation.created_at, Conversation.id)
            .limit(batch)
        )
        if until is not None:
            query = query.where(Conversation.created_at < until)
        if after is not None:
            query = query.where(
                (Conversation.created_at > after[0])
                | ((Conversation.created_at == after[0]) & (Conversation.id > after[1]))
            )
        async with transaction(sessionmaker) as session:
            rows = (await session.execute(query)).all()
            if not rows:
                break
            await take_lock(session, wait=True)
            dirty |= await refresh_facts(session, [row.id for row in rows])
        after = (rows[-1].created_at, rows[-1].id)
        total += len(rows)
        if progress:
            progress(len(rows))
    if dirty:
        await rebuild_rollups(sessionmaker, min(dirty), max(dirty) + timedelta(hours=1))
    return total


async def rebuild_rollups(
    sessionmaker: async_sessionmaker[AsyncSession], start: datetime, end: datetime
) -> None:
    """Recompute every rollup of the UTC hours in [start, end) from the facts, a month per transaction."""
    at = start
    while at < end:
        stop = min(next_month(month_of(at)), end)
        async with transaction(sessionmaker) as session:
            await take_lock(session, wait=True)
            await recompute_range(session, at, stop)
        at = stop
