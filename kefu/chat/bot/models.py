"""Counting what the chat bot achieved: one small row per answer, deflection or handover.

No customer data: the conversation it happened in, what happened, and the category detected.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, JSONType


class BotOutcomeEvent(IdMixin, Base):
    """The bot answered with articles, was told they solved it, or handed over to a person."""

    __tablename__ = "chat_bot_outcomes"
    __table_args__ = (Index("ix_chat_bot_outcomes_created_at", "created_at"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # A kefu.chat.bot.engine.Outcome value.
    outcome: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(30), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BotSession(Base):
    """Where the bot is in one chat (kefu.chat.bot.engine.BotState as JSON), between turns."""

    __tablename__ = "chat_bot_sessions"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["BotOutcomeEvent", "BotSession"]
