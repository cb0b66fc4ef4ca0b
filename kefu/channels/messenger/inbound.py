"""What the Messenger webhook does with a signed delivery: fetch files, ingest each message, audit.

Runs in the web request (Meta wants a 200 within seconds; a delivery holds a handful of messages).
A file that cannot be kept (too large, refused type, not on Meta's servers) does not lose the message:
the text is stored with a note of the refused file on the message and an audit event, and Meta is
answered 200 so it does not redeliver a message that can never be stored whole.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.adapter import ChannelFile, ChannelInbox, InboundMessage
from kefu.channels.ingest import do_ingest
from kefu.channels.messenger.adapter import MessengerAdapter
from kefu.channels.messenger.events import MessagingEvent, ParsedDelivery
from kefu.channels.messenger.graph import DownloadRefused
from kefu.channels.webhooks import Received, record_files_refused, record_unusable
from kefu.core.errors import InvalidInput, TooLarge, UnsupportedMedia
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)


def accepted_accounts(inbox: ChannelInbox) -> frozenset[str] | None:
    """The Page and Instagram account ids this inbox answers for; None (all) when none is set."""
    ids = {inbox.address.strip()} if inbox.address.strip().isdigit() else set()
    instagram = inbox.config.get("instagram_account_id")
    if isinstance(instagram, str | int) and str(instagram).isdigit():
        ids.add(str(instagram))
    return frozenset(ids) or None


def _inbound(
    inbox: ChannelInbox, event: MessagingEvent, files: tuple[ChannelFile, ...], facts: dict[str, Any]
) -> InboundMessage:
    text = event.text
    if not text and not files:
        kinds = ", ".join(sorted({ref.type for ref in event.attachments})) or "message"
        text = f"({kinds} not received)"
    return InboundMessage(
        inbox_id=inbox.id,
        channel=ChannelKind.MESSENGER,
        sender_id=event.sender_id,
        external_id=event.mid,
        text=text,
        files=files,
        facts=facts,
    )


async def _files(
    adapter: MessengerAdapter, event: MessagingEvent
) -> tuple[list[ChannelFile], list[dict[str, str]]]:
    files, refused = [], []
    for index, ref in enumerate(event.attachments):
        if ref.url is None:
            refused.append({"type": ref.type, "reason": "not_a_file"})
            continue
        try:
            files.append(await adapter.fetch_attachment(ref, index))
        except DownloadRefused as exc:
            refused.append({"type": ref.type, "reason": exc.reason})
    return files, refused


async def do_receive(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    settings: Settings,
    adapter: MessengerAdapter,
    inbox: ChannelInbox,
    delivery: ParsedDelivery,
    *,
    ip: str | None = None,
) -> Received:
    """Store each customer message of a signature-checked delivery; idempotent on the message id."""
    stored = duplicates = dropped = 0
    accounts = accepted_accounts(inbox)
    for event in delivery.events:
        if accounts is not None and event.account_id not in accounts:
            log.info("messenger_other_account", inbox_id=str(inbox.id), account_id=event.account_id)
            continue
        files, refused = await _files(adapter, event)
        facts: dict[str, Any] = {"platform": "instagram" if event.platform == "instagram" else "facebook"}
        inbound = _inbound(
            inbox, event, tuple(files), facts | ({"refused_files": refused} if refused else {})
        )
        try:
            async with transaction(sessionmaker) as session:
                result = await do_ingest(session, inbound, blobs=blobs, settings=settings)
        except (TooLarge, UnsupportedMedia) as exc:
            # The file pipeline refused a file: keep the message without its files.
            refused += [{"type": "file", "reason": exc.code} for _ in files]
            inbound = _inbound(inbox, event, (), facts | {"refused_files": refused})
            try:
                async with transaction(sessionmaker) as session:
                    result = await do_ingest(session, inbound, blobs=blobs, settings=settings)
            except InvalidInput:
                dropped += 1
                continue
        except InvalidInput:
            dropped += 1
            continue
        if refused and result.created:
            async with transaction(sessionmaker) as session:
                await record_files_refused(
                    session,
                    result.conversation.id,
                    refused,
                    ip=ip,
                    details={"channel": "messenger", "message_id": str(result.message.id)},
                )
        stored += result.created
        duplicates += not result.created
    received = Received(stored, duplicates, dropped)
    return await record_unusable(
        sessionmaker, inbox.id, "unusable_items", received=received, skipped=delivery.skipped, ip=ip
    )
