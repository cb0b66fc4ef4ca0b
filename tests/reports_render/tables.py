"""Report tables built by hand: every chart kind, hostile labels, a year of days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from kefu.reports.types import Chart, ChartKind, Column, ColumnKind, ReportKey, ReportTable

HOSTILE: Final = "<script>alert(1)</script>\"'&]]><img src=x onerror=alert(2)>"


def volume_by_day(days: int = 365, *, label: str = "Email") -> ReportTable:
    """Conversations per day by channel (a line), a missing day every 30."""
    columns = (
        Column("day", "Day", ColumnKind.DATE),
        Column("email", label, ColumnKind.INT),
        Column("chat", "Live chat", ColumnKind.INT),
    )
    start = date(2026, 1, 1)
    rows: list[tuple[object, ...]] = [
        (start + timedelta(days=i), i % 7, None if i % 30 == 0 else i % 11) for i in range(days)
    ]
    return ReportTable(
        ReportKey.VOLUME, "Volume", columns, rows, Chart(ChartKind.LINE, "day", ("email", "chat"))
    )


def response_times(team: str = "Wallet") -> ReportTable:
    """Median and p90 first response per team (grouped bars, a duration axis)."""
    columns = (
        Column("team", "Team"),
        Column("median", "Median", ColumnKind.DURATION),
        Column("p90", "p90", ColumnKind.DURATION),
    )
    rows: list[tuple[object, ...]] = [(team, 3900.0, 7200.0), ("KYC", 600, None), ("Trading", 90, 5400)]
    return ReportTable(
        ReportKey.RESPONSE_TIMES,
        "Response times",
        columns,
        rows,
        Chart(ChartKind.BAR, "team", ("median", "p90")),
    )


def sla(rows: list[tuple[object, ...]] | None = None) -> ReportTable:
    """Attainment per target (bars on a percent axis)."""
    columns = (Column("target", "Target"), Column("met", "Met", ColumnKind.PERCENT))
    body: list[tuple[object, ...]] = (
        rows if rows is not None else [("First response", 0.975), ("Resolution", 0.5)]
    )
    return ReportTable(
        ReportKey.SLA, "SLA attainment", columns, body, Chart(ChartKind.BAR, "target", ("met",))
    )


def stacked(label: str = "Email") -> ReportTable:
    """Volume by category and channel, stacked."""
    columns = (
        Column("category", "Category"),
        Column("email", label, ColumnKind.INT),
        Column("chat", "Live chat", ColumnKind.INT),
    )
    rows: list[tuple[object, ...]] = [("kyc", 3, 4), ("deposit", 0, 7), ("withdrawal", None, 2)]
    return ReportTable(
        ReportKey.VOLUME_BY_CATEGORY,
        "Volume by category",
        columns,
        rows,
        Chart(ChartKind.STACKED_BAR, "category", ("email", "chat")),
    )


def hour_of_week(rows: list[tuple[object, ...]] | None = None) -> ReportTable:
    """Conversations per weekday × hour."""
    columns = (
        Column("hour", "Hour", ColumnKind.INT),
        Column("weekday", "Weekday", ColumnKind.INT),
        Column("conversations", "Conversations", ColumnKind.INT),
    )
    grid: list[tuple[object, ...]] = [(h, d, (h * d) % 13) for d in range(7) for h in range(24)]
    body = rows if rows is not None else grid
    return ReportTable(
        ReportKey.HOUR_OF_WEEK,
        "Hour of week",
        columns,
        body,
        Chart(ChartKind.HEATMAP, "hour", ("weekday", "conversations")),
    )
