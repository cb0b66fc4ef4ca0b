"""The quiet-hours heat map: SQL hour buckets on both databases, folding into local cells, quiet marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kefu.channels.heatmap import (
    RESPONSE_CLASSES,
    Bucket,
    build_heatmap,
    fold,
    forget_heatmaps,
    get_heatmap,
    hour_buckets,
)
from kefu.db.uow import transaction
from kefu.schedules.calendar import BusinessCalendar, parse_weekly_hours
from kefu.schedules.service import get_calendar_for_team
from tests.channels.helpers import OFFICE, default_schedule, seed
from tests.conftest import Database

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)  # Friday 20:00 in Shanghai
# Monday of the last full week before NOW, local midnight.
WEEK = datetime(2025, 3, 3, tzinfo=SHANGHAI)
QUIET = {(2, 14), (3, 11), (4, 16), (1, 9), (0, 17)}  # (weekday, hour) with fewer conversations


def _local(weekday: int, hour: int, minute: int = 10, weeks_back: int = 0) -> datetime:
    return (WEEK + timedelta(days=weekday - 7 * weeks_back, hours=hour, minutes=minute)).astimezone(UTC)


async def test_hour_buckets_group_in_sql_by_utc_hour_and_response_class(db: Database) -> None:
    base = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    await seed(
        db.sessionmaker,
        [
            {"created_at": base + timedelta(minutes=10), "answered_after": timedelta(minutes=3)},
            {"created_at": base + timedelta(minutes=50), "answered_after": timedelta(minutes=4)},
            {"created_at": base + timedelta(minutes=55)},
            {"created_at": base + timedelta(hours=1, minutes=5), "answered_after": timedelta(days=3)},
            {"created_at": base - timedelta(days=60)},  # outside the window
        ],
    )
    async with db.sessionmaker() as session:
        buckets = await hour_buckets(session, since=base - timedelta(days=1), until=base + timedelta(days=1))
    found = sorted((b.hour, -1 if b.response_class is None else b.response_class, b.count) for b in buckets)
    assert found == [
        (base, -1, 1),
        (base, RESPONSE_CLASSES.index(5), 2),  # 3 and 4 minutes: "within 5 minutes"
        (base + timedelta(hours=1), len(RESPONSE_CLASSES), 1),  # longer than a day
    ]
    assert all(b.hour.tzinfo is not None for b in buckets)


async def test_quietest_open_hours_are_marked(db: Database) -> None:
    await default_schedule(db.sessionmaker)
    rows = []
    for weekday in range(5):
        for hour in range(9, 18):
            count = 1 if (weekday, hour) in QUIET else 3
            for n in range(count):
                rows.append(
                    {
                        "created_at": _local(weekday, hour, weeks_back=n),
                        "answered_after": timedelta(minutes=12 if hour < 12 else 45),
                    }
                )
    # Busy, but outside business hours: never offered as a quiet time.
    rows.append({"created_at": _local(5, 3)})
    rows += [{"created_at": _local(0, 10, weeks_back=k)} for k in range(3, 7)]  # Monday 10:00 is the busiest
    rows.append({"created_at": _local(0, 10, weeks_back=9)})  # older than 8 weeks: not counted
    await seed(db.sessionmaker, rows)
    async with db.sessionmaker() as session:
        calendar = await get_calendar_for_team(session, None)
        heatmap = await build_heatmap(session, calendar, now=NOW)
    assert heatmap.timezone == "Asia/Shanghai"
    assert {(c.weekday, c.hour) for c in heatmap.quiet} == QUIET
    monday_ten = heatmap.rows[0][10]
    assert monday_ten.volume == 7
    assert monday_ten.level == 4
    assert heatmap.rows[2][14].volume == 1
    assert heatmap.rows[2][14].level == 1
    assert heatmap.rows[0][10].response_minutes == 15  # 12 minutes: "within 15"
    assert heatmap.rows[2][14].response_minutes == 60  # 45 minutes: "within an hour"
    saturday = heatmap.rows[5][3]
    assert saturday.volume == 1
    assert not saturday.open
    assert not saturday.quiet
    assert saturday.response_class is None
    assert saturday.response_minutes is None
    assert heatmap.rows[6][12].volume == 0
    assert heatmap.rows[6][12].level == 0
    assert heatmap.total == sum(cell.volume for row in heatmap.rows for cell in row) == len(rows) - 1


async def test_no_conversations_marks_nothing(db: Database) -> None:
    async with db.sessionmaker() as session:
        heatmap = await build_heatmap(session, BusinessCalendar("UTC"), now=NOW)
    assert heatmap.total == 0
    assert heatmap.quiet == []
    assert all(cell.open and cell.level == 0 for row in heatmap.rows for cell in row)


async def test_the_map_is_cached_for_ten_minutes(db: Database) -> None:
    forget_heatmaps()
    await seed(db.sessionmaker, [{"created_at": NOW - timedelta(days=1)}])
    async with transaction(db.sessionmaker) as session:
        first = await get_heatmap(session, now=NOW)
    await seed(db.sessionmaker, [{"created_at": NOW - timedelta(days=2)}])
    async with transaction(db.sessionmaker) as session:
        cached = await get_heatmap(session, now=NOW)
    assert first.total == cached.total == 1
    forget_heatmaps()
    async with transaction(db.sessionmaker) as session:
        assert (await get_heatmap(session, now=NOW)).total == 2


def test_folding_follows_daylight_saving_and_half_hour_zones() -> None:
    london = BusinessCalendar("Europe/London", parse_weekly_hours(OFFICE))
    buckets = [
        Bucket(datetime(2025, 3, 28, 9, tzinfo=UTC), None, 1),  # Friday 09:00 GMT
        Bucket(datetime(2025, 4, 4, 8, tzinfo=UTC), 0, 2),  # Friday 09:00 BST
    ]
    heatmap = fold(buckets, london, since=NOW - timedelta(weeks=8), until=NOW)
    assert heatmap.rows[4][9].volume == 3
    assert heatmap.rows[4][9].response_class == 0  # both answered ones within a minute
    assert heatmap.rows[4][8].volume == 0
    kolkata = BusinessCalendar("Asia/Kolkata")
    # 03:00–04:00 UTC is 08:30–09:30 in India: its middle falls in the 09:00 hour.
    heatmap = fold([Bucket(datetime(2025, 3, 10, 3, tzinfo=UTC), None, 4)], kolkata, since=NOW, until=NOW)
    assert heatmap.rows[0][9].volume == 4
    assert {(c.weekday, c.hour) for c in heatmap.quiet} == {(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)}
