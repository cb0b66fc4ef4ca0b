"""Screenshots in the chat: upload (visitors) and download (signed links) over plain HTTP."""

from __future__ import annotations

import uuid
from typing import Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from kefu.chat.identity import read_visitor_token
from kefu.chat.uploads import CHAT_UPLOAD_MAX_BYTES, read_file_signature, sign_upload
from kefu.conversations.models import Attachment
from kefu.core.errors import NotAuthenticated, NotFound, PermissionDenied, RateLimited, TooLarge
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from kefu.storage.filenames import content_disposition
from kefu.storage.uploads import store_upload
from kefu.web.chat.socket import allowed_origins

router = APIRouter()

VISITOR_HEADER: Final = "x-kefu-visitor"


async def _read_capped(request: Request, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"a chat file may be at most {limit} bytes")
    return bytes(data)


@router.post("/chat/uploads", include_in_schema=False)
async def upload_chat_file(request: Request, name: str = Query("screenshot", max_length=255)) -> Response:
    """Visitors (the `X-Kefu-Visitor` token from `welcome`), from an allowed origin: store one file
    (the raw request body) and answer with the upload token a `message` frame names it by."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    origin = (request.headers.get("origin") or "").lower()
    if origin not in allowed_origins(settings.base_url, settings.chat_origins):
        raise PermissionDenied("uploads come from the chat window")
    secret = settings.secret_key.get_secret_value()
    visitor_id = read_visitor_token(secret, request.headers.get(VISITOR_HEADER))
    if visitor_id is None:
        raise NotAuthenticated("open the chat first")
    if not await runtime.chat_limits.uploads.hit(visitor_id.hex):
        raise RateLimited("too many files; try again in a few minutes", retry_after=60)
    limit = min(CHAT_UPLOAD_MAX_BYTES, settings.upload_max_bytes)
    data = await _read_capped(request, limit)
    stored = await store_upload(
        runtime.blobs, data, name, max_bytes=limit, max_pixels=settings.image_max_pixels
    )
    return JSONResponse(
        {
            "upload": sign_upload(secret, visitor_id, stored),
            "filename": stored.filename,
            "content_type": stored.content_type,
            "size": stored.size,
            "width": stored.width,
            "height": stored.height,
        },
        status_code=201,
    )


@router.get("/chat/files/{attachment_id}", include_in_schema=False)
async def download_chat_file(
    attachment_id: uuid.UUID, request: Request, sig: str = Query(max_length=300)
) -> Response:
    """Anyone holding the signed link (valid a day, given only to the chat's customer); never sensitive
    files, never rendered as a page from our origin."""
    runtime: Runtime = request.app.state.runtime
    if read_file_signature(runtime.settings.secret_key.get_secret_value(), sig) != attachment_id:
        raise NotFound("no such file")
    async with transaction(runtime.sessionmaker, writes=False) as session:
        attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.sensitive:
        raise NotFound("no such file")
    data = await runtime.blobs.get(attachment.blob_key)
    inline = attachment.content_type in ("image/png", "image/jpeg", "image/gif", "image/webp")
    disposition = content_disposition(attachment.filename)
    return Response(
        content=data,
        media_type=attachment.content_type,
        headers={
            # Re-encoded raster images may show inline (the chat's thumbnails); anything else downloads.
            "content-disposition": disposition.replace("attachment", "inline", 1) if inline else disposition,
            "x-content-type-options": "nosniff",
            "cache-control": "private, max-age=3600",
            "content-security-policy": "default-src 'none'; sandbox",
            "cross-origin-resource-policy": "same-origin",
        },
    )
