"""What the providers' webhooks share below the web layer: the inbox lookup, the tally of a delivery,
and the audits of refused deliveries and refused files.

Audit details name the defect, never quote the body or a credential.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.audit.actions import record_audit
from kefu.channels.adapter import ChannelInbox
from kefu.channels.credentials import channel_inbox
from kefu.core.errors import NotFound
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.storage.envelope import Keyring

REJECTED: Final = "channel.webhook_rejected"
FILE_REFUSED: Final = "channel.file_refused"


@dataclass(frozen=True, slots=True)
class Received:
    """How a delivery went: messages stored (new), redeliveries, messages that could not be stored."""

    stored: int = 0
    duplicates: int = 0
    dropped: int = 0


async def get_webhook_inbox(
    session: AsyncSession, keyring: Keyring, inbox_id: uuid.UUID, channel: ChannelKind
) -> ChannelInbox:
    """The active inbox of `channel` with its credentials; NotFound for anything else.

    DecryptionFailed when the credentials cannot be opened."""
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or not inbox.is_active or inbox.channel != channel:
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
    """Audit a refused or partly unusable webhook delivery, in a transaction of its own."""
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


async def record_unusable(
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox_id: uuid.UUID,
    reason: str,
    *,
    received: Received,
    skipped: int,
    ip: str | None,
) -> Received:
    """Audit how many items of a delivery were skipped (unreadable) or dropped, if any; return `received`."""
    if skipped or received.dropped:
        await record_rejection(
            sessionmaker, inbox_id, reason, ip=ip, details={"skipped_count": skipped + received.dropped}
        )
    return received


async def record_files_refused(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    refused: Sequence[Mapping[str, Any]],
    *,
    ip: str | None,
    details: Mapping[str, Any],
) -> None:
    """Audit the customer's files that were not kept with their (stored) message; the caller commits."""
    await record_audit(
        session,
        action=FILE_REFUSED,
        actor=None,
        target_type="conversation",
        target_id=str(conversation_id),
        ip=ip,
        details={**details, "files": list(refused)},
    )
