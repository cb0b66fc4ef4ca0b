"""X's Account Activity webhook: `GET/POST /channels/x/{inbox_id}/webhook`, called by X only.

GET is the CRC check: `crc_token` is answered with its HMAC-SHA256 under the inbox's `consumer_secret`
(X repeats it hourly, and a webhook failing it is disabled). POST deliveries must carry
x-twitter-webhooks-signature over the raw body; nothing is parsed or stored before it matches.
"""

from __future__ import annotations

import uuid
from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kefu.channels.adapter import ChannelInbox
from kefu.channels.x.events import (
    MAX_CRC_TOKEN,
    MalformedActivity,
    crc_response,
    parse_activity,
    signature_ok,
)
from kefu.channels.x.inbound import do_receive, get_webhook_inbox, record_rejection
from kefu.core.errors import NotFound
from kefu.runtime import Runtime
from kefu.storage.envelope import DecryptionFailed
from kefu.trust.keys import keyring_from_settings
from kefu.web.deps import RuntimeDep, client_ip
from kefu.web.errors import error_response

log = structlog.get_logger(__name__)
router = APIRouter()

SIGNATURE_HEADER: Final = "x-twitter-webhooks-signature"
# Account Activity deliveries are small JSON documents; media is referenced, never inlined.
MAX_BODY_BYTES: Final = 1024 * 1024


class _TooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _TooLarge
    return bytes(body)


async def _inbox(runtime: Runtime, inbox_id: str) -> ChannelInbox | Response:
    try:
        inbox_uuid = uuid.UUID(inbox_id)
    except ValueError:
        raise NotFound("no such inbox") from None
    async with runtime.sessionmaker() as session:
        try:
            return await get_webhook_inbox(session, keyring_from_settings(runtime.settings), inbox_uuid)
        except DecryptionFailed:
            log.error("x_inbox_secrets_unreadable", inbox_id=inbox_id)
            return error_response(503, "unavailable", "the inbox's credentials cannot be opened")


@router.get("/x/{inbox_id}/webhook", include_in_schema=False)
async def x_crc_check(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Answer X's challenge-response check."""
    inbox = await _inbox(runtime, inbox_id)
    if isinstance(inbox, Response):
        return inbox
    crc_token = request.query_params.get("crc_token", "")
    if not crc_token or len(crc_token) > MAX_CRC_TOKEN:
        return error_response(400, "bad_request", "crc_token is missing or too long")
    secret = inbox.secrets.get("consumer_secret", "")
    if not secret:
        return error_response(503, "unavailable", "the inbox has no consumer secret")
    return JSONResponse({"response_token": crc_response(secret, crc_token)})


@router.post("/x/{inbox_id}/webhook", include_in_schema=False)
async def x_webhook(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Receive one signed Account Activity delivery."""
    inbox = await _inbox(runtime, inbox_id)
    if isinstance(inbox, Response):
        return inbox
    ip = client_ip(request)
    try:
        body = await _read_body(request)
    except _TooLarge:
        await record_rejection(runtime.sessionmaker, inbox.id, "body_too_large", ip=ip)
        return error_response(413, "too_large", f"the delivery is over {MAX_BODY_BYTES} bytes")
    if not signature_ok(
        inbox.secrets.get("consumer_secret", ""), body, request.headers.get(SIGNATURE_HEADER)
    ):
        await record_rejection(runtime.sessionmaker, inbox.id, "bad_signature", ip=ip)
        return error_response(403, "permission_denied", "wrong or missing x-twitter-webhooks-signature")
    try:
        activity = parse_activity(body)
    except MalformedActivity as exc:
        await record_rejection(
            runtime.sessionmaker, inbox.id, "malformed", ip=ip, details={"error": str(exc)}
        )
        return error_response(400, "bad_request", f"not an Account Activity delivery: {exc}")
    received = await do_receive(runtime.sessionmaker, runtime.blobs, runtime.settings, inbox, activity, ip=ip)
    log.info("x_delivery", inbox_id=inbox_id, stored=received.stored, duplicates=received.duplicates)
    return JSONResponse({"ok": True})
