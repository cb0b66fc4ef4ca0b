"""X's Account Activity webhook: `GET/POST /channels/x/{inbox_id}/webhook`, called by X only.

GET is the CRC check: `crc_token` is answered with its HMAC-SHA256 under the inbox's `consumer_secret`
(X repeats it hourly, and a webhook failing it is disabled). POST deliveries must carry
x-twitter-webhooks-signature over the raw body; nothing is parsed or stored before it matches.
"""

from __future__ import annotations

from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kefu.channels.x.events import (
    MAX_CRC_TOKEN,
    MalformedActivity,
    crc_response,
    parse_activity,
    signature_ok,
)
from kefu.channels.x.inbound import do_receive
from kefu.inboxes.models import ChannelKind
from kefu.web.channels.common import SignedWebhook, open_webhook_inbox, receive_signed
from kefu.web.deps import RuntimeDep, client_ip
from kefu.web.errors import error_response

log = structlog.get_logger(__name__)
router = APIRouter()

# Account Activity deliveries are small JSON documents; media is referenced, never inlined.
WEBHOOK: Final = SignedWebhook(
    channel=ChannelKind.X,
    max_bytes=1024 * 1024,
    signature_header="x-twitter-webhooks-signature",
    signing_key="consumer_secret",
    signature_ok=signature_ok,
    parse=parse_activity,
    malformed=MalformedActivity,
    what="an Account Activity delivery",
)


@router.get("/x/{inbox_id}/webhook", include_in_schema=False)
async def x_crc_check(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Answer X's challenge-response check."""
    inbox = await open_webhook_inbox(runtime, inbox_id, ChannelKind.X)
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
    checked = await receive_signed(WEBHOOK, inbox_id, request, runtime)
    if isinstance(checked, Response):
        return checked
    inbox, activity = checked
    ip = client_ip(request)
    received = await do_receive(runtime.sessionmaker, runtime.blobs, runtime.settings, inbox, activity, ip=ip)
    log.info("x_delivery", inbox_id=inbox_id, stored=received.stored, duplicates=received.duplicates)
    return JSONResponse({"ok": True})
