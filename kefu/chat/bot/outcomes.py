"""Recording and counting the bot's outcomes (answers, deflections, handovers)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot.engine import BotTurn, Outcome
from kefu.chat.bot.models import BotOutcomeEvent
from kefu.core.clock import utcnow


async def record_outcome(session: AsyncSession, conversation_id: uuid.UUID, turn: BotTurn) -> None:
    """Add the turn's outcome for `conversation_id` (an existing conversation); nothing when it has none.

    Never commits: the caller's transaction stores it with the bot's messages.
    """
    if turn.outcome is None:
        return
    session.add(
        BotOutcomeEvent(
            conversation_id=conversation_id,
            outcome=Outcome(turn.outcome).value,
            category=turn.category,
            created_at=utcnow(),
        )
    )


async def outcome_counts(session: AsyncSession, since: datetime) -> dict[str, int]:
    """How many of each outcome were recorded at or after `since` (tz-aware); every outcome is a key."""
    rows = await session.execute(
        select(BotOutcomeEvent.outcome, func.count())
        .where(BotOutcomeEvent.created_at >= since)
        .group_by(BotOutcomeEvent.outcome)
    )
    counts = {outcome.value: 0 for outcome in Outcome}
    for outcome, count in rows:
        if outcome in counts:
            counts[outcome] = int(count)
    return counts
