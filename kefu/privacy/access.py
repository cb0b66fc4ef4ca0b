"""The gate in front of privacy requests: administrators only; missing and forbidden look the same."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, AgentActor
from kefu.core.errors import KefuError, NotFound
from kefu.privacy.models import PrivacyRequest, RequestKind, RequestStatus


class ExportGone(KefuError):
    """The export existed but expired, or failed (HTTP 410)."""

    code = "gone"
    status = 410


class ExportNotReady(KefuError):
    """The export is still being built (HTTP 409): poll its status."""

    code = "not_ready"
    status = 409


def can_manage_privacy(actor: Actor) -> bool:
    """Data-subject requests are an administrator's duty (they expose or destroy a customer's data)."""
    return isinstance(actor, AgentActor) and actor.is_admin


async def access_privacy_request(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, kind: RequestKind
) -> PrivacyRequest:
    """The request of `kind` if `actor` may see it; NotFound otherwise."""
    request = await session.get(PrivacyRequest, request_id)
    if request is None or request.kind != kind or not can_manage_privacy(actor):
        raise NotFound("privacy request not found")
    return request


async def access_export_file(session: AsyncSession, actor: Actor, request_id: uuid.UUID) -> PrivacyRequest:
    """The completed export whose ZIP may be downloaded; ExportNotReady / ExportGone otherwise."""
    request = await access_privacy_request(session, actor, request_id, kind=RequestKind.EXPORT)
    if request.status == RequestStatus.PENDING:
        raise ExportNotReady("the export is being prepared")
    if request.status != RequestStatus.COMPLETED or request.blob_key is None:
        raise ExportGone("the export has expired or failed")
    return request
