"""Reading the audit trail (newest first)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.models import AuditEvent

MAX_LIMIT = 1000


async def list_audit_events(
    session: AsyncSession,
    *,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    """Audit events matching every given filter, newest first; `limit` is clamped to 1..1000."""
    query = select(AuditEvent)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if target_type is not None:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    query = query.limit(max(1, min(limit, MAX_LIMIT)))
    return (await session.scalars(query)).all()
