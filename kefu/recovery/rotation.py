"""Master-key rotation for identity documents: re-wrap every stored envelope under the active key.

Only the 48-byte wrapped data key changes (kefu.storage.envelope.rewrap); the photo's ciphertext stays.
A re-wrapped envelope is new bytes, so it is stored under a new blob key; the old blob is deleted once
the rows pointing at the new one are committed. Running it again finds nothing left to do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.audit.actions import record_audit
from kefu.conversations.models import Attachment
from kefu.core.errors import NotFound
from kefu.db.uow import transaction
from kefu.recovery.documents import context_for
from kefu.recovery.models import RecoveryDocument
from kefu.storage.base import BlobStore
from kefu.storage.envelope import DecryptionFailed, Keyring, rewrap, sealed_key_id

log = structlog.get_logger(__name__)

ROTATION_BATCH = 50


@dataclass
class RotationReport:
    """What a rotation did: documents re-wrapped, and those that could not be (with why)."""

    active_key_id: str
    rewrapped: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # attachment id -> reason


async def _stale_batch(
    session: AsyncSession, active_id: str, skip: set[str], limit: int
) -> list[tuple[RecoveryDocument, Attachment]]:
    query = (
        select(RecoveryDocument, Attachment)
        .join(Attachment, Attachment.id == RecoveryDocument.attachment_id)
        .where(RecoveryDocument.key_id != active_id, RecoveryDocument.purged_at.is_(None))
        .order_by(RecoveryDocument.id)
        .limit(limit + len(skip))
    )
    rows = (await session.execute(query)).all()
    return [(d, a) for d, a in rows if str(a.id) not in skip][:limit]


async def rotate_document_keys(
    sessionmaker: async_sessionmaker[AsyncSession], blobs: BlobStore, keyring: Keyring
) -> RotationReport:
    """Re-wrap every unpurged document not under the keyring's active key; audited as `keys.rotated`.

    Each batch commits on its own, so an interrupted rotation keeps what it did and the next run
    carries on. Documents whose envelope does not open (its key is missing from the keyring, or the
    blob is gone or damaged) are reported and left as they are.
    """
    report = RotationReport(active_key_id=keyring.active_id)
    while True:
        replaced: list[str] = []
        async with transaction(sessionmaker) as session:
            batch = await _stale_batch(session, keyring.active_id, set(report.failed), ROTATION_BATCH)
            for document, attachment in batch:
                try:
                    sealed = await blobs.get(attachment.blob_key)
                    fresh = await asyncio.to_thread(
                        rewrap, keyring, sealed, context=context_for(attachment.id)
                    )
                except (DecryptionFailed, NotFound) as exc:
                    report.failed[str(attachment.id)] = str(exc)
                    continue
                new_key = await blobs.put(fresh)
                if new_key != attachment.blob_key:
                    replaced.append(attachment.blob_key)
                attachment.blob_key = new_key
                document.key_id = sealed_key_id(fresh)
                report.rewrapped += 1
        # Committed: nothing points at the old envelopes any more (under a retired, maybe leaked, key).
        for key in replaced:
            await blobs.delete(key)
        if not batch:
            break
    async with transaction(sessionmaker) as session:
        await record_audit(
            session,
            action="keys.rotated",
            actor=None,
            target_type="recovery_documents",
            details={
                "active_key_id": keyring.active_id,
                "rewrapped": report.rewrapped,
                "failed_attachment_ids": sorted(report.failed),
            },
        )
    log.info("document_keys_rotated", rewrapped=report.rewrapped, failed=len(report.failed))
    return report
