"""When a phone line is answered: "open now, closes at …" or "closed, opens …", and its weekly hours.

Pure (no database): built on the line's BusinessCalendar (kefu.schedules), so public holidays,
closed days and make-up working days count exactly as they do for SLA deadlines. Times come back
tz-aware in the calendar's own zone, which is the zone the page shows them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final

import holidays

from kefu.schedules.calendar import MINUTES_PER_DAY, BusinessCalendar, Interval, NeverOpen

# An open interval ending at 24:00 continues into the next day's 00:00 interval; a week of that
# means the line never closes within the horizon a page cares about.
_CHAIN_DAYS: Final = 8


@dataclass(frozen=True)
class DayGroup:
    """Consecutive weekdays (0 = Monday) with the same regular hours; no intervals means closed."""

    first: int
    last: int
    intervals: tuple[Interval, ...]


@dataclass(frozen=True)
class LineHours:
    """A line's state at one instant and its regular week, in its calendar's zone."""

    timezone: str
    always_open: bool
    open_now: bool
    # When open: the end of the current opening (None when it does not end within a week).
    closes_at: datetime | None
    # When closed: the next opening, holidays skipped (None when the calendar never opens).
    opens_at: datetime | None
    # When closed all day for a public holiday or a company closed day: its name ("" if unnamed).
    holiday: str | None
    week: tuple[DayGroup, ...]


def closed_for_the_day(calendar: BusinessCalendar, day: date) -> bool:
    """Whether local date `day` is closed although its weekday normally opens (a holiday or closure)."""
    return not calendar.local_hours(day) and bool(calendar.weekly[day.weekday()])


def group_week(calendar: BusinessCalendar) -> tuple[DayGroup, ...]:
    """The regular weekly hours as runs of consecutive weekdays with equal hours."""
    groups: list[DayGroup] = []
    for weekday, intervals in enumerate(calendar.weekly):
        if groups and groups[-1].intervals == intervals:
            groups[-1] = DayGroup(groups[-1].first, weekday, intervals)
        else:
            groups.append(DayGroup(weekday, weekday, intervals))
    return tuple(groups)


def _at(calendar: BusinessCalendar, day: date, minutes: int) -> datetime:
    extra, minutes = divmod(minutes, MINUTES_PER_DAY)
    return datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60), calendar.zone)


def _closes_at(calendar: BusinessCalendar, local: datetime) -> datetime | None:
    """The end of the opening that contains `local`, following 24:00 → 00:00 into later days."""
    day = local.date()
    minute = local.hour * 60 + local.minute
    end = next((e for s, e in calendar.local_hours(day) if s <= minute < e), None)
    if end is None:
        return None  # inside a DST gap: open by UTC, no local interval to name
    for _ in range(_CHAIN_DAYS):
        if end < MINUTES_PER_DAY:
            return _at(calendar, day, end)
        day += timedelta(days=1)
        following = calendar.local_hours(day)
        if not following or following[0][0] != 0:
            return _at(calendar, day, 0)
        end = following[0][1]
    return None


def line_hours(calendar: BusinessCalendar, *, now: datetime, holiday: str | None = None) -> LineHours:
    """The line's state at `now` (tz-aware); `holiday` names today's closure (see `holiday_name`)."""
    local = now.astimezone(calendar.zone)
    week = group_week(calendar)
    if calendar.always_open:
        return LineHours(calendar.zone.key, True, True, None, None, None, week)
    if calendar.is_open(now):
        return LineHours(calendar.zone.key, False, True, _closes_at(calendar, local), None, None, week)
    try:
        opens_at: datetime | None = calendar.next_open(now).astimezone(calendar.zone)
    except NeverOpen:
        opens_at = None
    named = holiday if closed_for_the_day(calendar, local.date()) else None
    return LineHours(calendar.zone.key, False, False, None, opens_at, named, week)


def _holiday_language(
    supported: tuple[str, ...], default: str | None, locale: str, country: str
) -> str | None:
    """The holidays package's language closest to a page locale ("zh-CN" → "zh_CN"; "en" in Hong Kong
    → "en_HK", else the country's default if English, else "en_US")."""
    wanted = locale.replace("-", "_")
    primary = wanted.split("_", 1)[0]
    # The country's own variant first when there is one ("Labour Day" in Hong Kong English).
    for candidate in (wanted, f"{primary}_{country}", default or "", f"{primary}_US", *sorted(supported)):
        if candidate in supported and candidate.split("_", 1)[0] == primary:
            return candidate
    return default


@lru_cache(maxsize=128)
def _holiday_table(country: str, subdivision: str | None, year: int, locale: str) -> dict[date, str]:
    probe: Any = holidays.country_holidays(country, subdiv=subdivision, years=year)
    supported = tuple(getattr(probe, "supported_languages", ()) or ())
    language = _holiday_language(supported, getattr(probe, "default_language", None), locale, country)
    table: Any = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return {day: str(name) for day, name in table.items() if day.year == year}


def holiday_name(
    calendar: BusinessCalendar, day: date, *, locale: str, closures: Mapping[date, str] | None = None
) -> str:
    """The name of the closure on `day`: the schedule's own closed day first, then the public holiday.

    `closures` maps the schedule's closed exception dates to their names; "" when nothing names it.
    """
    named = (closures or {}).get(day)
    if named:
        return named
    if calendar.holiday_country is None or not 1900 < day.year < 2200:
        return ""
    return _holiday_table(calendar.holiday_country, calendar.holiday_subdivision, day.year, locale).get(
        day, ""
    )
