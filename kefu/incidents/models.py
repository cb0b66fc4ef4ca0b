"""Incidents and planned maintenance, their timed updates, and the conversations linked to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, JSONType, TimestampMixin
from kefu.incidents.states import IncidentKind, IncidentStatus, Severity


class Incident(IdMixin, TimestampMixin, Base):
    __tablename__ = "incidents"
    # The status page and banner read "not yet over" rows; history reads by resolution time.
    __table_args__ = (Index("ix_incidents_status_kind", "status", "kind"),)

    kind: Mapped[IncidentKind] = mapped_column(String(20))
    # {locale: text}; the page falls back to English, then to any language written.
    title: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    severity: Mapped[Severity] = mapped_column(String(20))
    status: Mapped[IncidentStatus] = mapped_column(String(20))
    # Component keys, see kefu.incidents.components.
    components: Mapped[list[str]] = mapped_column(default=list)
    # When planned maintenance is due to start (incidents leave it empty).
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class IncidentUpdate(IdMixin, Base):
    __tablename__ = "incident_updates"

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    status: Mapped[IncidentStatus] = mapped_column(String(20))
    body: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class IncidentConversation(Base):
    """A conversation about an incident: its customer hears when the incident is over."""

    __tablename__ = "incident_conversations"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    linked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
