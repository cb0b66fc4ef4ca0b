"""One Telegram update into Kefu, the same way for the webhook and the poller.

A customer's message is stored through `do_ingest` (idempotent on the update id). Its photo or
document is fetched through getFile first; a file Kefu refuses (too large, a type the file pipeline does
not take) does not lose the message: the text is stored with a note of what was refused, and an audit
event records it, so the agent can ask for another format. /start is answered with the greeting only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.adapter import ChannelFile, ChannelInbox, DeliveryRefused, InboundMessage
from kefu.channels.ingest import do_ingest
from kefu.channels.telegram.adapter import TelegramAdapter
from kefu.channels.telegram.api import FileTooLarge, TelegramError
from kefu.channels.telegram.updates import Greeting, Ignored, Incoming, parse_update
from kefu.channels.webhooks import record_files_refused, record_rejection
from kefu.core.errors import InvalidInput, TooLarge, UnsupportedMedia
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """What became of an update: stored, duplicate, greeted, greeting_failed or ignored."""

    outcome: str
    update_id: int
    conversation_id: uuid.UUID | None = None
    refused_files: int = 0


async def record_rejected(
    sessionmaker: async_sessionmaker[AsyncSession], inbox_id: uuid.UUID, reason: str, ip: str | None = None
) -> None:
    """Audit an update that could not be read (the reason names the defect, never quotes the body)."""
    await record_rejection(sessionmaker, inbox_id, reason[:200], ip=ip, details={"channel": "telegram"})


async def _fetch(
    adapter: TelegramAdapter, inbox: ChannelInbox, incoming: Incoming
) -> tuple[list[ChannelFile], list[dict[str, Any]]]:
    files: list[ChannelFile] = []
    refused: list[dict[str, Any]] = []
    for ref in incoming.files:
        try:
            files.append(await adapter.fetch_file(inbox, ref))
        except FileTooLarge:
            refused.append({"filename": ref.filename, "reason": "too_large"})
        except DeliveryRefused:  # the inbox has no bot token: nothing can be fetched until it has
            refused.append({"filename": ref.filename, "reason": "not_configured"})
        except TelegramError as error:
            if not 400 <= error.error_code < 500:
                raise  # Telegram or the network failed for now: the update is tried again
            # An unknown file id, a file gone from Telegram's servers: asking again will not help.
            refused.append({"filename": ref.filename, "reason": "unavailable"})
    return files, refused


async def do_receive_update(
    adapter: TelegramAdapter,
    inbox: ChannelInbox,
    payload: object,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
) -> Received:
    """Handle one decoded update. MalformedUpdate for what is not one; TelegramError or RetryAfter
    when a file could not be fetched for now (the caller lets Telegram deliver the update again)."""
    parsed = parse_update(payload)
    if isinstance(parsed, Ignored):
        log.info("telegram_update_ignored", inbox_id=str(inbox.id), reason=parsed.reason)
        return Received("ignored", parsed.update_id)
    if isinstance(parsed, Greeting):
        greeted = await adapter.greet(inbox, parsed)
        return Received("greeted" if greeted else "greeting_failed", parsed.update_id)
    files, refused = await _fetch(adapter, inbox, parsed)
    inbound = InboundMessage(
        inbox_id=inbox.id,
        channel=ChannelKind.TELEGRAM,
        sender_id=parsed.sender_id,
        external_id=str(parsed.update_id),
        text=parsed.text,
        sender_name=parsed.sender_name,
        locale=parsed.locale,
        files=tuple(files),
        facts=parsed.facts,
    )
    settings = adapter.settings
    if files:
        # Files that could not even be fetched are noted on the message that carries the others.
        with_files = _with_note(inbound, refused, files=inbound.files) if refused else inbound
        try:
            async with transaction(sessionmaker) as session:
                ingested = await do_ingest(session, with_files, blobs=blobs, settings=settings)
                if refused and ingested.created:
                    await _audit_refused(session, ingested.conversation.id, refused, inbox.id)
            return Received(
                _outcome(ingested.created), parsed.update_id, ingested.conversation.id, len(refused)
            )
        except (TooLarge, UnsupportedMedia, InvalidInput) as exc:
            reason = "too_large" if isinstance(exc, TooLarge) else "unsupported"
            refused += [{"filename": file.filename, "reason": reason} for file in files]
    if refused:
        inbound = _with_note(inbound, refused, files=())
    async with transaction(sessionmaker) as session:
        ingested = await do_ingest(session, inbound, blobs=blobs, settings=settings)
        if refused and ingested.created:
            await _audit_refused(session, ingested.conversation.id, refused, inbox.id)
    return Received(_outcome(ingested.created), parsed.update_id, ingested.conversation.id, len(refused))


async def _audit_refused(
    session: AsyncSession, conversation_id: uuid.UUID, refused: list[dict[str, Any]], inbox_id: uuid.UUID
) -> None:
    await record_files_refused(
        session, conversation_id, refused, ip=None, details={"channel": "telegram", "inbox_id": str(inbox_id)}
    )


def _outcome(created: bool) -> str:
    return "stored" if created else "duplicate"


def _with_note(
    inbound: InboundMessage, refused: list[dict[str, Any]], *, files: tuple[ChannelFile, ...]
) -> InboundMessage:
    names = ", ".join(str(item["filename"]) for item in refused)
    note = f"[file not accepted: {names}]"
    text = f"{inbound.text}\n{note}" if inbound.text.strip() else note
    facts = {**inbound.facts, "refused_files": refused}
    return replace(inbound, text=text, files=files, facts=facts)
