"""Business hours: one schedule per team (or the organisation default) and its dated exceptions."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, IdMixin, JSONType, TimestampMixin


class ExceptionKind(StrEnum):
    CLOSED = "closed"  # a company holiday
    WORKING = "working"  # a make-up working day (China's 调休) on a weekend or holiday


class Schedule(IdMixin, TimestampMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("NOT is_default OR team_id IS NULL", name="default_has_no_team"),
        # At most one organisation default.
        Index(
            "uq_schedules_default",
            "is_default",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["09:00", "18:00"]], ...}; validated by kefu.schedules.calendar.parse_weekly_hours.
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holiday_country: Mapped[str | None] = mapped_column(String(10), default=None)
    holiday_subdivision: Mapped[str | None] = mapped_column(String(20), default=None)
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), unique=True, default=None
    )
    is_default: Mapped[bool] = mapped_column(default=False)
    # Bumped by every change to the schedule or its exceptions: the key of cached calendars.
    version: Mapped[int] = mapped_column(default=1)


class ScheduleException(IdMixin, Base):
    __tablename__ = "schedule_exceptions"
    __table_args__ = (UniqueConstraint("schedule_id", "date"),)

    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[ExceptionKind] = mapped_column(String(10))
    # A working day's hours as [["09:00", "18:00"], ...]; empty means the schedule's Monday hours.
    intervals: Mapped[list[Any]] = mapped_column(JSONType, default=list)
