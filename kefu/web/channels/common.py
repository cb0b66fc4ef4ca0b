"""What the providers' webhook routes share: the inbox lookup, the capped body reader, and the
signed-delivery steps (cap, signature, parse; each refusal audited) of Messenger and X."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from fastapi import Request
from fastapi.responses import Response

from kefu.channels.adapter import ChannelInbox
from kefu.channels.webhooks import get_webhook_inbox, record_rejection
from kefu.core.errors import NotFound
from kefu.inboxes.models import ChannelKind
from kefu.runtime import Runtime
from kefu.storage.envelope import DecryptionFailed
from kefu.trust.keys import keyring_from_settings
from kefu.web.deps import client_ip
from kefu.web.errors import error_response

log = structlog.get_logger(__name__)
T = TypeVar("T")


class BodyTooLarge(Exception):
    """The body is over the cap, or its declared Content-Length is over it or not a number."""


async def read_capped_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, read no further than `max_bytes` (Content-Length is not trusted alone)."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit() or int(declared) > max_bytes):
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge
    return bytes(body)


async def open_webhook_inbox(
    runtime: Runtime, inbox_id: str, channel: ChannelKind
) -> ChannelInbox | Response:
    """The active inbox of `channel` named in the path (NotFound otherwise), or a 503 answer when its
    credentials cannot be opened."""
    try:
        inbox_uuid = uuid.UUID(inbox_id)
    except ValueError:
        raise NotFound("no such inbox") from None
    async with runtime.sessionmaker() as session:
        try:
            return await get_webhook_inbox(
                session, keyring_from_settings(runtime.settings), inbox_uuid, channel
            )
        except DecryptionFailed:
            log.error(f"{channel.value}_inbox_secrets_unreadable", inbox_id=inbox_id)
            return error_response(503, "unavailable", "the inbox's credentials cannot be opened")


@dataclass(frozen=True, slots=True)
class SignedWebhook(Generic[T]):
    """How one provider signs and shapes its deliveries (Messenger, X)."""

    channel: ChannelKind
    max_bytes: int
    signature_header: str
    signing_key: str  # the name of the inbox credential that signs deliveries
    signature_ok: Callable[[str, bytes, str | None], bool]  # (secret, body, header)
    parse: Callable[[bytes], T]
    malformed: type[Exception]  # what `parse` raises for a body that is not a delivery
    what: str  # "a Messenger delivery", for the 400 message


async def receive_signed(
    webhook: SignedWebhook[T], inbox_id: str, request: Request, runtime: Runtime
) -> tuple[ChannelInbox, T] | Response:
    """The inbox and the parsed delivery once the body is within the cap and signed; otherwise the
    answer to give (404 raised, 503, or an audited 413, 403 or 400)."""
    inbox = await open_webhook_inbox(runtime, inbox_id, webhook.channel)
    if isinstance(inbox, Response):
        return inbox
    ip = client_ip(request)
    try:
        body = await read_capped_body(request, webhook.max_bytes)
    except BodyTooLarge:
        await record_rejection(runtime.sessionmaker, inbox.id, "body_too_large", ip=ip)
        return error_response(413, "too_large", f"the delivery is over {webhook.max_bytes} bytes")
    secret = inbox.secrets.get(webhook.signing_key, "")
    if not webhook.signature_ok(secret, body, request.headers.get(webhook.signature_header)):
        await record_rejection(runtime.sessionmaker, inbox.id, "bad_signature", ip=ip)
        return error_response(403, "permission_denied", f"wrong or missing {webhook.signature_header}")
    try:
        return inbox, webhook.parse(body)
    except webhook.malformed as exc:
        await record_rejection(
            runtime.sessionmaker, inbox.id, "malformed", ip=ip, details={"error": str(exc)}
        )
        return error_response(400, "bad_request", f"not {webhook.what}: {exc}")
