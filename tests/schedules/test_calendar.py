"""BusinessCalendar: properties of business-time arithmetic and worked examples (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.schedules.calendar import (
    BusinessCalendar,
    NeverOpen,
    parse_intervals,
    parse_weekly_hours,
)

OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
SPLIT = {
    "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
    "tue": [["00:00", "24:00"]],
    "wed": [["22:00", "24:00"]],
    "thu": [["00:00", "02:00"], ["09:00", "17:30"]],
    "sat": [["10:00", "14:00"]],
}

CN = BusinessCalendar("Asia/Shanghai", parse_weekly_hours(OFFICE), holiday_country="CN")
NY = BusinessCalendar(
    "America/New_York", parse_weekly_hours(SPLIT), holiday_country="US", holiday_subdivision="NY"
)
ALWAYS = BusinessCalendar("Europe/London")
CALENDARS = [CN, NY, ALWAYS, BusinessCalendar("Australia/Lord_Howe", parse_weekly_hours(SPLIT))]

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))
calendars = st.sampled_from(CALENDARS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(calendars, instants, durations)
def test_between_inverts_add(cal: BusinessCalendar, start: datetime, delta: timedelta) -> None:
    assert cal.business_time_between(start, cal.add_business_time(start, delta)) == delta


@settings(max_examples=100, deadline=None)
@given(calendars, instants, durations, durations)
def test_add_is_monotonic_and_associative(
    cal: BusinessCalendar, start: datetime, x: timedelta, y: timedelta
) -> None:
    after_x = cal.add_business_time(start, x)
    assert after_x >= start
    assert cal.add_business_time(start, min(x, y)) <= cal.add_business_time(start, max(x, y))
    assert cal.add_business_time(start, x + y) == cal.add_business_time(after_x, y)


@settings(max_examples=100, deadline=None)
@given(instants, durations, instants)
def test_always_open_is_wall_clock(start: datetime, delta: timedelta, other: datetime) -> None:
    assert ALWAYS.add_business_time(start, delta) == start + delta
    assert ALWAYS.business_time_between(start, other) == other - start
    # A weekly 24×7 schedule without the shortcut gives the same answers.
    full = BusinessCalendar(
        "America/New_York",
        parse_weekly_hours(
            {d: [["00:00", "24:00"]] for d in OFFICE}
            | {"sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]}
        ),
        workday_hours=None,
    )
    assert full.add_business_time(start, delta) == start + delta


@settings(max_examples=100, deadline=None)
@given(calendars, instants, instants)
def test_closed_time_is_never_counted(cal: BusinessCalendar, a: datetime, b: datetime) -> None:
    a, b = min(a, b), max(a, b)
    total = cal.business_time_between(a, b)
    assert timedelta(0) <= total <= b - a
    assert cal.business_time_between(b, a) == -total
    # Walking the span in hours, only open hours contribute (checked at each hour's start).
    if not cal.is_open(a):
        nxt = cal.next_open(a)
        assert cal.business_time_between(a, min(nxt, b)) == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(calendars, instants)
def test_next_open_is_open(cal: BusinessCalendar, at: datetime) -> None:
    nxt = cal.next_open(at)
    assert nxt >= at
    assert cal.is_open(nxt)
    assert cal.is_open(at) == (nxt == at)


def test_office_hours_across_a_night_and_a_weekend() -> None:
    # Friday 2025-03-07 17:00 in Shanghai (09:00 UTC): one hour today, the rest on Monday.
    start = utc(2025, 3, 7, 9)
    assert CN.add_business_time(start, timedelta(hours=3)) == utc(2025, 3, 10, 3)  # Mon 11:00 CST
    assert CN.business_time_between(start, utc(2025, 3, 10, 3)) == timedelta(hours=3)
    # 40 business hours from Monday 09:00 end on Friday 13:00.
    assert CN.add_business_time(utc(2025, 3, 10, 1), timedelta(hours=40)) == utc(2025, 3, 14, 5)
    assert not CN.is_open(utc(2025, 3, 8, 4))  # Saturday noon
    assert CN.next_open(utc(2025, 3, 8, 4)) == utc(2025, 3, 10, 1)


def test_national_day_week_and_make_up_saturday() -> None:
    # 2026: 1–7 October are days off; Saturday 10 October is a make-up working day.
    wed_before = utc(2026, 9, 30, 9)  # Wednesday 17:00 CST
    assert CN.add_business_time(wed_before, timedelta(hours=2)) == utc(2026, 10, 8, 2)  # Thu 8 Oct 10:00
    assert not CN.is_open(utc(2026, 10, 5, 3))  # a Monday inside the holiday
    assert CN.is_open(utc(2026, 10, 10, 3))  # make-up Saturday 11:00 CST
    assert CN.business_time_between(utc(2026, 10, 9, 16), utc(2026, 10, 11, 16)) == timedelta(hours=9)


def test_explicit_exceptions_override_the_country() -> None:
    cal = BusinessCalendar(
        "Asia/Shanghai",
        parse_weekly_hours(OFFICE),
        holiday_country="CN",
        closed_dates=frozenset({date(2025, 3, 11)}),
        working_dates={date(2026, 10, 2): parse_intervals([["10:00", "12:00"]]), date(2025, 3, 15): ()},
    )
    assert not cal.is_open(utc(2025, 3, 11, 3))  # a company holiday on a Tuesday
    assert cal.is_open(utc(2025, 3, 15, 3))  # a Saturday working with the Monday hours
    assert cal.business_time_between(utc(2026, 10, 1, 16), utc(2026, 10, 2, 16)) == timedelta(hours=2)


def test_dst_days_are_shorter_and_longer() -> None:
    # New York springs forward on 2025-03-09 and falls back on 2025-11-02 (both Sundays).
    always = BusinessCalendar(
        "America/New_York", parse_weekly_hours({"sun": [["00:00", "24:00"]], "mon": [["09:00", "10:00"]]})
    )
    spring_midnight = utc(2025, 3, 9, 5)  # 00:00 EST
    assert always.business_time_between(spring_midnight, utc(2025, 3, 10, 4)) == timedelta(hours=23)
    fall_midnight = utc(2025, 11, 2, 4)  # 00:00 EDT
    assert always.business_time_between(fall_midnight, utc(2025, 11, 3, 5)) == timedelta(hours=25)
    # Monday 09:00 local is 13:00 UTC before the change and 14:00 UTC after it.
    assert always.next_open(utc(2025, 3, 10, 5)) == utc(2025, 3, 10, 13)
    assert always.next_open(utc(2025, 11, 3, 6)) == utc(2025, 11, 3, 14)
    # Thursday hours 00:00-02:00 in NY on Thanksgiving are closed (US holiday).
    assert not NY.is_open(utc(2025, 11, 27, 6))


def test_hours_inside_a_skipped_hour_are_dropped() -> None:
    cal = BusinessCalendar(
        "America/New_York", parse_weekly_hours({"sun": [["02:10", "02:50"], ["03:00", "04:00"]]})
    )
    # On 2025-03-09 02:00–03:00 does not exist: only 03:00–04:00 EDT counts.
    assert cal.business_time_between(utc(2025, 3, 9, 0), utc(2025, 3, 10, 0)) == timedelta(hours=1)


def test_a_never_open_calendar_raises() -> None:
    closed = BusinessCalendar("UTC", parse_weekly_hours({}))
    with pytest.raises(NeverOpen):
        closed.add_business_time(utc(2025, 1, 1), timedelta(minutes=1))
    with pytest.raises(NeverOpen):
        closed.next_open(utc(2025, 1, 1))
    assert closed.business_time_between(utc(2025, 1, 1), utc(2030, 1, 1)) == timedelta(0)
    assert closed.add_business_time(utc(2025, 1, 1), timedelta(0)) == utc(2025, 1, 1)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CN.add_business_time(utc(2025, 1, 1), timedelta(minutes=-1))
    with pytest.raises(ValueError, match="tz-aware"):
        CN.is_open(datetime(2025, 1, 1))
    bad: tuple[object, ...] = (
        {"mon": [["09:00", "25:00"]]},
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"mon": [["13:00", "18:00"], ["09:00", "12:00"]]},
        {"mon": [["18:00", "09:00"]]},
        {"funday": []},
        {"mon": "09:00-18:00"},
        {"mon": [["9:00", "18:00"]]},
        {"mon": [["09:00", "18:00", "19:00"]]},
        {"mon": [["09:00", "09:01"]] * 20},
        [],
    )
    for hours in bad:
        with pytest.raises(ValueError):
            parse_weekly_hours(hours)
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendar("Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="country"):
        BusinessCalendar("UTC", holiday_country="XX")
    with pytest.raises(ValueError, match="subdivision"):
        BusinessCalendar("UTC", holiday_country="US", holiday_subdivision="ZZ")
    assert parse_weekly_hours({"mon": [["00:00", "24:00"]]})[0] == ((0, 1440),)


def test_forty_hours_is_fast() -> None:
    import time

    started = time.perf_counter()
    for i in range(2000):
        CN.add_business_time(utc(2025, 3, 7, 9) + timedelta(minutes=i), timedelta(hours=40))
    assert time.perf_counter() - started < 2
