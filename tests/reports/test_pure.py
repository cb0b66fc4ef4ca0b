"""The pure parts: histogram buckets and percentiles, and splitting a window into rollup periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kefu.reports.histogram import RELATIVE_RESOLUTION, bucket_of, bucket_value, merge, percentile
from kefu.reports.query import window
from kefu.reports.rollups import DAY, HOUR, MONTH, split_range
from kefu.reports.types import ReportFilters


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize("seconds", [1, 1.5, 59, 60, 61, 3600, 86400 * 3, 86400 * 400])
def test_every_duration_is_within_the_resolution_of_its_bucket(seconds: float) -> None:
    assert bucket_value(bucket_of(seconds)) == pytest.approx(seconds, rel=RELATIVE_RESOLUTION + 1e-9)


def test_sub_second_and_negative_durations_are_bucket_zero() -> None:
    assert bucket_of(0.2) == bucket_of(-5) == 0
    assert bucket_value(0) == 0.0


def test_percentiles_use_the_nearest_rank() -> None:
    values = [60, 120, 300, 600, 3600]
    histogram = merge((bucket_of(v), 1) for v in values)
    assert percentile(histogram, 0.5) == bucket_value(bucket_of(300))
    assert percentile(histogram, 0.9) == bucket_value(bucket_of(3600))
    assert percentile(histogram, 0.2) == bucket_value(bucket_of(60))
    assert percentile({}, 0.5) is None
    assert merge([(3, 2), (3, 1), (4, 1)]) == {3: 3, 4: 1}


def test_split_range_uses_the_coarsest_whole_periods() -> None:
    assert split_range(utc(2026, 1, 30, 22), utc(2026, 4, 2, 3)) == [
        (HOUR, utc(2026, 1, 30, 22), utc(2026, 1, 31)),
        (DAY, utc(2026, 1, 31), utc(2026, 2, 1)),
        (MONTH, utc(2026, 2, 1), utc(2026, 4, 1)),
        (DAY, utc(2026, 4, 1), utc(2026, 4, 2)),
        (HOUR, utc(2026, 4, 2), utc(2026, 4, 2, 3)),
    ]
    assert split_range(utc(2026, 1, 1), utc(2026, 1, 1)) == []


def test_window_of_local_days_in_utc() -> None:
    shanghai = window(ReportFilters(date(2026, 3, 2), date(2026, 3, 3), "Asia/Shanghai"))
    assert (shanghai.start, shanghai.end) == (utc(2026, 3, 1, 16), utc(2026, 3, 3, 16))
    # New York springs forward on 8 March 2026: that local day has 23 hours.
    new_york = window(ReportFilters(date(2026, 3, 8), date(2026, 3, 8), "America/New_York"))
    assert (new_york.start, new_york.end) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    # Half-hour zones are floored to whole UTC hours.
    kolkata = window(ReportFilters(date(2026, 3, 2), date(2026, 3, 2), "Asia/Kolkata"))
    assert (kolkata.start, kolkata.end) == (utc(2026, 3, 1, 18), utc(2026, 3, 2, 18))
