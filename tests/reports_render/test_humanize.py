"""How figures read: durations, percents, numbers, dates, missing values, special labels."""

from __future__ import annotations

import math
from datetime import date

import pytest

from kefu.i18n import get_translator
from kefu.reports.humanize import MISSING, format_duration, format_duration_tick, format_percent, format_value
from kefu.reports.types import Column, ColumnKind

EN = get_translator("en")
ZH = get_translator("zh-CN")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (44.6, "45 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (720, "12 min"),
        (3599, "1 h 00 min"),
        (3900, "1 h 05 min"),
        (86399, "1 d 00 h"),
        (2 * 86400 + 3 * 3600, "2 d 03 h"),
        (-90, "-2 min"),
        (math.nan, MISSING),
    ],
)
def test_durations(seconds: float, text: str) -> None:
    assert format_duration(seconds, EN) == text


def test_durations_in_chinese_follow_the_catalog() -> None:
    expected = ZH.gettext("%(hours)d h %(minutes)02d min", hours=1, minutes=5)
    assert format_duration(3900, ZH) == expected


def test_ticks_and_percents() -> None:
    assert [format_duration_tick(s, EN) for s in (0, 30, 1800, 7200, 172800)] == [
        "0",
        "30 s",
        "30 min",
        "2 h",
        "2 d",
    ]
    assert format_percent(0.975, EN) == "97.5 %"
    assert format_percent(1, EN) == "100 %"
    assert format_percent(0.12345, EN) == "12.3 %"


def test_cells() -> None:
    assert format_value(Column("n", "N", ColumnKind.INT), 12345, EN) == "12,345"
    assert format_value(Column("n", "N", ColumnKind.FLOAT), 4.256, EN) == "4.26"
    assert format_value(Column("n", "N", ColumnKind.FLOAT), math.inf, EN) == MISSING
    assert format_value(Column("n", "N", ColumnKind.INT), None, EN) == MISSING
    assert format_value(Column("d", "D", ColumnKind.DATE), date(2026, 11, 24), EN) == "2026-11-24"
    assert format_value(Column("s", "S"), "<b>", EN) == "<b>"
    assert format_value(Column("s", "S"), "", EN) == ""
    assert format_value(Column("s", "S", translate=True), "Team", ZH) == ZH.gettext("Team")
    assert format_value(Column("s", "S"), "Team", ZH) == "Team"  # data, not a message id

    def label(column: Column, value: object) -> str | None:
        return "Monday" if column.key == "weekday" and value == 0 else None

    assert format_value(Column("weekday", "W", ColumnKind.INT), 0, EN, label) == "Monday"
    assert format_value(Column("weekday", "W", ColumnKind.INT), 3, EN, label) == "3"
