"""`do_ingest`: every social and phone channel's way into Kefu, in the caller's one transaction.

Names the customer by their channel identity, continues their open conversation on this inbox or opens
one (routing to the inbox's team, SLA, triggers: the usual pipeline), stores the text (redacted on the
way, as for every channel) and the files, and is idempotent on the provider's message id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.channels.adapter import InboundMessage
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import Contact, IdentityKind
from kefu.conversations.actions import do_add_message
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationCreate
from kefu.conversations.states import Status
from kefu.conversations.timeline import NewMessage
from kefu.core.errors import InvalidInput, NotFound
from kefu.i18n import normalise_locale
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.storage.uploads import StoredFile, store_upload

IDENTITY_OF: Final[dict[ChannelKind, IdentityKind]] = {
    ChannelKind.TELEGRAM: IdentityKind.TELEGRAM,
    ChannelKind.MESSENGER: IdentityKind.MESSENGER,
    ChannelKind.X: IdentityKind.X,
    ChannelKind.PHONE: IdentityKind.PHONE,
}
MAX_FILES: Final = 10
# What a message with only files says, so the timeline and notifications have a line to show.
FILES_ONLY_BODY: Final = "(attachment)"
MAX_TEXT: Final = 20_000


@dataclass(frozen=True, slots=True)
class Ingested:
    conversation: Conversation
    message: Message
    created: bool  # False: a redelivery of a message already stored


def client_id_for(inbound: InboundMessage) -> str:
    """The idempotency key of an inbound message: its channel and the provider's id."""
    return f"{inbound.channel.value}:{inbound.external_id}"[:100]


async def open_conversation_of(
    session: AsyncSession, contact_id: uuid.UUID, inbox_id: uuid.UUID
) -> Conversation | None:
    """The customer's latest conversation on this inbox that is not closed (a solved one reopens)."""
    return await session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            Conversation.inbox_id == inbox_id,
            Conversation.status != Status.CLOSED,
            Conversation.merged_into_id.is_(None),
        )
        .order_by(Conversation.last_activity_at.desc())
        .limit(1)
        .with_for_update()
    )


async def _store_files(inbound: InboundMessage, blobs: BlobStore, settings: Settings) -> list[StoredFile]:
    if len(inbound.files) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files a message")
    return [
        await store_upload(
            blobs,
            file.data,
            file.filename,
            max_bytes=settings.upload_max_bytes,
            max_pixels=settings.image_max_pixels,
        )
        for file in inbound.files
    ]


async def do_ingest(
    session: AsyncSession, inbound: InboundMessage, *, blobs: BlobStore, settings: Settings
) -> Ingested:
    """Store `inbound`; InvalidInput/TooLarge/UnsupportedMedia for what cannot be stored (nothing is)."""
    inbox = await session.get(Inbox, inbound.inbox_id)
    if inbox is None or not inbox.is_active or inbox.channel != inbound.channel:
        raise NotFound("no such active inbox for this channel")
    kind = IDENTITY_OF.get(inbound.channel)
    if kind is None:
        raise InvalidInput(f"{inbound.channel} is not a social or phone channel")
    text = inbound.text.strip()[:MAX_TEXT]
    if not text and not inbound.files:
        raise InvalidInput("an empty message")
    # Files first: a refused file stores nothing at all.
    files = await _store_files(inbound, blobs, settings)
    locale = normalise_locale(inbound.locale) or "en"
    contact_id, created_contact = await do_resolve_contact(
        session, kind, inbound.sender_id, name=inbound.sender_name[:200], locale=locale
    )
    if not created_contact and inbound.sender_name:
        contact = await session.get(Contact, contact_id)
        if contact is not None and not contact.name:
            contact.name = inbound.sender_name[:200]
    actor = CustomerActor(contact_id=contact_id)
    client_id = client_id_for(inbound)
    body = text or FILES_ONLY_BODY
    facts: dict[str, object] = {"channel": dict(inbound.facts)} if inbound.facts else {}
    conversation = await open_conversation_of(session, contact_id, inbox.id)
    if conversation is not None:
        message, created = await do_add_message(
            session,
            actor,
            conversation,
            NewMessage(body=body, client_id=client_id, data=facts or None),
            channel=inbound.channel,
        )
    else:
        data = ConversationCreate(body=body, locale=locale, client_id=client_id)
        conversation, created, first = await do_create_conversation(
            session, actor, data, channel=inbound.channel, inbox_id=inbox.id, route_to_team=inbox.team_id
        )
        if first is None:  # a redelivery of the opening message
            message = await _message_by_client_id(session, conversation, client_id)
        else:
            message = first
            if facts:
                message.data = {**message.data, **facts}
    if created and files:
        await do_attach_files(session, conversation, message, files, sensitive=False)
    return Ingested(conversation, message, created)


async def _message_by_client_id(session: AsyncSession, conversation: Conversation, client_id: str) -> Message:
    message = await session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.client_id == client_id)
    )
    if message is None:
        raise NotFound("the original message is gone")
    return message
