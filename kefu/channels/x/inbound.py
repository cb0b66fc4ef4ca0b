"""What the X webhook does with a signed delivery: ingest each DM to the support account, audit the rest.

DM media is not fetched (X serves it only with OAuth 1.0a user signatures): the message says a photo or
video came, so the agent can ask for it another way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.audit.actions import record_audit
from kefu.channels.adapter import ChannelInbox, InboundMessage
from kefu.channels.credentials import channel_inbox
from kefu.channels.ingest import do_ingest
from kefu.channels.x.events import DirectMessage, ParsedActivity
from kefu.core.errors import InvalidInput, NotFound
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.storage.envelope import Keyring

log = structlog.get_logger(__name__)
REJECTED: Final = "channel.webhook_rejected"


@dataclass(frozen=True, slots=True)
class Received:
    """How a delivery went: messages stored (new), redeliveries, messages that could not be stored."""

    stored: int = 0
    duplicates: int = 0
    dropped: int = 0


async def get_webhook_inbox(session: AsyncSession, keyring: Keyring, inbox_id: uuid.UUID) -> ChannelInbox:
    """The active X inbox with its credentials; NotFound for anything else."""
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or not inbox.is_active or inbox.channel != ChannelKind.X:
        raise NotFound("no such inbox")
    return channel_inbox(keyring, inbox)


async def record_rejection(
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox_id: uuid.UUID,
    reason: str,
    *,
    ip: str | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Audit a refused or partly unusable webhook delivery (never its body or a credential)."""
    async with transaction(sessionmaker) as session:
        await record_audit(
            session,
            action=REJECTED,
            actor=None,
            target_type="inbox",
            target_id=str(inbox_id),
            ip=ip,
            details={"reason": reason, **(details or {})},
        )


def _inbound(inbox: ChannelInbox, message: DirectMessage) -> InboundMessage:
    text = message.text
    facts: dict[str, Any] = {}
    if message.media:
        facts["media_not_fetched"] = message.media
        text = f"{text}\n({message.media} not received)" if text else f"({message.media} not received)"
    return InboundMessage(
        inbox_id=inbox.id,
        channel=ChannelKind.X,
        sender_id=message.sender_id,
        external_id=message.id,
        text=text,
        sender_name=message.sender_name,
        facts=facts,
    )


async def do_receive(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    settings: Settings,
    inbox: ChannelInbox,
    activity: ParsedActivity,
    *,
    ip: str | None = None,
) -> Received:
    """Store each customer DM of a signature-checked delivery; idempotent on the DM event id."""
    address = inbox.address.strip()
    if address.isdigit() and activity.for_user_id != address:
        log.info("x_other_account", inbox_id=str(inbox.id), for_user_id=activity.for_user_id)
        return Received()
    stored = duplicates = dropped = 0
    for message in activity.messages:
        if message.sender_id == address:
            continue  # sent by the support account (from another app)
        try:
            async with transaction(sessionmaker) as session:
                result = await do_ingest(session, _inbound(inbox, message), blobs=blobs, settings=settings)
        except InvalidInput:
            dropped += 1
            continue
        stored += result.created
        duplicates += not result.created
    if activity.skipped or dropped:
        await record_rejection(
            sessionmaker,
            inbox.id,
            "unusable_events",
            ip=ip,
            details={"skipped_count": activity.skipped + dropped},
        )
    return Received(stored, duplicates, dropped)
