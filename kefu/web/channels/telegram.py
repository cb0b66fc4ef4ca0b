"""Telegram's webhook: `POST /channels/telegram/{inbox_id}/webhook`, called by Telegram only.

Telegram proves itself with the inbox's `webhook_secret` in X-Telegram-Bot-Api-Secret-Token (set by
setWebhook); nothing is read or stored before that matches. Telegram redelivers an update until it
gets a 2xx, so an update Kefu will never take (malformed, refused) is answered 200 or 400 but not 5xx;
a 503 asks for a redelivery when a file could not be fetched for now.
"""

from __future__ import annotations

import hmac
import json
from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kefu.channels.telegram.adapter import TelegramAdapter
from kefu.channels.telegram.api import TelegramError
from kefu.channels.telegram.receive import do_receive_update, record_rejected
from kefu.channels.telegram.updates import MalformedUpdate
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from kefu.web.channels.common import BodyTooLarge, open_webhook_inbox, read_capped_body
from kefu.web.deps import RuntimeDep, client_ip
from kefu.web.errors import error_response

log = structlog.get_logger(__name__)
router = APIRouter()

SECRET_HEADER: Final = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
# An Update is a few KiB (text is at most 4096 characters); files come separately through getFile.
MAX_BODY_BYTES: Final = 1024 * 1024


def _ok() -> JSONResponse:
    return JSONResponse({"ok": True})


@router.post("/telegram/{inbox_id}/webhook", include_in_schema=False)
async def telegram_webhook(inbox_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Receive one update for the inbox's bot."""
    opened = await open_webhook_inbox(runtime, inbox_id, ChannelKind.TELEGRAM)
    if isinstance(opened, Response):
        return opened
    expected = opened.secrets.get("webhook_secret", "").encode()
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
    if not expected or not hmac.compare_digest(given, expected):
        log.warning("telegram_webhook_unauthenticated", inbox_id=inbox_id, ip=client_ip(request))
        return error_response(401, "not_authenticated", "wrong or missing secret token")
    adapter = runtime.channel_adapters.get(ChannelKind.TELEGRAM)
    if not isinstance(adapter, TelegramAdapter):
        return error_response(503, "unavailable", "the Telegram channel is not enabled in this process")
    try:
        body = await read_capped_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        await record_rejected(runtime.sessionmaker, opened.id, "body too large", client_ip(request))
        return error_response(413, "too_large", f"the update is over {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # broken JSON, bad UTF-8, absurd nesting
        await record_rejected(runtime.sessionmaker, opened.id, "not JSON", client_ip(request))
        return error_response(400, "bad_request", "not a Telegram update: not JSON")
    try:
        received = await do_receive_update(
            adapter, opened, payload, sessionmaker=runtime.sessionmaker, blobs=runtime.blobs
        )
    except MalformedUpdate as exc:
        await record_rejected(runtime.sessionmaker, opened.id, str(exc), client_ip(request))
        return error_response(400, "bad_request", f"not a Telegram update: {exc}")
    except InvalidInput as exc:
        # Nothing to store (e.g. only whitespace): a redelivery would not change that.
        await record_rejected(runtime.sessionmaker, opened.id, exc.message, client_ip(request))
        return _ok()
    except (TelegramError, RetryAfter) as exc:
        log.warning("telegram_file_fetch_failed", inbox_id=inbox_id, error=type(exc).__name__)
        return error_response(503, "unavailable", "a file could not be fetched from Telegram; retry later")
    log.info("telegram_update", inbox_id=inbox_id, update_id=received.update_id, outcome=received.outcome)
    return _ok()
