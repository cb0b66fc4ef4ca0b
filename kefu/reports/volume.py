"""Volume reports: conversations created per local day, by channel, category, team and hour of week.

All four read the day rollups' 24 UTC hour columns and keep only the hours inside the filter's
window, so local days and hours are exact for any whole-hour time zone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.i18n import N_
from kefu.reports.models import HOUR_COLUMNS, rollups
from kefu.reports.query import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    Window,
    hours_in,
    rollup_clauses,
    rollup_window,
    share,
    team_names,
    window,
)
from kefu.reports.types import Chart, ChartKind, Column, ColumnKind, ReportFilters, ReportKey, ReportTable

VOLUME_NOTE = N_(
    "Conversations created on each day of the selected time zone, whatever their channel or status."
)


async def _hourly(session: AsyncSession, filters: ReportFilters, win: Window, dimension: str) -> list[Any]:
    r = rollups.c
    group = [r.period_start] + ([r[dimension]] if dimension else [])
    query = (
        select(*group, *(func.sum(r[name]) for name in HOUR_COLUMNS))
        .where(*rollup_clauses(rollups, filters, win.day_pieces()))
        .group_by(*group)
    )
    return list((await session.execute(query)).all())


async def _totals(session: AsyncSession, filters: ReportFilters, dimension: str) -> dict[Any, int]:
    """Conversations created in the window per `dimension`, from the coarsest whole periods."""
    r = rollups.c
    query = (
        select(r[dimension], func.sum(r.created))
        .where(*rollup_clauses(rollups, filters, (await rollup_window(session, filters)).pieces()))
        .group_by(r[dimension])
    )
    return {key: int(count) for key, count in await session.execute(query) if count}


def _days(filters: ReportFilters) -> list[date]:
    return [filters.start + timedelta(days=n) for n in range((filters.end - filters.start).days + 1)]


async def volume(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Conversations created per local day, one column per channel that has any."""
    win = window(filters)
    per_day: dict[tuple[date, str], int] = defaultdict(int)
    for row in await _hourly(session, filters, win, "channel"):
        for at, count in hours_in(win, row[0], row[2:]):
            per_day[(at.date(), row[1])] += count
    present = {channel for _day, channel in per_day} | set(filters.channels)
    channels = [c for c in CHANNEL_LABELS if c in present] + sorted(present - set(CHANNEL_LABELS))
    columns = (
        Column("date", N_("Date"), ColumnKind.DATE),
        *(Column(f"channel_{c}", CHANNEL_LABELS.get(c, c), ColumnKind.INT) for c in channels),
        Column("total", N_("Total"), ColumnKind.INT),
    )
    rows: list[tuple[object, ...]] = []
    for day in _days(filters):
        counts = [per_day.get((day, c), 0) for c in channels]
        rows.append((day, *counts, sum(counts)))
    return ReportTable(
        key=ReportKey.VOLUME,
        title=N_("Conversation volume"),
        columns=columns,
        rows=rows,
        chart=Chart(ChartKind.STACKED_BAR, "date", tuple(f"channel_{c}" for c in channels)),
        note=VOLUME_NOTE,
    )


async def volume_by_category(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Conversations created in the range per category, largest first."""
    totals = await _totals(session, filters, "category")
    whole = sum(totals.values())
    ordered = sorted(totals.items(), key=lambda item: (-item[1], str(item[0])))
    return ReportTable(
        key=ReportKey.VOLUME_BY_CATEGORY,
        title=N_("Volume by category"),
        columns=(
            Column("category", N_("Category"), translate=True),
            Column("conversations", N_("Conversations"), ColumnKind.INT),
            Column("share", N_("Share"), ColumnKind.PERCENT),
        ),
        rows=[(CATEGORY_LABELS.get(k, k), n, share(n, whole)) for k, n in ordered],
        chart=Chart(ChartKind.BAR, "category", ("conversations",)),
        note=VOLUME_NOTE,
    )


async def volume_by_team(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Conversations created in the range per team (their team now), largest first."""
    totals = await _totals(session, filters, "team_id")
    names = await team_names(session, totals)
    whole = sum(totals.values())
    ordered = sorted(totals.items(), key=lambda item: (-item[1], names[item[0]]))
    return ReportTable(
        key=ReportKey.VOLUME_BY_TEAM,
        title=N_("Volume by team"),
        columns=(
            Column("team", N_("Team"), translate=True),
            Column("conversations", N_("Conversations"), ColumnKind.INT),
            Column("share", N_("Share"), ColumnKind.PERCENT),
        ),
        rows=[(names[k], n, share(n, whole)) for k, n in ordered],
        chart=Chart(ChartKind.BAR, "team", ("conversations",)),
        note=N_("Conversations created in the range, by the team they belong to now."),
    )


async def hour_of_week(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Conversations created per local weekday (0 = Monday) and hour: 168 rows for a heat map."""
    win = window(filters)
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for row in await _hourly(session, filters, win, ""):
        for at, count in hours_in(win, row[0], row[1:]):
            cells[(at.weekday(), at.hour)] += count
    return ReportTable(
        key=ReportKey.HOUR_OF_WEEK,
        title=N_("Conversations by hour of week"),
        columns=(
            Column("weekday", N_("Weekday"), ColumnKind.INT),
            Column("hour", N_("Hour"), ColumnKind.INT),
            Column("conversations", N_("Conversations"), ColumnKind.INT),
        ),
        rows=[(d, h, cells.get((d, h), 0)) for d in range(7) for h in range(24)],
        chart=Chart(ChartKind.HEATMAP, "weekday", ("hour", "conversations")),
        note=N_("Conversations created in each hour of the week, in the selected time zone (0 = Monday)."),
    )
