"""Call-back requests: a customer's number and the window we promised to call in, and what happened."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, IdMixin, TimestampMixin


class CallbackStatus(StrEnum):
    REQUESTED = "requested"  # asked for on a call (the caller heard the time; no email address known)
    SCHEDULED = "scheduled"  # booked on the help-center form and announced by email
    DONE = "done"  # final: the agent spoke to the customer
    NO_ANSWER = "no_answer"  # an attempt failed; the agent may try again and log another outcome
    CANCELLED = "cancelled"  # final


OPEN_STATUSES = frozenset({CallbackStatus.REQUESTED, CallbackStatus.SCHEDULED, CallbackStatus.NO_ANSWER})


class CallbackSource(StrEnum):
    FORM = "form"
    IVR = "ivr"


class CallbackRequest(IdMixin, TimestampMixin, Base):
    """One call back owed to a customer: who, from which official line, when, and the outcome."""

    __tablename__ = "callback_requests"
    # The agents' queue reads open requests by the start of their window.
    __table_args__ = (Index("ix_callback_requests_status_window", "status", "window_start"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("inboxes.id", ondelete="SET NULL"), default=None
    )
    # E.164, checked with phonenumbers.
    number: Mapped[str] = mapped_column(String(20))
    # The official number the agent calls from, as announced to the customer (E.164).
    official_number: Mapped[str] = mapped_column(String(20), default="")
    window_start: Mapped[datetime] = mapped_column()
    # Also the callback's own deadline: an open request past it is overdue.
    window_end: Mapped[datetime] = mapped_column()
    # The customer's zone as given (an IANA name or a "+08:00" offset): times are worded in it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    topic: Mapped[str] = mapped_column(String(20), default="other")
    source: Mapped[CallbackSource] = mapped_column(String(10), default=CallbackSource.FORM)
    status: Mapped[CallbackStatus] = mapped_column(String(20), default=CallbackStatus.REQUESTED)
    attempts: Mapped[int] = mapped_column(default=0)
    # The agent's note on the last outcome (internal: never shown to the customer).
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    outcome_at: Mapped[datetime | None] = mapped_column(default=None)
