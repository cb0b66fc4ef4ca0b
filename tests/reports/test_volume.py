"""Volume reports: per local day and channel, by category and team, and the hour-of-week heat map."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.inboxes.models import Team
from kefu.reports.service import run_report
from kefu.reports.types import ChartKind, ReportKey, ReportTable
from tests.reports.helpers import Builder, at, filters

MON = date(2026, 3, 2)


def column(table: ReportTable, key: str) -> list[object]:
    index = [c.key for c in table.columns].index(key)
    return [row[index] for row in table.rows]


def heat(table: ReportTable) -> dict[tuple[object, object], object]:
    """The non-zero cells of a heat map."""
    return {(d, h): n for d, h, n in table.rows if n}


async def build(session: AsyncSession) -> Builder:
    b = Builder(session)
    team = Team(name="Wallets", slug="wallets")
    session.add(team)
    await session.flush()
    await b.conversation(at(0, 9), channel="email", category="deposit", team_id=team.id)
    await b.conversation(at(0, 10), channel="chat", category="deposit", team_id=team.id)
    await b.conversation(at(0, 23, 30), channel="chat", category="withdrawal")
    await b.conversation(at(1, 1), channel="email", category="kyc")
    await b.conversation(at(2, 15), channel="telegram", category="deposit", team_id=team.id)
    await b.roll_up()
    return b


async def test_volume_per_day_and_channel_in_utc(session: AsyncSession) -> None:
    await build(session)
    table = await run_report(session, ReportKey.VOLUME, filters(MON, MON + timedelta(days=2)))
    assert [c.key for c in table.columns] == [
        "date",
        "channel_email",
        "channel_chat",
        "channel_telegram",
        "total",
    ]
    assert table.rows == [
        (MON, 1, 2, 0, 3),
        (MON + timedelta(days=1), 1, 0, 0, 1),
        (MON + timedelta(days=2), 0, 0, 1, 1),
    ]
    assert table.chart is not None
    assert table.chart.kind == ChartKind.STACKED_BAR


async def test_time_zone_moves_day_boundaries(session: AsyncSession) -> None:
    await build(session)
    # Shanghai is UTC+8: 23:30 UTC Monday is Tuesday 07:30, and 09:00/10:00 UTC stay on Monday.
    table = await run_report(
        session, ReportKey.VOLUME, filters(MON, MON + timedelta(days=1), time_zone="Asia/Shanghai")
    )
    assert column(table, "total") == [2, 2]
    # New York (UTC-5 in March before DST): 01:00 UTC Tuesday is Monday 20:00.
    table = await run_report(session, ReportKey.VOLUME, filters(MON, MON, time_zone="America/New_York"))
    assert column(table, "total") == [4]
    table = await run_report(
        session,
        ReportKey.VOLUME,
        filters(MON + timedelta(days=1), MON + timedelta(days=1), time_zone="America/New_York"),
    )
    assert column(table, "total") == [0]
    table = await run_report(
        session, ReportKey.VOLUME, filters(MON - timedelta(days=1), MON, time_zone="America/New_York")
    )
    assert column(table, "total") == [0, 4]


async def test_volume_by_category_and_team_with_filters(session: AsyncSession) -> None:
    b = await build(session)
    week = filters(MON, MON + timedelta(days=6))
    table = await run_report(session, ReportKey.VOLUME_BY_CATEGORY, week)
    assert table.rows == [("Deposit", 3, 0.6), ("Identity verification", 1, 0.2), ("Withdrawal", 1, 0.2)]
    assert table.columns[0].translate
    table = await run_report(session, ReportKey.VOLUME_BY_TEAM, week)
    assert table.rows == [("Wallets", 3, 0.6), ("No team", 2, 0.4)]
    only_chat = filters(MON, MON + timedelta(days=6), channels=("chat",))
    table = await run_report(session, ReportKey.VOLUME_BY_CATEGORY, only_chat)
    assert table.rows == [("Deposit", 1, 0.5), ("Withdrawal", 1, 0.5)]
    conversation = await session.get(Conversation, b.ids[0])
    assert conversation is not None
    team_only = filters(MON, MON + timedelta(days=6), team_ids=(conversation.team_id,))
    table = await run_report(session, ReportKey.VOLUME_BY_CATEGORY, team_only)
    assert table.rows == [("Deposit", 3, 1.0)]
    deposits = filters(MON, MON + timedelta(days=6), categories=("deposit", "kyc"))
    table = await run_report(session, ReportKey.VOLUME, deposits)
    assert sum(column(table, "total")) == 4  # type: ignore[arg-type]


async def test_hour_of_week_heat_map_follows_the_time_zone(session: AsyncSession) -> None:
    await build(session)
    week = filters(MON, MON + timedelta(days=6))
    table = await run_report(session, ReportKey.HOUR_OF_WEEK, week)
    assert len(table.rows) == 168
    cells = heat(table)
    assert cells == {(0, 9): 1, (0, 10): 1, (0, 23): 1, (1, 1): 1, (2, 15): 1}
    assert table.chart is not None
    assert table.chart.kind == ChartKind.HEATMAP
    assert (table.chart.x, table.chart.series) == ("weekday", ("hour", "conversations"))
    shanghai = filters(MON, MON + timedelta(days=6), time_zone="Asia/Shanghai")
    cells = heat(await run_report(session, ReportKey.HOUR_OF_WEEK, shanghai))
    assert cells == {(0, 17): 1, (0, 18): 1, (1, 7): 1, (1, 9): 1, (2, 23): 1}
    # Kolkata is UTC+5:30: each UTC hour is counted in the local hour its start falls in.
    kolkata = filters(MON, MON + timedelta(days=6), time_zone="Asia/Kolkata")
    cells = heat(await run_report(session, ReportKey.HOUR_OF_WEEK, kolkata))
    assert cells == {(0, 14): 1, (0, 15): 1, (1, 4): 1, (1, 6): 1, (2, 20): 1}


async def test_empty_range_has_zero_rows(session: AsyncSession) -> None:
    table = await run_report(session, ReportKey.VOLUME, filters(MON, MON + timedelta(days=1)))
    assert column(table, "total") == [0, 0]
    table = await run_report(session, ReportKey.VOLUME_BY_TEAM, filters(MON, MON))
    assert table.rows == []
