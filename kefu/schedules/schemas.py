"""Pydantic shapes of the schedules API (input is strict: unknown fields are refused)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from kefu.conversations.schemas import refuse_nul
from kefu.schedules.calendar import (
    check_holiday_region,
    check_timezone,
    intervals_json,
    parse_intervals,
    parse_weekly_hours,
    weekly_hours_json,
)
from kefu.schedules.models import ExceptionKind

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2100, 12, 31)


class ScheduleIn(BaseModel):
    """A whole schedule (PUT replaces every field)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    timezone: Annotated[str, StringConstraints(max_length=64)]
    weekly_hours: dict[str, Any]
    holiday_country: Annotated[str, StringConstraints(max_length=10)] | None = None
    holiday_subdivision: Annotated[str, StringConstraints(max_length=20)] | None = None
    team_id: uuid.UUID | None = None
    is_default: bool = False

    _no_nul = field_validator("name", mode="before")(refuse_nul)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        check_timezone(value)
        return value

    @field_validator("weekly_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> dict[str, Any]:
        hours = parse_weekly_hours(value)
        if not any(hours):
            # A calendar that is never open could place no deadline at all.
            raise ValueError("a schedule needs at least one open interval a week")
        return weekly_hours_json(hours)

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleIn:
        check_holiday_region(self.holiday_country, self.holiday_subdivision)
        if self.is_default and self.team_id is not None:
            raise ValueError("the default schedule belongs to no team")
        return self


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    timezone: str
    weekly_hours: dict[str, Any]
    holiday_country: str | None
    holiday_subdivision: str | None
    team_id: uuid.UUID | None
    is_default: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ExceptionIn(BaseModel):
    """A dated exception: closed all day, or a working day (with its own hours or the Monday hours)."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(ge=_EARLIEST, le=_LATEST)
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    kind: ExceptionKind
    intervals: list[Any] = Field(default_factory=list, max_length=12)

    _no_nul = field_validator("name", mode="before")(refuse_nul)

    @field_validator("intervals", mode="before")
    @classmethod
    def _intervals(cls, value: Any) -> list[Any]:
        return intervals_json(parse_intervals(value))

    @model_validator(mode="after")
    def _consistent(self) -> ExceptionIn:
        if self.kind == ExceptionKind.CLOSED and self.intervals:
            raise ValueError("a closed day has no hours")
        return self


class ExceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    schedule_id: uuid.UUID
    date: dt.date
    name: str
    kind: ExceptionKind
    intervals: list[Any]
