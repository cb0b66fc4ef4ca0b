"""What the X webhook does with a signed delivery: ingest each DM to the support account, audit the rest.

DM media is not fetched (X serves it only with OAuth 1.0a user signatures): the message says a photo or
video came, so the agent can ask for it another way.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.adapter import ChannelInbox, InboundMessage
from kefu.channels.ingest import do_ingest
from kefu.channels.webhooks import Received, record_unusable
from kefu.channels.x.events import DirectMessage, ParsedActivity
from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)


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
    received = Received(stored, duplicates, dropped)
    return await record_unusable(
        sessionmaker, inbox.id, "unusable_events", received=received, skipped=activity.skipped, ip=ip
    )
