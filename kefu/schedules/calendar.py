"""Business time: when a team is open, and how much open time lies between two instants.

Pure (no database). Inputs and outputs are tz-aware datetimes, returned in UTC. A day's hours are
local wall-clock times in the schedule's zone, turned into UTC intervals one day at a time, so DST
days are simply shorter or longer. Arithmetic walks whole open intervals, never minutes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY: Final = 24 * 60
# A search for the next open minute gives up after this many closed days in a row.
MAX_CLOSED_DAYS: Final = 400
MAX_INTERVALS_PER_DAY: Final = 12

# (start, end) in minutes since local midnight; end may be 1440 ("24:00").
Interval = tuple[int, int]
WeeklyHours = tuple[tuple[Interval, ...], ...]  # index 0 = Monday

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_ZERO = timedelta(0)


class NeverOpen(ValueError):
    """The calendar has no open time within the search limit."""


def parse_time(text: object) -> int:
    """Minutes since midnight of "HH:MM" (00:00–24:00); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("a time must be a string 'HH:MM'")
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"{text[:10]!r} is not a time 'HH:MM'")
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is after 24:00")
    return minutes


def format_time(minutes: int) -> str:
    """ "HH:MM" of minutes since midnight (1440 → "24:00")."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_intervals(raw: object) -> tuple[Interval, ...]:
    """A day's `[["09:00","12:00"], ...]` as sorted, disjoint minute intervals; ValueError otherwise."""
    if not isinstance(raw, list | tuple):
        raise ValueError("a day's hours must be a list of [start, end] pairs")
    if len(raw) > MAX_INTERVALS_PER_DAY:
        raise ValueError(f"at most {MAX_INTERVALS_PER_DAY} intervals a day")
    parsed: list[Interval] = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError("each interval is a [start, end] pair")
        start, end = parse_time(pair[0]), parse_time(pair[1])
        if start >= end:
            raise ValueError(f"{format_time(start)}–{format_time(end)} ends before it starts")
        parsed.append((start, end))
    for (_s1, e1), (s2, _e2) in itertools.pairwise(parsed):
        if s2 < e1:
            raise ValueError("intervals must be sorted and must not overlap")
    return tuple(parsed)


def parse_weekly_hours(raw: object) -> WeeklyHours:
    """`{"mon": [["09:00","18:00"]], ...}` (missing days are closed) as WeeklyHours; ValueError otherwise."""
    if not isinstance(raw, Mapping):
        raise ValueError("weekly hours must be an object keyed by mon..sun")
    unknown = set(raw) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown day {sorted(map(str, unknown))[0][:10]!r}; use mon..sun")
    return tuple(parse_intervals(raw.get(day, [])) for day in WEEKDAYS)


def weekly_hours_json(hours: WeeklyHours) -> dict[str, list[list[str]]]:
    """The JSON form of `hours` (every day present)."""
    return {day: [[format_time(s), format_time(e)] for s, e in hours[i]] for i, day in enumerate(WEEKDAYS)}


def intervals_json(intervals: Sequence[Interval]) -> list[list[str]]:
    """The JSON form of one day's intervals."""
    return [[format_time(s), format_time(e)] for s, e in intervals]


ALWAYS_OPEN: Final[WeeklyHours] = tuple(((0, MINUTES_PER_DAY),) for _ in WEEKDAYS)


def check_timezone(name: str) -> ZoneInfo:
    """The zone called `name` (IANA); ValueError if unknown."""
    try:
        if not name or len(name) > 64 or ".." in name or name.startswith("/"):
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name[:64]!r}") from None


@cache
def _supported_countries() -> dict[str, list[str]]:
    return {code: list(subdivs) for code, subdivs in holidays.list_supported_countries().items()}


def check_holiday_region(country: str | None, subdivision: str | None) -> None:
    """ValueError unless `country` (and `subdivision`, if given) is known to the holidays package."""
    if country is None:
        if subdivision is not None:
            raise ValueError("a holiday subdivision needs a country")
        return
    subdivs = _supported_countries().get(country)
    if subdivs is None:
        raise ValueError(f"unknown holiday country {country[:10]!r}")
    if subdivision is not None and subdivision not in subdivs:
        raise ValueError(f"unknown subdivision {subdivision[:10]!r} of {country}")


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time needs tz-aware datetimes")


class BusinessCalendar:
    """Open hours of one schedule: weekly hours, a country's holidays and explicit exceptions.

    Precedence for a local date: an explicit closed or working exception, then the country's
    public holidays (closed) and make-up working days (working), then the weekday's hours. A working
    day with no explicit intervals uses `workday_hours` (by default the Monday hours).
    """

    def __init__(
        self,
        timezone: str,
        weekly: WeeklyHours = ALWAYS_OPEN,
        *,
        closed_dates: frozenset[date] = frozenset(),
        working_dates: Mapping[date, Sequence[Interval]] | None = None,
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        workday_hours: Sequence[Interval] | None = None,
    ) -> None:
        if len(weekly) != len(WEEKDAYS):
            raise ValueError("weekly hours need seven days")
        check_holiday_region(holiday_country, holiday_subdivision)
        self.zone = check_timezone(timezone)
        self.weekly = weekly
        self.closed_dates = closed_dates
        self.working_dates = {d: tuple(v) for d, v in (working_dates or {}).items()}
        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        fallback = next((day for day in weekly if day), ())
        self.workday_hours = tuple(workday_hours) if workday_hours else (weekly[0] or fallback)
        self.always_open = (
            weekly == ALWAYS_OPEN and not closed_dates and not self.working_dates and holiday_country is None
        )
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    # --- which hours a date has -------------------------------------------------------------

    def _country_year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(public holidays, make-up working days) of the country in `year`, built on first use."""
        found = self._years.get(year)
        if found is None:
            if self.holiday_country is None or not 1900 < year < 2200:
                found = (frozenset(), frozenset())
            else:
                table: Any = holidays.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdivision, years=year
                )
                workdays: set[date] = getattr(table, "weekend_workdays", set())
                found = (
                    frozenset(d for d in table if d.year == year),
                    frozenset(d for d in workdays if d.year == year),
                )
            self._years[year] = found
        return found

    def local_hours(self, day: date) -> tuple[Interval, ...]:
        """The open intervals (local minutes) of local date `day`."""
        if day in self.working_dates:
            return self.working_dates[day] or self.workday_hours
        if day in self.closed_dates:
            return ()
        closed, working = self._country_year(day.year)
        if day in closed:
            return ()
        if day in working:
            return self.workday_hours
        return self.weekly[day.weekday()]

    def _local(self, day: date, minutes: int) -> datetime:
        extra, minutes = divmod(minutes, MINUTES_PER_DAY)
        moment = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60))
        return moment.replace(tzinfo=self.zone).astimezone(UTC)

    def _utc_day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC intervals of local date `day`, merged (a DST gap can make local hours collide)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        converted = sorted(
            (self._local(day, start_min), self._local(day, end_min))
            for start_min, end_min in self.local_hours(day)
        )
        merged: list[tuple[datetime, datetime]] = []
        for start, end in converted:
            if end <= start:
                continue  # lies wholly inside a skipped DST hour
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        result = tuple(merged)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = result
        return result

    def _intervals(self, at: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Open UTC intervals ending after `at`, in order, clipped to start at `at` or later.

        Adjacent intervals (e.g. one ending at 24:00 and the next day's 00:00) are joined. Without
        `until`, raises NeverOpen after MAX_CLOSED_DAYS closed days in a row; with it, stops there.
        """
        day = at.astimezone(self.zone).date() - timedelta(days=1)
        closed_run = 0
        pending: tuple[datetime, datetime] | None = None
        while True:
            if until is not None and self._local(day, 0) > until:
                break
            found = False
            for start, end in self._utc_day(day):
                if end <= at:
                    continue
                found = True
                start = max(start, at)
                if pending is not None and start <= pending[1]:
                    pending = (pending[0], max(end, pending[1]))
                    continue
                if pending is not None:
                    yield pending
                pending = (start, end)
            closed_run = 0 if found else closed_run + 1
            if until is None and closed_run > MAX_CLOSED_DAYS:
                if pending is not None:
                    yield pending
                    pending = None
                    closed_run = 0
                else:
                    raise NeverOpen(f"no business hours within {MAX_CLOSED_DAYS} days")
            day += timedelta(days=1)
        if pending is not None:
            yield pending

    # --- public arithmetic ------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls inside business hours."""
        _require_aware(at)
        if self.always_open:
            return True
        day = at.astimezone(self.zone).date()
        for candidate in (day - timedelta(days=1), day, day + timedelta(days=1)):
            if any(start <= at < end for start, end in self._utc_day(candidate)):
                return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """`at` if open, else the start of the next open interval (UTC); NeverOpen if none."""
        _require_aware(at)
        at = at.astimezone(UTC)
        if self.always_open:
            return at
        start, _end = next(self._intervals(at))
        return start

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """The earliest instant by which `delta` (≥ 0) of business time has passed since `start` (UTC)."""
        _require_aware(start)
        if delta < _ZERO:
            raise ValueError("delta must not be negative")
        start = start.astimezone(UTC)
        if delta == _ZERO:
            return start
        if self.always_open:
            return start + delta
        remaining = delta
        for begin, end in self._intervals(start):
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise NeverOpen("ran out of business hours")  # pragma: no cover - _intervals never ends

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from `a` to `b` (negative when b is before a)."""
        _require_aware(a)
        _require_aware(b)
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b < a:
            return -self.business_time_between(b, a)
        if self.always_open:
            return b - a
        total = _ZERO
        for begin, end in self._intervals(a, until=b):
            if begin >= b:
                break
            total += min(end, b) - begin
        return total
