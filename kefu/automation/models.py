"""Tables of automation: triggers, the auto-close policy, macros and saved views.

The JSON columns (conditions, actions, bodies, filters) are written only after validation by the
pydantic models in `rules.py`, `macros.py` and `views.py`, and are validated again when read.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, IdMixin, JSONType, TimestampMixin


def _empty_list() -> list[Any]:
    return []


class Trigger(IdMixin, TimestampMixin, Base):
    """A rule run by the conversation pipeline: when `on` happens and all conditions hold, act."""

    __tablename__ = "triggers"
    # The pipeline's one query per change: active triggers of some kinds, in position order.
    __table_args__ = (Index("ix_triggers_on_active_position", "on", "is_active", "position"),)

    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    on: Mapped[str] = mapped_column(String(20))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=_empty_list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=_empty_list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class AutoClosePolicy(TimestampMixin, Base):
    """The single row saying when solved conversations close by themselves."""

    __tablename__ = "auto_close_policy"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    after_days: Mapped[int] = mapped_column(default=4)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class Macro(IdMixin, TimestampMixin, Base):
    """A canned reply per locale; shared with everyone or personal to its owner."""

    __tablename__ = "macros"

    name: Mapped[str] = mapped_column(String(100))
    bodies: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=_empty_list)
    shared: Mapped[bool] = mapped_column(default=False, index=True)
    # Set for personal macros only; a shared macro belongs to nobody in particular.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    usage_count: Mapped[int] = mapped_column(default=0)


class SavedView(IdMixin, TimestampMixin, Base):
    """A named conversation filter of one agent, optionally shared with everyone by a supervisor."""

    __tablename__ = "saved_views"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    shared: Mapped[bool] = mapped_column(default=False, index=True)
    position: Mapped[int] = mapped_column(default=0)
