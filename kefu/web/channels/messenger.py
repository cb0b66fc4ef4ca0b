"""Meta's webhook for Messenger and Instagram: `GET/POST /channels/messenger/{inbox_id}/webhook`.

GET is the subscription handshake (`hub.verify_token` must be the inbox's `verify_token`; the answer is
`hub.challenge`). POST deliveries must carry X-Hub-Signature-256 over the raw body with the inbox's
`app_secret`; nothing is parsed or stored before it matches. Meta retries a delivery until it gets a
200 and eventually disables a webhook that keeps failing, so a delivery Kefu can never take is answered
400 once and audited, never 5xx.
"""

from __future__ import annotations

from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from kefu.channels.messenger.adapter import MessengerAdapter
from kefu.channels.messenger.events import MalformedDelivery, challenge_answer, parse_delivery, signature_ok
from kefu.channels.messenger.inbound import do_receive
from kefu.inboxes.models import ChannelKind
from kefu.web.channels.common import SignedWebhook, open_webhook_inbox, receive_signed
from kefu.web.deps import RuntimeDep, client_ip
from kefu.web.errors import error_response

log = structlog.get_logger(__name__)
router = APIRouter()

# A delivery batches a few events of a few KiB each; files come separately, by URL.
WEBHOOK: Final = SignedWebhook(
    channel=ChannelKind.MESSENGER,
    max_bytes=1024 * 1024,
    signature_header="X-Hub-Signature-256",  # headers are matched case-insensitively
    signing_key="app_secret",
    signature_ok=signature_ok,
    parse=parse_delivery,
    malformed=MalformedDelivery,
    what="a Messenger delivery",
)


@router.get("/messenger/{inbox_id}/webhook", include_in_schema=False)
async def messenger_handshake(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Answer Meta's subscription check with the challenge when the verify token matches."""
    inbox = await open_webhook_inbox(runtime, inbox_id, ChannelKind.MESSENGER)
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
    checked = await receive_signed(WEBHOOK, inbox_id, request, runtime)
    if isinstance(checked, Response):
        return checked
    inbox, delivery = checked
    ip = client_ip(request)
    adapter = runtime.channel_adapters.get(ChannelKind.MESSENGER)
    if not isinstance(adapter, MessengerAdapter):
        return error_response(503, "unavailable", "the Messenger channel is not enabled in this process")
    received = await do_receive(
        runtime.sessionmaker, runtime.blobs, runtime.settings, adapter, inbox, delivery, ip=ip
    )
    log.info("messenger_delivery", inbox_id=inbox_id, stored=received.stored, duplicates=received.duplicates)
    return PlainTextResponse("EVENT_RECEIVED")
