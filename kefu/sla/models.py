"""SLA policies (targets per kind of conversation) and each conversation's running clocks."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, IdMixin, TimestampMixin


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # waiting on the customer (or, for resolution, solved)
    ACHIEVED = "achieved"  # the agent replied / the conversation was solved
    STOPPED = "stopped"  # ended without being achieved (e.g. solved with no reply): not counted


def _empty_list() -> list[str]:
    return []


class SlaPolicy(IdMixin, TimestampMixin, Base):
    __tablename__ = "sla_policies"

    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0, index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Conditions: an empty list matches anything.
    priorities: Mapped[list[str]] = mapped_column(default=_empty_list)
    categories: Mapped[list[str]] = mapped_column(default=_empty_list)
    channels: Mapped[list[str]] = mapped_column(default=_empty_list)
    # Targets in business minutes; None means no target.
    first_response_minutes: Mapped[int | None] = mapped_column(default=None)
    next_response_minutes: Mapped[int | None] = mapped_column(default=None)
    resolution_minutes: Mapped[int | None] = mapped_column(default=None)


class ConversationSla(Base):
    """The SLA clocks of one conversation.

    Each target has a state (None: no clock), a deadline and a `breached` flag that, once set,
    stays: reports read met/breached outcomes from here. `next_due_at` is the earliest deadline
    still running and not yet breached; the periodic scan looks only at it and `warn_at`.
    """

    __tablename__ = "conversation_sla"
    # Overdue rows are few; the partial index keeps "needs attention" from scanning the table.
    __table_args__ = (
        Index(
            "ix_conversation_sla_overdue",
            "conversation_id",
            postgresql_where=text("overdue"),
            sqlite_where=text("overdue"),
        ),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL"), default=None
    )
    # The policy's targets when it was picked ({"first_response": 60, ...}); later edits of the
    # policy apply from the conversation's next re-pick.
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # priority|category|team|channel the policy was picked for: a difference means re-pick.
    basis: Mapped[str] = mapped_column(String(120), default="")
    started_at: Mapped[datetime]

    first_response_state: Mapped[str | None] = mapped_column(String(10), default=None)
    first_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_breached: Mapped[bool] = mapped_column(default=False)

    next_response_state: Mapped[str | None] = mapped_column(String(10), default=None)
    next_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    next_response_started_at: Mapped[datetime | None] = mapped_column(default=None)
    next_response_breached: Mapped[bool] = mapped_column(default=False)
    # Completed next-response cycles (a reply after a customer message), by outcome.
    next_response_met: Mapped[int] = mapped_column(default=0)
    next_response_missed: Mapped[int] = mapped_column(default=0)

    resolution_state: Mapped[str | None] = mapped_column(String(10), default=None)
    resolution_due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_breached: Mapped[bool] = mapped_column(default=False)

    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    # Business time spent waiting on the customer (and solved, before a reopen) so far.
    paused_seconds: Mapped[int] = mapped_column(default=0)

    next_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    next_due_target: Mapped[str | None] = mapped_column(String(20), default=None)
    warn_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    # A breached clock is still running: the conversation needs attention now.
    overdue: Mapped[bool] = mapped_column(default=False)
