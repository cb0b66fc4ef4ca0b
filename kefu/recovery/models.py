"""Recovery cases and their identity documents (the bytes are sealed attachments of the conversation)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, column
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, TimestampMixin


class RecoveryStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"  # a reviewer claimed it
    APPROVED = "approved"  # final: the exchange unlocked the account
    REJECTED = "rejected"  # final


OPEN_STATUSES = frozenset({RecoveryStatus.SUBMITTED, RecoveryStatus.IN_REVIEW})


class RecoveryReason(StrEnum):
    """What happened, as the customer chose it on the form."""

    LOST_2FA = "lost_2fa"
    LOST_EMAIL = "lost_email"  # forgot the password and lost the sign-in email too
    SUSPICIOUS_LOCK = "suspicious_lock"  # locked by the exchange after suspicious activity
    OTHER = "other"


class DocumentKind(StrEnum):
    ID_FRONT = "id_front"
    ID_BACK = "id_back"
    SELFIE = "selfie"  # the customer holding the document


class RecoveryCase(IdMixin, TimestampMixin, Base):
    """One recovery request: who it claims to be, its review, the decision and the documents' lifetime."""

    __tablename__ = "recovery_cases"
    __table_args__ = (
        Index("ix_recovery_cases_status_created", "status", "created_at"),
        # The purge job's scan: decided cases whose documents are still stored.
        Index(
            "ix_recovery_cases_purge_due",
            "purge_after",
            postgresql_where=column("purged_at").is_(None),
            sqlite_where=column("purged_at").is_(None),
        ),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    # What the customer typed (unproven: never attached to the contact as identities).
    email: Mapped[str] = mapped_column(String(320))
    exchange_uid: Mapped[str | None] = mapped_column(String(64), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    reason: Mapped[RecoveryReason] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)

    status: Mapped[RecoveryStatus] = mapped_column(String(20), default=RecoveryStatus.SUBMITTED)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # A key of kefu.recovery.reasons (the customer-facing text is translated when shown or emailed).
    decision_template: Mapped[str | None] = mapped_column(String(50), default=None)
    # The reviewer's internal note: never shown to the customer.
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # The account the exchange unlocked and its action id (for the exchange's own audit trail).
    unlocked_uid: Mapped[str | None] = mapped_column(String(64), default=None)
    unlock_action_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # The hold the exchange applies after the recovery, e.g. withdrawals locked 24 h after a 2FA reset.
    security_hold_until: Mapped[datetime | None] = mapped_column(default=None)
    security_hold_reason: Mapped[str | None] = mapped_column(String(50), default=None)
    purge_after: Mapped[datetime | None] = mapped_column(default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)


class RecoveryDocument(IdMixin, Base):
    """An identity document of a case: a sensitive attachment whose blob is sealed (envelope-encrypted)."""

    __tablename__ = "recovery_documents"
    __table_args__ = (UniqueConstraint("case_id", "kind"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recovery_cases.id", ondelete="CASCADE"))
    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[DocumentKind] = mapped_column(String(20))
    # Id of the master key wrapping the blob's data key: rotation finds the stale ones without reading blobs.
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)
