"""Request form settings and deflection counts.

`request_form_fields` holds the fields admins add to a category's built-in form; values customers
enter live in the conversation's `form_fields` JSON, so deactivating or deleting a field never
touches them. `deflection_events` is one small row per thing that happened in a help-center form
session (an article suggested, a suggested article opened, the request sent): no customer data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, JSONType, TimestampMixin


class FieldKind(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    SELECT = "select"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    CHECKBOX = "checkbox"


class DeflectionKind(StrEnum):
    SUGGESTED = "suggested"  # an article was listed while the subject was typed
    OPENED = "opened"  # the reader opened one of the suggested articles
    SUBMITTED = "submitted"  # the form session sent its request


def _no_choices() -> list[dict[str, Any]]:
    return []


class RequestFormField(IdMixin, TimestampMixin, Base):
    """A field an admin added to one category's request form."""

    __tablename__ = "request_form_fields"
    __table_args__ = (UniqueConstraint("category", "name"),)

    category: Mapped[str] = mapped_column(String(30), index=True)
    # The key under form_fields; fixed once created (stored values are filed under it).
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[FieldKind] = mapped_column(String(20))
    label_en: Mapped[str] = mapped_column(String(100), default="")
    label_zh: Mapped[str] = mapped_column(String(100), default="")
    help_en: Mapped[str] = mapped_column(String(300), default="")
    help_zh: Mapped[str] = mapped_column(String(300), default="")
    required: Mapped[bool] = mapped_column(default=False)
    max_length: Mapped[int | None] = mapped_column(default=None)
    # [{"value": "spot", "label_en": "Spot", "label_zh": "现货"}] for selects, else [].
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=_no_choices)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class DeflectionEvent(IdMixin, Base):
    """One event of a help-center form session, for counting deflected requests."""

    __tablename__ = "deflection_events"
    __table_args__ = (
        # One row per (session, kind, article): repeats from a reader typing on are not stored.
        UniqueConstraint("session_id", "kind", "article_id"),
        Index("ix_deflection_events_created_at", "created_at"),
    )

    # A random id the page makes when it loads: not linked to a person or a conversation.
    session_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[DeflectionKind] = mapped_column(String(12))
    article_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), default=None, index=True
    )
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["DeflectionEvent", "DeflectionKind", "FieldKind", "RequestFormField"]
