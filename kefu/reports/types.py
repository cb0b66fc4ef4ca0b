"""The shapes every report shares: filters in, a table (with an optional chart) out.

The query layer (`kefu.reports.service`) returns `ReportTable`s; the console renders each one as a
chart, a table and a CSV export from the same rows, so the three can never disagree. Labels are
gettext message ids (marked with `N_`); the web layer translates them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

MAX_RANGE_DAYS: Final = 731


class ReportKey(StrEnum):
    """Every dashboard; the value is its URL segment and CSV file name, so never rename one."""

    VOLUME = "volume"  # conversations created per day, by channel
    VOLUME_BY_CATEGORY = "volume-by-category"
    VOLUME_BY_TEAM = "volume-by-team"
    HOUR_OF_WEEK = "hour-of-week"  # heat map: weekday × hour in the filter's time zone
    RESPONSE_TIMES = "response-times"  # first response, next response, resolution: median and p90
    SLA = "sla"  # attainment per target
    BACKLOG = "backlog"  # open conversations now, by age bucket and status
    CSAT = "csat"
    BOT = "bot"  # bot answers, deflections, handoffs
    ARTICLES = "articles"  # helpful / not helpful votes per article
    SEARCHES = "searches"  # help-center searches without an answer
    AGENTS = "agents"  # per-agent workload and times


class ColumnKind(StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    PERCENT = "percent"  # a fraction 0..1; rendered as "97.5 %"
    DURATION = "duration"  # seconds (float); rendered as "1 h 05 min"
    DATE = "date"  # datetime.date


class ChartKind(StrEnum):
    BAR = "bar"  # one bar per row, one colour per series (grouped)
    STACKED_BAR = "stacked-bar"
    LINE = "line"  # x is usually a date column
    HEATMAP = "heatmap"  # rows are (x, y, value): x = column `x`, y = series[0], value = series[1]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # a message id, translated by the web layer
    kind: ColumnKind = ColumnKind.TEXT
    # The cells of this TEXT column are message ids too (e.g. "Live chat"), to translate like labels.
    translate: bool = False


@dataclass(frozen=True, slots=True)
class Chart:
    kind: ChartKind
    x: str  # the key of the column on the x axis (category labels or dates)
    series: tuple[str, ...]  # keys of the numeric columns drawn


@dataclass(frozen=True, slots=True)
class ReportTable:
    key: ReportKey
    title: str  # message id
    columns: tuple[Column, ...]
    rows: list[tuple[object, ...]]  # one value per column, in column order; None = no data
    chart: Chart | None = None
    note: str = ""  # message id: how the figures are computed (shown under the chart)


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """What every dashboard is filtered by. Dates are calendar days in `time_zone`, both inclusive."""

    start: date
    end: date
    time_zone: str = "UTC"  # an IANA name, validated by the web layer with zoneinfo
    team_ids: tuple[uuid.UUID, ...] = field(default=())
    channels: tuple[str, ...] = field(default=())
    categories: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the end date is before the start date")
        if (self.end - self.start).days >= MAX_RANGE_DAYS:
            raise ValueError(f"a report covers at most {MAX_RANGE_DAYS} days")
