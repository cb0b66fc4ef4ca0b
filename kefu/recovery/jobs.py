"""The purge of identity documents: `recovery_purge_days` after a decision their blobs are deleted.

Runs hourly as a periodic outbox job. Idempotent: a blob is deleted before its row is marked, and
deleting a missing blob is a no-op, so a run that fails half-way is simply repeated by the next one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.conversations.models import Attachment
from kefu.core.clock import utcnow
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler
from kefu.recovery.models import RecoveryCase, RecoveryDocument
from kefu.storage.base import BlobStore

if TYPE_CHECKING:
    from kefu.runtime import Runtime

log = structlog.get_logger(__name__)

PURGE_DOCUMENTS: Final = "recovery.purge_documents"
# Cases per run; a backlog drains over the following hours.
PURGE_BATCH: Final = 200


async def purge_due_documents(
    session: AsyncSession, blobs: BlobStore, *, now: datetime | None = None, limit: int = PURGE_BATCH
) -> int:
    """Delete the documents of cases whose `purge_after` has passed; returns how many cases were purged.

    Each purge is audited (`recovery.documents_purged`); the attachment rows stay (their names show in
    the timeline) but their documents are marked purged and can no longer be viewed (HTTP 410).
    """
    moment = now or utcnow()
    cases = list(
        await session.scalars(
            select(RecoveryCase)
            .where(RecoveryCase.purge_after < moment, RecoveryCase.purged_at.is_(None))
            .order_by(RecoveryCase.purge_after)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for case in cases:
        rows = (
            await session.execute(
                select(RecoveryDocument, Attachment)
                .join(Attachment, Attachment.id == RecoveryDocument.attachment_id)
                .where(RecoveryDocument.case_id == case.id, RecoveryDocument.purged_at.is_(None))
            )
        ).all()
        for document, attachment in rows:
            await blobs.delete(attachment.blob_key)
            document.purged_at = moment
        case.purged_at = moment
        await record_audit(
            session,
            action="recovery.documents_purged",
            actor=None,
            target_type="recovery_case",
            target_id=str(case.id),
            details={
                "documents": len(rows),
                "attachment_ids": [str(attachment.id) for _document, attachment in rows],
                "decided_at": case.decided_at.isoformat() if case.decided_at else None,
            },
        )
    if cases:
        log.info("recovery_documents_purged", cases=len(cases))
    return len(cases)


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """The purge needs the process's blob store."""

    async def purge(ctx: JobContext, payload: dict[str, Any]) -> None:
        del payload
        await purge_due_documents(ctx.session, runtime.blobs)

    return {PURGE_DOCUMENTS: purge}


HANDLERS: dict[str, JobHandler] = {}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(PURGE_DOCUMENTS, timedelta(hours=1)),)
