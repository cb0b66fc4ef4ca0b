"""Privacy requests (export, erasure) and the retention marks of purged conversations."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin

MAX_REASON_CHARS = 500
MAX_ERROR_CHARS = 200


class RequestKind(StrEnum):
    EXPORT = "export"
    ERASURE = "erasure"


class RequestStatus(StrEnum):
    PENDING = "pending"  # queued: the outbox job has not run yet
    COMPLETED = "completed"  # export ready to download, or erasure done
    FAILED = "failed"  # refused when run (e.g. a legal hold appeared) or the job gave up
    EXPIRED = "expired"  # an export past its expiry: the ZIP is deleted


class PrivacyRequest(IdMixin, Base):
    """One data-subject request, made by an administrator on the customer's behalf."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_status_expires", "status", "expires_at"),)

    kind: Mapped[RequestKind] = mapped_column(String(10))
    # SET NULL: the request (who asked, when, the outcome) outlives the contact.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[RequestStatus] = mapped_column(String(10), default=RequestStatus.PENDING)
    requested_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    # The staff's ground for the request (ticket number, legal basis); never the customer's data.
    reason: Mapped[str] = mapped_column(Text, default="")
    # The export's ZIP in the BlobStore (content-addressed), until it expires.
    blob_key: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int | None] = mapped_column(default=None)
    # What was exported or erased: counts only.
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(MAX_ERROR_CHARS), default=None)


class ConversationPurge(Base):
    """When retention purged a closed conversation (a side table: `conversations` is hot and wide)."""

    __tablename__ = "conversation_purges"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    attachments_purged_at: Mapped[datetime | None] = mapped_column(default=None)
    personal_data_purged_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when an erasure request (rather than the retention clock) scrubbed the conversation.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
