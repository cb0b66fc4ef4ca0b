"""Agents' replies on social and phone channels go out through the channel's adapter, via the outbox.

A pipeline processor (in the agent's transaction) queues a `channel.deliver` job per reply; the job
sends it with an idempotency key, honours the provider's rate limits (RetryAfter) and records the
outcome on the message (`data.delivery`). A reply the provider refuses for good (a blocked bot, a closed
24-hour window) is not retried: the agent sees why on the timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.adapter import ChannelAdapter, ChannelFile, DeliveryRefused, OutboundMessage
from kefu.channels.credentials import channel_inbox
from kefu.channels.ingest import IDENTITY_OF
from kefu.contacts.models import ContactIdentity
from kefu.conversations.models import Conversation, Message
from kefu.conversations.pipeline import ConversationChange
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.jobs.enqueue import enqueue
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError
from kefu.storage.base import BlobStore
from kefu.storage.envelope import Keyring

CHANNEL_DELIVER: Final = "channel.deliver"
# Providers' own retries plus ours: a reply older than this is stale, so the agent is told instead.
MAX_ATTEMPTS: Final = 10


def _delivers(change: ConversationChange) -> bool:
    """Whether `change` is an agent's public reply on a social channel (which is sent there)."""
    message = change.message
    channel = change.conversation.channel
    return (
        message is not None
        and channel in IDENTITY_OF
        and channel != ChannelKind.PHONE  # a phone conversation is answered by calling back
        and message.kind == MessageKind.REPLY
        and message.author_kind == AuthorKind.AGENT
    )


async def quiet_on_opening(_session: AsyncSession, change: ConversationChange) -> bool:
    """Pipeline QUIET_ON_OPENING check: nothing to deliver."""
    return not _delivers(change)


async def process_change(session: AsyncSession, change: ConversationChange) -> None:
    """Pipeline processor: queue delivery of an agent's public reply on a social or phone channel."""
    message = change.message
    if message is None or not _delivers(change):
        return
    await enqueue(
        session,
        CHANNEL_DELIVER,
        {"message_id": str(message.id)},
        dedupe_key=f"channel-deliver:{message.id}",
        max_attempts=MAX_ATTEMPTS,
    )


async def _recipient(session: AsyncSession, conversation: Conversation) -> str | None:
    kind = IDENTITY_OF[ChannelKind(conversation.channel)]
    return await session.scalar(
        select(ContactIdentity.value)
        .where(ContactIdentity.contact_id == conversation.contact_id, ContactIdentity.kind == kind)
        .order_by(ContactIdentity.value)
        .limit(1)
    )


async def _files(blobs: BlobStore, message: Message) -> tuple[ChannelFile, ...]:
    # Identity documents never leave Kefu, whatever an agent attached.
    files = []
    for attachment in message.attachments:
        if not attachment.sensitive:
            data = await blobs.get(attachment.blob_key)
            files.append(ChannelFile(data, attachment.filename, attachment.content_type))
    return tuple(files)


async def _record(
    session: AsyncSession, conversation: Conversation, message: Message, delivery: dict[str, Any]
) -> None:
    message.data = {**message.data, "delivery": delivery}
    if delivery["status"] == "failed":
        await append_message(
            session,
            conversation,
            None,
            NewMessage(
                body=f"Reply not delivered on {conversation.channel}: {delivery['reason']}",
                kind=MessageKind.NOTE,
                data={"delivery_failed": {"message_id": str(message.id), "code": delivery["code"]}},
            ),
            author=AuthorKind.SYSTEM,
            channel=ChannelKind(conversation.channel),
        )


def bind_deliver(
    adapters: Mapping[ChannelKind, ChannelAdapter], blobs: BlobStore, keyring: Keyring
) -> JobHandler:
    """The `channel.deliver` handler for this process's adapters."""

    async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            message_id = uuid.UUID(str(payload["message_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"malformed {CHANNEL_DELIVER} payload: {exc}") from exc
        session = ctx.session
        message = await session.get(Message, message_id)
        if message is None or (message.data.get("delivery") or {}).get("status") == "sent":
            return
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is None:
            return
        adapter = adapters.get(ChannelKind(conversation.channel))
        inbox = await session.get(Inbox, conversation.inbox_id) if conversation.inbox_id else None
        recipient = await _recipient(session, conversation)
        if adapter is None or inbox is None or recipient is None:
            reason = "no adapter" if adapter is None else "no inbox" if inbox is None else "no recipient"
            await _record(
                session, conversation, message, {"status": "failed", "code": "unroutable", "reason": reason}
            )
            return
        outbound = OutboundMessage(text=message.body, files=await _files(blobs, message))
        try:
            delivered = await adapter.send(
                channel_inbox(keyring, inbox), recipient, outbound, idempotency_key=ctx.idempotency_key
            )
        except DeliveryRefused as refused:
            await _record(
                session,
                conversation,
                message,
                {"status": "failed", "code": refused.code, "reason": refused.message[:300]},
            )
            return
        await _record(
            session,
            conversation,
            message,
            {"status": "sent", "external_ids": list(delivered.external_ids), "sent_at": utcnow().isoformat()},
        )

    return deliver
