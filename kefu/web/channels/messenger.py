"""Meta's webhook for Messenger and Instagram: `GET/POST /channels/messenger/{inbox_id}/webhook`.

GET is the subscription handshake (`hub.verify_token` must be the inbox's `verify_token`; the answer is
`hub.challenge`). POST deliveries must carry X-Hub-Signature-256 over the raw body with the inbox's
`app_secret`; nothing is parsed or stored before it matches. Meta retries a delivery until it gets a
200 and eventually disables a webhook that keeps failing, so a delivery Kefu can never take is answered
400 once and audited, never 5xx.
"""

from __future__ import annotations

import uuid
from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from kefu.channels.adapter import ChannelInbox
from kefu.channels.messenger.adapter import MessengerAdapter
from kefu.channels.messenger.events import MalformedDelivery, challenge_answer, parse_delivery, signature_ok
from kefu.channels.messenger.inbound import do_receive, get_webhook_inbox, record_rejection
from kefu.core.errors import NotFound
from kefu.inboxes.models import ChannelKind
from kefu.runtime import Runtime
from kefu.storage.envelope import DecryptionFailed
from kefu.trust.keys import keyring_from_settings
from kefu.web.deps import RuntimeDep, client_ip
from kefu.web.errors import error_response

log = structlog.get_logger(__name__)
router = APIRouter()

SIGNATURE_HEADER: Final = "x-hub-signature-256"
# A delivery batches a few events of a few KiB each; files come separately, by URL.
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
            return await get_webhook_inbox(
                session, keyring_from_settings(runtime.settings), inbox_uuid, ChannelKind.MESSENGER
            )
        except DecryptionFailed:
            log.error("messenger_inbox_secrets_unreadable", inbox_id=inbox_id)
            return error_response(503, "unavailable", "the inbox's credentials cannot be opened")


@router.get("/messenger/{inbox_id}/webhook", include_in_schema=False)
async def messenger_handshake(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Answer Meta's subscription check with the challenge when the verify token matches."""
    inbox = await _inbox(runtime, inbox_id)
    if isinstance(inbox, Response):
        return inbox
    answer = challenge_answer(request.query_params, inbox.secrets.get("verify_token", ""))
    if answer is None:
        log.warning("messenger_handshake_refused", inbox_id=inbox_id, ip=client_ip(request))
        return error_response(403, "permission_denied", "wrong verify token")
    return PlainTextResponse(answer)


@router.post("/messenger/{inbox_id}/webhook", include_in_schema=False)
async def messenger_webhook(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Receive one signed delivery of Page or Instagram messaging events."""
    inbox = await _inbox(runtime, inbox_id)
    if isinstance(inbox, Response):
        return inbox
    ip = client_ip(request)
    try:
        body = await _read_body(request)
    except _TooLarge:
        await record_rejection(runtime.sessionmaker, inbox.id, "body_too_large", ip=ip)
        return error_response(413, "too_large", f"the delivery is over {MAX_BODY_BYTES} bytes")
    if not signature_ok(inbox.secrets.get("app_secret", ""), body, request.headers.get(SIGNATURE_HEADER)):
        await record_rejection(runtime.sessionmaker, inbox.id, "bad_signature", ip=ip)
        return error_response(403, "permission_denied", "wrong or missing X-Hub-Signature-256")
    try:
        delivery = parse_delivery(body)
    except MalformedDelivery as exc:
        await record_rejection(
            runtime.sessionmaker, inbox.id, "malformed", ip=ip, details={"error": str(exc)}
        )
        return error_response(400, "bad_request", f"not a Messenger delivery: {exc}")
    adapter = runtime.channel_adapters.get(ChannelKind.MESSENGER)
    if not isinstance(adapter, MessengerAdapter):
        return error_response(503, "unavailable", "the Messenger channel is not enabled in this process")
    received = await do_receive(
        runtime.sessionmaker, runtime.blobs, runtime.settings, adapter, inbox, delivery, ip=ip
    )
    log.info("messenger_delivery", inbox_id=inbox_id, stored=received.stored, duplicates=received.duplicates)
    return PlainTextResponse("EVENT_RECEIVED")
