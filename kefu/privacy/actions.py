"""Privacy requests: asked for by an administrator, carried out by outbox jobs, audited at each step.

Audit events name the request and the contact by id and carry counts: never the customer's data nor
the free-text reason (which may quote it), so the erased customer cannot be rebuilt from the trail.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import add_audit
from kefu.auth.actors import AgentActor
from kefu.contacts.models import Contact
from kefu.core.clock import utcnow
from kefu.core.errors import NotFound, PermissionDenied
from kefu.jobs.enqueue import enqueue
from kefu.privacy.access import can_manage_privacy
from kefu.privacy.erasure import LegalHold, check_erasable, do_erase_contact
from kefu.privacy.export import build_export
from kefu.privacy.models import MAX_ERROR_CHARS, PrivacyRequest, RequestKind, RequestStatus
from kefu.privacy.scrub import delete_unreferenced_blobs
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)

EXPORT_JOB: Final = "privacy.export"
ERASURE_JOB: Final = "privacy.erase"


def _clean_reason(reason: str) -> str:
    return "".join(c for c in reason.strip() if c.isprintable() or c == "\n")


async def _check_request(session: AsyncSession, actor: AgentActor, contact_id: uuid.UUID) -> None:
    if not can_manage_privacy(actor):
        raise PermissionDenied("privacy requests are for administrators")
    if await session.get(Contact, contact_id) is None:
        raise NotFound("contact not found")


async def do_request_export(
    session: AsyncSession,
    actor: AgentActor,
    contact_id: uuid.UUID,
    *,
    reason: str = "",
    ip: str | None = None,
) -> PrivacyRequest:
    """Record an export request for the contact and queue the job that builds its ZIP (admins only)."""
    await _check_request(session, actor, contact_id)
    return await _record_request(
        session,
        actor,
        contact_id,
        RequestKind.EXPORT,
        EXPORT_JOB,
        "privacy.export_requested",
        reason=reason,
        ip=ip,
    )


async def do_request_erasure(
    session: AsyncSession, actor: AgentActor, contact_id: uuid.UUID, *, reason: str, ip: str | None = None
) -> PrivacyRequest:
    """Record an erasure request and queue its job; LegalHold (409) when the data must be kept for now."""
    await _check_request(session, actor, contact_id)
    await check_erasable(session, contact_id)
    return await _record_request(
        session,
        actor,
        contact_id,
        RequestKind.ERASURE,
        ERASURE_JOB,
        "privacy.erasure_requested",
        reason=reason,
        ip=ip,
    )


async def _record_request(
    session: AsyncSession,
    actor: AgentActor,
    contact_id: uuid.UUID,
    kind: RequestKind,
    job: str,
    audit_action: str,
    *,
    reason: str,
    ip: str | None,
) -> PrivacyRequest:
    """The request row, its job (one per request) and the audit event, in the caller's transaction."""
    request = PrivacyRequest(
        kind=kind,
        contact_id=contact_id,
        status=RequestStatus.PENDING,
        requested_by_agent_id=actor.agent_id,
        reason=_clean_reason(reason),
        counts={},
        created_at=utcnow(),
    )
    session.add(request)
    await session.flush()
    await enqueue(session, job, {"request_id": str(request.id)}, dedupe_key=f"{job}:{request.id}")
    add_audit(
        session,
        action=audit_action,
        actor=actor,
        target_type="contact",
        target_id=str(contact_id),
        ip=ip,
        details={"request_id": str(request.id)},
    )
    return request


async def _pending(session: AsyncSession, request_id: uuid.UUID, kind: RequestKind) -> PrivacyRequest | None:
    request = await session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.id == request_id).with_for_update()
    )
    if request is None or request.kind != kind or request.status != RequestStatus.PENDING:
        return None  # done already (a retried job) or never existed
    return request


def _fail(session: AsyncSession, request: PrivacyRequest, error: str, now: datetime) -> None:
    request.status = RequestStatus.FAILED
    request.error = error[:MAX_ERROR_CHARS]
    request.completed_at = now
    add_audit(
        session,
        action=f"privacy.{request.kind}_failed",
        actor=None,
        target_type="contact",
        target_id=str(request.contact_id) if request.contact_id else None,
        details={"request_id": str(request.id)},
    )


async def do_run_export(
    session: AsyncSession,
    blobs: BlobStore,
    request_id: uuid.UUID,
    *,
    keep_days: int,
    now: datetime | None = None,
) -> PrivacyRequest | None:
    """Build and store the ZIP of a pending export request; it expires `keep_days` later."""
    moment = now or utcnow()
    request = await _pending(session, request_id, RequestKind.EXPORT)
    if request is None:
        return None
    if request.contact_id is None:
        _fail(session, request, "contact deleted", moment)
        return request
    try:
        archive = await build_export(session, blobs, request.contact_id, stamp=request.created_at)
    except NotFound:
        _fail(session, request, "contact deleted", moment)
        return request
    request.blob_key = await blobs.put(archive.data)
    request.size = len(archive.data)
    request.counts = archive.counts
    request.status = RequestStatus.COMPLETED
    request.completed_at = moment
    request.expires_at = moment + timedelta(days=keep_days)
    add_audit(
        session,
        action="privacy.export_completed",
        actor=None,
        target_type="contact",
        target_id=str(request.contact_id),
        details={"request_id": str(request.id), **archive.counts},
    )
    return request


async def do_run_erasure(
    session: AsyncSession,
    blobs: BlobStore,
    request_id: uuid.UUID,
    *,
    keep_notes: bool,
    now: datetime | None = None,
) -> PrivacyRequest | None:
    """Carry out a pending erasure request (failed, not retried, when a legal hold appeared meanwhile)."""
    moment = now or utcnow()
    request = await _pending(session, request_id, RequestKind.ERASURE)
    if request is None:
        return None
    if request.contact_id is None or await session.get(Contact, request.contact_id) is None:
        _fail(session, request, "contact deleted", moment)
        return request
    try:
        counts = await do_erase_contact(session, blobs, request.contact_id, keep_notes=keep_notes, now=moment)
    except LegalHold as hold:
        _fail(session, request, hold.message, moment)
        return request
    # Exports of the erased customer must not outlive the erasure.
    exports = list(
        await session.scalars(
            select(PrivacyRequest).where(
                PrivacyRequest.contact_id == request.contact_id,
                PrivacyRequest.kind == RequestKind.EXPORT,
                PrivacyRequest.blob_key.is_not(None),
            )
        )
    )
    await _expire_exports(session, blobs, exports, moment)
    request.status = RequestStatus.COMPLETED
    request.completed_at = moment
    request.counts = {**counts, "exports_deleted": len(exports)}
    add_audit(
        session,
        action="privacy.erasure_completed",
        actor=None,
        target_type="contact",
        target_id=str(request.contact_id),
        details={"request_id": str(request.id), **request.counts, "keep_notes": keep_notes},
    )
    return request


async def _expire_exports(
    session: AsyncSession, blobs: BlobStore, exports: list[PrivacyRequest], now: datetime
) -> None:
    keys = [e.blob_key for e in exports if e.blob_key]
    for export in exports:
        export.blob_key = None
        export.status = RequestStatus.EXPIRED
        add_audit(
            session,
            action="privacy.export_deleted",
            actor=None,
            target_type="contact",
            target_id=str(export.contact_id) if export.contact_id else None,
            details={"request_id": str(export.id)},
        )
    await delete_unreferenced_blobs(session, blobs, keys)


async def purge_expired_exports(
    session: AsyncSession, blobs: BlobStore, *, now: datetime | None = None, limit: int = 200
) -> int:
    """Delete the ZIPs of exports past their expiry; returns how many."""
    moment = now or utcnow()
    exports = list(
        await session.scalars(
            select(PrivacyRequest)
            .where(
                PrivacyRequest.kind == RequestKind.EXPORT,
                PrivacyRequest.status == RequestStatus.COMPLETED,
                PrivacyRequest.expires_at < moment,
            )
            .order_by(PrivacyRequest.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    await _expire_exports(session, blobs, exports, moment)
    return len(exports)


def record_export_download(
    session: AsyncSession, actor: AgentActor, request: PrivacyRequest, *, ip: str | None = None
) -> None:
    """Audit a download of an export's ZIP (every download, by whom)."""
    add_audit(
        session,
        action="privacy.export_downloaded",
        actor=actor,
        target_type="contact",
        target_id=str(request.contact_id) if request.contact_id else None,
        ip=ip,
        details={"request_id": str(request.id), "size": request.size},
    )
