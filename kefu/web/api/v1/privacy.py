"""Data-subject requests over the API (administrators only): export a customer's data, erase it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kefu.privacy.access import access_export_file, access_privacy_request
from kefu.privacy.actions import do_request_erasure, do_request_export, record_export_download
from kefu.privacy.models import RequestKind
from kefu.privacy.schemas import ErasureIn, ExportIn, PrivacyRequestOut
from kefu.privacy.service import list_privacy_requests
from kefu.storage.filenames import content_disposition
from kefu.web.deps import Admin, DbSession, RuntimeDep, client_ip

router = APIRouter(prefix="/privacy", tags=["privacy"])


@router.post("/exports", status_code=202, response_model=PrivacyRequestOut)
async def request_export(
    body: ExportIn, request: Request, actor: Admin, session: DbSession
) -> PrivacyRequestOut:
    """Queue a ZIP of everything the customer gave us and was sent (audited); poll its status."""
    row = await do_request_export(session, actor, body.contact_id, reason=body.reason, ip=client_ip(request))
    return PrivacyRequestOut.model_validate(row)


@router.get("/exports/{request_id}", response_model=PrivacyRequestOut)
async def export_status(request_id: uuid.UUID, actor: Admin, session: DbSession) -> PrivacyRequestOut:
    """An export request's status: pending, completed (downloadable until `expires_at`), failed, expired."""
    row = await access_privacy_request(session, actor, request_id, kind=RequestKind.EXPORT)
    return PrivacyRequestOut.model_validate(row)


@router.get(
    "/exports/{request_id}/download",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "the export archive"}},
)
async def download_export(
    request_id: uuid.UUID, request: Request, actor: Admin, session: DbSession, runtime: RuntimeDep
) -> Response:
    """The ZIP, as a download (every download audited); 409 while pending, 410 once expired."""
    row = await access_export_file(session, actor, request_id)
    assert row.blob_key is not None
    data = await runtime.blobs.get(row.blob_key)
    record_export_download(session, actor, row, ip=client_ip(request))
    return Response(
        content=data,
        media_type="application/zip",
        headers={
            "content-disposition": content_disposition(f"kefu-export-{row.id}.zip"),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )


@router.post("/erasures", status_code=202, response_model=PrivacyRequestOut)
async def request_erasure(
    body: ErasureIn, request: Request, actor: Admin, session: DbSession
) -> PrivacyRequestOut:
    """Queue the erasure of the customer's personal data (`confirm: true` required; 409 on a legal hold)."""
    row = await do_request_erasure(session, actor, body.contact_id, reason=body.reason, ip=client_ip(request))
    return PrivacyRequestOut.model_validate(row)


@router.get("/erasures/{request_id}", response_model=PrivacyRequestOut)
async def erasure_status(request_id: uuid.UUID, actor: Admin, session: DbSession) -> PrivacyRequestOut:
    """An erasure request's status and, once completed, what was erased (counts)."""
    row = await access_privacy_request(session, actor, request_id, kind=RequestKind.ERASURE)
    return PrivacyRequestOut.model_validate(row)


@router.get("/requests", response_model=list[PrivacyRequestOut])
async def list_requests(
    actor: Admin,
    session: DbSession,
    contact_id: uuid.UUID | None = None,
    kind: RequestKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PrivacyRequestOut]:
    """Privacy requests, newest first, optionally of one contact or kind (the register of requests)."""
    del actor
    rows = await list_privacy_requests(session, contact_id=contact_id, kind=kind, limit=limit)
    return [PrivacyRequestOut.model_validate(row) for row in rows]
