"""Attachment downloads: always as a download, never rendered from our origin."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from kefu.conversations.attachments import access_attachment_by_id
from kefu.storage.filenames import content_disposition
from kefu.web.deps import DbSession, Reader, RuntimeDep, client_ip

router = APIRouter(prefix="/attachments", tags=["attachments"])


@router.get(
    "/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
async def download_attachment(
    attachment_id: uuid.UUID, request: Request, session: DbSession, runtime: RuntimeDep, actor: Reader
) -> Response:
    """The file, to callers who may see its conversation (404 otherwise).

    Identity documents: only KYC reviewers, who are sent to the watermarked, audited viewer."""
    attachment = await access_attachment_by_id(session, actor, attachment_id, ip=client_ip(request))
    if attachment.sensitive:
        # Identity documents are sealed at rest: the reviewers' route opens and watermarks them.
        return RedirectResponse(f"/console/recovery/documents/{attachment.id}", status_code=303)
    data = await runtime.blobs.get(attachment.blob_key)
    return Response(
        content=data,
        media_type=attachment.content_type,
        headers={
            "content-disposition": content_disposition(attachment.filename),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )
