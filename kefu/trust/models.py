"""Trust and safety records: one-time codes that prove who the customer in a conversation is."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin


class ChallengeMethod(StrEnum):
    """Where the code was sent: the contact's registered email, or the exchange's own channel (port)."""

    EMAIL = "email"
    EXCHANGE = "exchange"


class IdentityChallenge(IdMixin, Base):
    """A one-time code an agent sent to the customer of a conversation; consumed when entered.

    Only a keyed hash of the code is stored; a consumed challenge is the proof that the conversation is
    verified (`identity_verified_at` of the conversation's customer, shown on the timeline).
    """

    __tablename__ = "identity_challenges"
    __table_args__ = (Index("ix_identity_challenges_conversation_created", "conversation_id", "created_at"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    method: Mapped[ChallengeMethod] = mapped_column(String(20))
    # Masked for the agent's timeline ("a***@example.com"); never the full address.
    destination: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when a newer code replaces it or too many wrong attempts used it up.
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
