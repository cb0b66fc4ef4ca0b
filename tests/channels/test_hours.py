"""Phone-line hours: open now until when, closed until when, across weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from kefu.channels.hours import DayGroup, closed_for_the_day, group_week, holiday_name, line_hours
from kefu.schedules.calendar import BusinessCalendar, parse_weekly_hours

OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
CN = BusinessCalendar("Asia/Shanghai", parse_weekly_hours(OFFICE), holiday_country="CN")


def _shanghai(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_open_on_a_weekday_closes_at_the_end_of_the_day() -> None:
    hours = line_hours(CN, now=_shanghai(2025, 3, 7, 10))  # Friday 10:00
    assert hours.open_now
    assert not hours.always_open
    assert hours.closes_at is not None
    assert hours.closes_at.isoformat() == "2025-03-07T18:00:00+08:00"
    assert hours.opens_at is None
    assert hours.holiday is None
    assert hours.timezone == "Asia/Shanghai"


def test_closed_over_the_weekend_opens_on_monday_without_naming_a_holiday() -> None:
    hours = line_hours(CN, now=_shanghai(2025, 3, 8, 12), holiday="ignored on a plain weekend")
    assert not hours.open_now
    assert hours.opens_at is not None
    assert hours.opens_at.isoformat() == "2025-03-10T09:00:00+08:00"
    assert hours.holiday is None  # a Saturday is closed anyway: nothing to name


def test_closed_for_a_public_holiday_names_it_and_skips_the_following_holidays() -> None:
    now = _shanghai(2025, 5, 1, 10)  # Labour Day (Thursday); Fri 2 and Mon 5 are days off too
    today = date(2025, 5, 1)
    assert closed_for_the_day(CN, today)
    assert holiday_name(CN, today, locale="en") == "Labor Day"
    assert holiday_name(CN, today, locale="zh-CN") == "劳动节"
    hours = line_hours(CN, now=now, holiday=holiday_name(CN, today, locale="en"))
    assert not hours.open_now
    assert hours.holiday == "Labor Day"
    assert hours.opens_at is not None
    assert hours.opens_at.isoformat() == "2025-05-06T09:00:00+08:00"


def test_a_make_up_working_sunday_is_open() -> None:
    hours = line_hours(CN, now=_shanghai(2025, 4, 27, 10))  # 调休: Sunday worked for May 5
    assert hours.open_now
    assert hours.closes_at is not None
    assert hours.closes_at.hour == 18


def test_the_schedule_s_own_closed_day_is_named_by_its_exception() -> None:
    calendar = BusinessCalendar(
        "Asia/Shanghai", parse_weekly_hours(OFFICE), closed_dates=frozenset({date(2025, 3, 12)})
    )
    assert closed_for_the_day(calendar, date(2025, 3, 12))
    assert (
        holiday_name(calendar, date(2025, 3, 12), locale="en", closures={date(2025, 3, 12): "Offsite"})
        == "Offsite"
    )
    assert holiday_name(calendar, date(2025, 3, 12), locale="en") == ""
    hours = line_hours(calendar, now=_shanghai(2025, 3, 12, 11), holiday="")
    assert hours.holiday == ""  # closed for the day, unnamed: the page says "holiday" in general
    assert hours.opens_at is not None
    assert hours.opens_at.date() == date(2025, 3, 13)


def test_a_night_shift_closes_after_midnight() -> None:
    calendar = BusinessCalendar(
        "Asia/Shanghai",
        parse_weekly_hours({"tue": [["18:00", "24:00"]], "wed": [["00:00", "02:00"], ["09:00", "12:00"]]}),
    )
    hours = line_hours(calendar, now=_shanghai(2025, 3, 4, 23))  # Tuesday 23:00
    assert hours.closes_at is not None
    assert hours.closes_at.isoformat() == "2025-03-05T02:00:00+08:00"


def test_always_open_and_never_open_calendars() -> None:
    always = line_hours(BusinessCalendar("Europe/London"), now=datetime(2025, 3, 8, 3, tzinfo=UTC))
    assert always.always_open
    assert always.open_now
    assert always.closes_at is None
    never = line_hours(
        BusinessCalendar("Europe/London", parse_weekly_hours({})), now=datetime(2025, 3, 8, 3, tzinfo=UTC)
    )
    assert not never.open_now
    assert never.opens_at is None


def test_times_follow_daylight_saving_in_the_line_s_zone() -> None:
    london = BusinessCalendar("Europe/London", parse_weekly_hours(OFFICE), holiday_country="GB")
    before = line_hours(london, now=datetime(2025, 3, 28, 8, 30, tzinfo=UTC))  # Friday 08:30 GMT
    assert not before.open_now
    assert before.opens_at is not None
    assert before.opens_at.isoformat() == "2025-03-28T09:00:00+00:00"
    after = line_hours(london, now=datetime(2025, 3, 31, 8, 30, tzinfo=UTC))  # Monday 09:30 BST
    assert after.open_now
    assert after.closes_at is not None
    assert after.closes_at.isoformat() == "2025-03-31T18:00:00+01:00"


def test_the_week_is_grouped_into_runs_of_equal_days() -> None:
    office = parse_weekly_hours(OFFICE)
    assert group_week(CN) == (DayGroup(0, 4, office[0]), DayGroup(5, 6, ()))
    split = BusinessCalendar(
        "UTC",
        parse_weekly_hours(
            {"mon": [["09:00", "12:00"]], "tue": [["09:00", "12:00"]], "sat": [["10:00", "14:00"]]}
        ),
    )
    assert [(g.first, g.last, bool(g.intervals)) for g in group_week(split)] == [
        (0, 1, True),
        (2, 4, False),
        (5, 5, True),
        (6, 6, False),
    ]
