"""Teams (who works a conversation) and inboxes (where it came in: a mailbox, a chat widget, a bot)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, IdMixin, TimestampMixin


class ChannelKind(StrEnum):
    API = "api"
    WEB = "web"
    EMAIL = "email"
    CHAT = "chat"
    TELEGRAM = "telegram"
    MESSENGER = "messenger"
    X = "x"
    PHONE = "phone"


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    # Private teams' conversations are visible only to members (and supervisors/admins).
    is_private: Mapped[bool] = mapped_column(default=False)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Inbox(IdMixin, TimestampMixin, Base):
    __tablename__ = "inboxes"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[ChannelKind] = mapped_column(String(20))
    # Channel-specific address: a support email, a bot username, a widget id.
    address: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Channel settings that are not secret (a Messenger page id, the Telegram mode, phone menus).
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Credentials (bot token, app secret, auth token): a JSON object sealed with the document keys
    # (kefu.channels.credentials), never returned by the API.
    secrets_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
