"""Auto-close: solved conversations close by themselves once the policy's quiet period has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.automation.service import get_auto_close_policy
from kefu.conversations.actions import apply_conversation_update, notify_conversation_updated
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import Status
from kefu.core.clock import utcnow

AUTO_CLOSE_JOB = "conversations.auto_close"
BATCH_SIZE = 500
# One run closes at most this many batches; the next run (10 minutes later) takes the rest, so a
# backlog never holds one transaction open for long.
MAX_BATCHES = 10


async def close_solved_conversations(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Close solved conversations whose `solved_at` is older than the policy allows; returns how many."""
    policy = await get_auto_close_policy(session)
    if not policy.enabled:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=policy.after_days)
    closed = 0
    for _ in range(max_batches):
        rows = (
            await session.scalars(
                select(Conversation)
                .where(Conversation.status == Status.SOLVED, Conversation.solved_at < cutoff)
                .order_by(Conversation.solved_at, Conversation.id)
                .limit(batch_size)
                # Another worker closing the same rows skips them instead of waiting (PostgreSQL).
                .with_for_update(skip_locked=True)
            )
        ).all()
        for conversation in rows:
            await apply_conversation_update(
                session, None, conversation, ConversationUpdate(status=Status.CLOSED)
            )
            notify_conversation_updated(session, conversation)
        closed += len(rows)
        if len(rows) < batch_size:
            break
    return closed
