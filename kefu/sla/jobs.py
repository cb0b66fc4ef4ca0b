"""The SLA scan: every minute, warn about deadlines that are near and record those that passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations import recipients
from kefu.conversations.models import Conversation
from kefu.core.clock import utcnow
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler
from kefu.observability.metrics import SLA_BREACHES, inc_on_commit
from kefu.sla.deadlines import mark_breaches
from kefu.sla.models import ConversationSla

SLA_SCAN: Final = "sla.scan"
BATCH_SIZE: Final = 500


def _notify(
    session: AsyncSession, name: EventName, conversation: Conversation, target: str, due: datetime
) -> None:
    payload: dict[str, object] = recipients.conversation_payload(conversation)
    payload |= {"target": target, "due_at": due.isoformat()}
    emit_on_commit(
        session, Event(name=name, topics=recipients.conversation_topics(conversation), payload=payload)
    )


async def do_scan_sla(session: AsyncSession, now: datetime, *, limit: int = BATCH_SIZE) -> tuple[int, int]:
    """Record breaches and warnings due at `now` for up to `limit` conversations; (breaches, warnings)."""
    query = (
        select(ConversationSla, Conversation)
        .join(Conversation, Conversation.id == ConversationSla.conversation_id)
        .where(
            or_(
                ConversationSla.next_due_at <= now,
                and_(ConversationSla.warn_at <= now, ConversationSla.warned_at.is_(None)),
            )
        )
        .order_by(ConversationSla.next_due_at)
        .limit(limit)
        # Two workers never handle the same row; PostgreSQL only (SQLite writers are serialised).
        .with_for_update(of=ConversationSla, skip_locked=True)
    )
    breaches = warnings = 0
    for row, conversation in (await session.execute(query)).all():
        for target, due in mark_breaches(row, now):
            breaches += 1
            inc_on_commit(session, SLA_BREACHES, target=target.value)
            _notify(session, EventName.SLA_BREACHED, conversation, target.value, due)
        if (
            row.next_due_at is not None
            and row.next_due_target is not None
            and row.warn_at is not None
            and row.warn_at <= now < row.next_due_at
            and row.warned_at is None
        ):
            row.warned_at = now
            warnings += 1
            _notify(session, EventName.SLA_WARNING, conversation, row.next_due_target, row.next_due_at)
    await session.flush()
    return breaches, warnings


async def scan(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler of the periodic SLA scan (the payload's slot is informational)."""
    del payload
    await do_scan_sla(ctx.session, utcnow())


HANDLERS: dict[str, JobHandler] = {SLA_SCAN: scan}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(SLA_SCAN, timedelta(seconds=60)),)
