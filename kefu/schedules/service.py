"""Reads: schedules, their exceptions, and the business calendar that applies to a team."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Final

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import NotFound
from kefu.db.cache import ConfigCache
from kefu.schedules.calendar import BusinessCalendar, Interval, parse_intervals, parse_weekly_hours
from kefu.schedules.models import ExceptionKind, Schedule, ScheduleException

# Calendars keep per-year holiday tables and per-day intervals, so reusing them saves real work.
_CACHE_SIZE: Final = 256
_cache: OrderedDict[tuple[uuid.UUID, int], BusinessCalendar] = OrderedDict()
_ALWAYS_OPEN = BusinessCalendar("UTC")


async def list_schedules(session: AsyncSession) -> list[Schedule]:
    """Every schedule, the default first, then by name."""
    rows = await session.scalars(select(Schedule).order_by(Schedule.is_default.desc(), Schedule.name))
    return list(rows.all())


async def get_schedule(session: AsyncSession, schedule_id: uuid.UUID) -> Schedule:
    """The schedule; NotFound if missing."""
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None:
        raise NotFound("schedule not found")
    return schedule


async def list_exceptions(session: AsyncSession, schedule_id: uuid.UUID) -> list[ScheduleException]:
    """A schedule's exceptions by date."""
    rows = await session.scalars(
        select(ScheduleException)
        .where(ScheduleException.schedule_id == schedule_id)
        .order_by(ScheduleException.date)
    )
    return list(rows.all())


def build_calendar(schedule: Schedule, exceptions: Sequence[ScheduleException]) -> BusinessCalendar:
    """The calendar of a stored schedule (its JSON was validated on the way in)."""
    closed: set[date] = set()
    working: dict[date, tuple[Interval, ...]] = {}
    for item in exceptions:
        if item.kind == ExceptionKind.CLOSED:
            closed.add(item.date)
        else:
            working[item.date] = parse_intervals(item.intervals or [])
    return BusinessCalendar(
        schedule.timezone,
        parse_weekly_hours(schedule.weekly_hours),
        closed_dates=frozenset(closed),
        working_dates=working,
        holiday_country=schedule.holiday_country,
        holiday_subdivision=schedule.holiday_subdivision,
    )


async def find_schedule_for_team(session: AsyncSession, team_id: uuid.UUID | None) -> Schedule | None:
    """The team's own schedule, else the organisation default, else None (always open)."""
    clause: ColumnElement[bool] = Schedule.is_default.is_(True)
    if team_id is not None:
        clause = or_(Schedule.team_id == team_id, clause)
    # The team's own row (is_default false) sorts before the default.
    return await session.scalar(select(Schedule).where(clause).order_by(Schedule.is_default).limit(1))


# Team → calendar, invalidated by every schedule change (kefu.schedules.actions).
TEAM_CALENDARS: ConfigCache[BusinessCalendar] = ConfigCache("team_calendars")


async def get_calendar_for_team(session: AsyncSession, team_id: uuid.UUID | None) -> BusinessCalendar:
    """The business calendar of `team_id` (None: the default), cached per process."""

    async def load(session: AsyncSession) -> BusinessCalendar:
        return await _calendar_for_team(session, team_id)

    return await TEAM_CALENDARS.get(session, team_id, load)


async def _calendar_for_team(session: AsyncSession, team_id: uuid.UUID | None) -> BusinessCalendar:
    schedule = await find_schedule_for_team(session, team_id)
    if schedule is None:
        return _ALWAYS_OPEN
    key = (schedule.id, schedule.version)
    calendar = _cache.get(key)
    if calendar is None:
        calendar = build_calendar(schedule, await list_exceptions(session, schedule.id))
        _cache[key] = calendar
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return calendar
