"""The quietest hours to contact support: 7 days × 24 hours of conversation volume and first replies.

The database groups the last 8 weeks of conversations into UTC hour buckets (one row per bucket and
first-response class), so a page reads at most a few thousand rows whatever the table's size. Python
folds the buckets into weekday × hour cells of the support time zone with zoneinfo, so DST and
half-hour offsets land in the right local hour. Medians are taken over first-response classes
(under 1, 2, 5, 10, 15, 30 minutes, 1, 2, 4, 8, 24 hours, longer): a cell says "usually within 15
minutes", which is as precise as a forecast from past weeks deserves.

The map is the same for every reader and changes slowly: `get_heatmap` keeps it for 10 minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.db.cache import ConfigCache
from kefu.schedules.calendar import BusinessCalendar
from kefu.schedules.service import get_calendar_for_team

WEEKS: Final = 8
QUIET_CELLS: Final = 5
LEVELS: Final = 4
CACHE_SECONDS: Final = 600.0
# Upper bounds (minutes) of the first-response classes; the class after the last is "longer".
RESPONSE_CLASSES: Final = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440)
_HALF_HOUR = timedelta(minutes=30)


@dataclass(frozen=True)
class Cell:
    """One local weekday (0 = Monday) and hour: what happened there over the window."""

    weekday: int
    hour: int
    volume: int
    # Index into RESPONSE_CLASSES (len(RESPONSE_CLASSES) = longer than a day); None: nobody answered.
    response_class: int | None
    level: int  # 0 (none) … LEVELS (busiest)
    open: bool  # inside the support schedule's regular weekly hours
    quiet: bool  # one of the QUIET_CELLS quietest open hours

    @property
    def per_week(self) -> float:
        """Average conversations started in this hour per week of the window."""
        return self.volume / WEEKS

    @property
    def response_minutes(self) -> int | None:
        """The median first reply's class bound in minutes (None: none, or longer than a day)."""
        if self.response_class is None or self.response_class >= len(RESPONSE_CLASSES):
            return None
        return RESPONSE_CLASSES[self.response_class]


@dataclass(frozen=True)
class HeatMap:
    """The folded map in the support time zone."""

    timezone: str
    since: datetime
    until: datetime
    rows: tuple[tuple[Cell, ...], ...]  # rows[weekday][hour]
    total: int

    @property
    def quiet(self) -> list[Cell]:
        """The marked quiet cells, in week order."""
        return [cell for row in self.rows for cell in row if cell.quiet]


@dataclass(frozen=True)
class Bucket:
    """One UTC hour and first-response class with its conversation count (the SQL result)."""

    hour: datetime  # tz-aware UTC, on the hour
    response_class: int | None
    count: int


def _response_seconds(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", Conversation.first_response_at - Conversation.created_at)
    return (func.julianday(Conversation.first_response_at) - func.julianday(Conversation.created_at)) * 86400


def _hour_bucket(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        # timestamptz → UTC wall time, truncated: independent of the session's TimeZone setting.
        return func.date_trunc("hour", func.timezone("UTC", Conversation.created_at))
    # SQLite stores UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (kefu.db.base.UTCDateTime).
    return func.strftime("%Y-%m-%d %H:00:00", Conversation.created_at)


def _response_class(dialect: str) -> ColumnElement[Any]:
    seconds = _response_seconds(dialect)
    whens: list[tuple[ColumnElement[bool], int]] = [
        (seconds < bound * 60, index) for index, bound in enumerate(RESPONSE_CLASSES)
    ]
    return case((Conversation.first_response_at.is_(None), None), *whens, else_=len(RESPONSE_CLASSES))


def _as_utc(value: object) -> datetime:
    """A bucket as the database returns it: a naive UTC timestamp (PostgreSQL) or text (SQLite)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.strptime(f"{value}+0000", "%Y-%m-%d %H:%M:%S%z").astimezone(UTC)


async def hour_buckets(session: AsyncSession, *, since: datetime, until: datetime) -> list[Bucket]:
    """Conversations created in [since, until) per UTC hour and first-response class, grouped in SQL."""
    dialect = session.get_bind().dialect.name
    bucket = _hour_bucket(dialect).label("bucket")
    response_class = _response_class(dialect).label("response_class")
    rows = await session.execute(
        select(bucket, response_class, func.count().label("n"))
        .where(Conversation.created_at >= since, Conversation.created_at < until)
        .group_by(bucket, response_class)
    )
    return [
        Bucket(_as_utc(hour), None if klass is None else int(klass), int(count))
        for hour, klass, count in rows
        if hour is not None
    ]


def _median_class(histogram: Sequence[int]) -> int | None:
    answered = sum(histogram)
    if not answered:
        return None
    running = 0
    for index, count in enumerate(histogram):
        running += count
        if running * 2 >= answered:
            return index
    return len(histogram) - 1  # pragma: no cover - the loop always reaches half


def _open_hour(calendar: BusinessCalendar, weekday: int, hour: int) -> bool:
    minute = hour * 60
    return calendar.always_open or any(start <= minute < end for start, end in calendar.weekly[weekday])


def fold(
    buckets: Iterable[Bucket], calendar: BusinessCalendar, *, since: datetime, until: datetime
) -> HeatMap:
    """Weekday × hour cells of the calendar's zone from UTC buckets; marks the quietest open hours."""
    classes = len(RESPONSE_CLASSES) + 1
    volume = [[0] * 24 for _ in range(7)]
    histograms = [[[0] * classes for _ in range(24)] for _ in range(7)]
    for bucket in buckets:
        # The bucket's middle decides its local hour: right for whole-hour and half-hour offsets alike.
        local = (bucket.hour + _HALF_HOUR).astimezone(calendar.zone)
        weekday, hour = local.weekday(), local.hour
        volume[weekday][hour] += bucket.count
        if bucket.response_class is not None:
            histograms[weekday][hour][min(bucket.response_class, classes - 1)] += bucket.count
    total = sum(map(sum, volume))
    busiest = max(max(row) for row in volume)
    candidates = sorted(
        (volume[d][h], _median_class(histograms[d][h]) or 0, d, h)
        for d in range(7)
        for h in range(24)
        if _open_hour(calendar, d, h)
    )
    # With no conversations at all every hour ties: marking five of them would mean nothing.
    quiet = {(d, h) for _v, _c, d, h in candidates[:QUIET_CELLS]} if total else set()
    rows = tuple(
        tuple(
            Cell(
                weekday=d,
                hour=h,
                volume=volume[d][h],
                response_class=_median_class(histograms[d][h]),
                level=math.ceil(LEVELS * volume[d][h] / busiest) if busiest else 0,
                open=_open_hour(calendar, d, h),
                quiet=(d, h) in quiet,
            )
            for h in range(24)
        )
        for d in range(7)
    )
    return HeatMap(calendar.zone.key, since, until, rows, total)


async def build_heatmap(session: AsyncSession, calendar: BusinessCalendar, *, now: datetime) -> HeatMap:
    """The map of the WEEKS weeks before `now` in `calendar`'s zone (uncached)."""
    since = now - timedelta(weeks=WEEKS)
    return fold(await hour_buckets(session, since=since, until=now), calendar, since=since, until=now)


_HEATMAPS: ConfigCache[HeatMap] = ConfigCache("contact_heatmap", ttl=CACHE_SECONDS, max_keys=8)


async def get_heatmap(session: AsyncSession, *, now: datetime) -> HeatMap:
    """The map in the default schedule's zone, computed at most once per 10 minutes per process."""
    calendar = await get_calendar_for_team(session, None)

    async def load(session: AsyncSession) -> HeatMap:
        return await build_heatmap(session, calendar, now=now)

    return await _HEATMAPS.get(session, (calendar.zone.key, calendar.weekly), load)


def forget_heatmaps() -> None:
    """Drop cached maps (tests that change the data under a frozen clock)."""
    _HEATMAPS.invalidate()
