"""Conversations (tickets), their messages, tags and attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, bindparam, column, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.conversations.states import AuthorKind, Category, MessageKind, Priority, Status
from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, JSONType, TimestampMixin
from kefu.inboxes.models import ChannelKind


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The console's views (kefu.workspace.views): each filters on status and pages by activity.
        Index("ix_conversations_status_activity", "status", "last_activity_at"),
        Index("ix_conversations_assignee_status", "assignee_id", "status", "last_activity_at"),
        Index("ix_conversations_team_status", "team_id", "status", "last_activity_at"),
        # Not-yet-solved conversations are a small, hot slice: "all open" pages walk this backwards.
        Index(
            "ix_conversations_open_activity",
            "last_activity_at",
            "id",
            postgresql_where=column("status").in_(["new", "open", "pending", "on_hold"]),
            sqlite_where=column("status").in_(["new", "open", "pending", "on_hold"]),
        ),
        # Search by the order id / tx hash a customer gave (kefu.workspace.search builds the same
        # expressions; the key is rendered literally so both SQLite and PostgreSQL match the index).
        Index(
            "ix_conversations_form_order_id",
            column("form_fields", JSONType)[
                bindparam(None, "order_id", type_=JSON.JSONStrIndexType(), literal_execute=True)
            ].as_string(),
        ),
        Index(
            "ix_conversations_form_tx_hash",
            func.lower(
                column("form_fields", JSONType)[
                    bindparam(None, "tx_hash", type_=JSON.JSONStrIndexType(), literal_execute=True)
                ].as_string()
            ),
        ),
        UniqueConstraint("contact_id", "client_id"),
    )

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    inbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inboxes.id", ondelete="SET NULL"))
    channel: Mapped[ChannelKind] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[Status] = mapped_column(String(20), default=Status.NEW)
    priority: Mapped[Priority] = mapped_column(String(20), default=Priority.NORMAL)
    category: Mapped[Category] = mapped_column(String(30), default=Category.GENERAL, index=True)
    form_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    # Allocates message seqs: bumped in the same statement that reads it, so seqs never repeat.
    last_seq: Mapped[int] = mapped_column(default=0)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    solved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when this conversation was merged into another (it is then closed; the other carries on).
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    # Lets a client retry "create" safely: the same (contact, client_id) returns the same conversation.
    client_id: Mapped[str | None] = mapped_column(String(100), default=None)

    tag_rows: Mapped[list[ConversationTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ConversationTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ConversationTag(Base):
    __tablename__ = "conversation_tags"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[MessageKind] = mapped_column(String(10))
    author_kind: Mapped[AuthorKind] = mapped_column(String(10))
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    author_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    # Already redacted and plain text; rendering escapes it.
    body: Mapped[str] = mapped_column(Text, default="")
    # Structured data of an event message (e.g. {"field": "status", "from": "new", "to": "open"}).
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_id: Mapped[str | None] = mapped_column(String(100), default=None)
    channel: Mapped[ChannelKind] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin", order_by="Attachment.created_at")


class Attachment(IdMixin, Base):
    """A file on a message; bytes live in the BlobStore under their sha256."""

    __tablename__ = "attachments"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    blob_key: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    # Identity documents: readable only by KYC reviewers, every read audited.
    sensitive: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
