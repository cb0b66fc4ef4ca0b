"""Inbound email as received (raw bytes kept, compressed, in the blob store) and the Message-IDs that
thread later mail into conversations."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin

MAX_ADDRESS_LENGTH = 320
# RFC 5322 allows long Message-IDs; anything longer than this is not worth threading on.
MAX_MESSAGE_ID_LENGTH = 250


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored, waiting for the ingest job
    INGESTED = "ingested"  # became a conversation or a message
    HELD = "held"  # a reply from an address that is not on the conversation: an agent decides
    IGNORED = "ignored"  # bounces, auto-replies, rate-limited senders: kept, never answered
    FAILED = "failed"  # the ingest job gave up (the raw message is still here)


class InboundSource(StrEnum):
    SMTP = "smtp"
    IMAP = "imap"


class InboundEmail(IdMixin, Base):
    """One message as it arrived. Written before the SMTP 250 / IMAP flag, so nothing acknowledged is lost."""

    __tablename__ = "inbound_emails"
    __table_args__ = (
        # The same bytes to the same mailbox are one message (a sender's retry, an IMAP re-poll).
        UniqueConstraint("mailbox", "raw_sha256"),
        Index("ix_inbound_emails_status_received", "status", "received_at"),
    )

    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[InboundSource] = mapped_column(String(10))
    mailbox: Mapped[str] = mapped_column(String(MAX_ADDRESS_LENGTH))
    envelope_from: Mapped[str | None] = mapped_column(String(MAX_ADDRESS_LENGTH), default=None)
    peer_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    helo: Mapped[str | None] = mapped_column(String(255), default=None)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    # Blob key of the compressed raw bytes (kefu.mail.inbound.raw).
    raw_key: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    from_address: Mapped[str | None] = mapped_column(String(MAX_ADDRESS_LENGTH), default=None, index=True)
    message_id_header: Mapped[str | None] = mapped_column(String(MAX_MESSAGE_ID_LENGTH), default=None)
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[InboundStatus] = mapped_column(String(10), default=InboundStatus.RECEIVED)
    reason: Mapped[str] = mapped_column(String(200), default="")
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None, index=True
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    # Parser problems, the sender verdict, the auto-reply kind: what agents are shown about the mail.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ThreadDirection(StrEnum):
    IN = "in"
    OUT = "out"


class EmailThreadId(Base):
    """A Message-ID seen in a conversation (ours outbound, theirs inbound): In-Reply-To and References
    of later mail are looked up here."""

    __tablename__ = "email_thread_ids"

    message_id: Mapped[str] = mapped_column(String(MAX_MESSAGE_ID_LENGTH), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[ThreadDirection] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
