"""Rollups: facts summed per UTC hour, then per UTC day and month, by agent × team × channel × category.

Hour rows are computed from the facts (Python, portable); day rows are the sum of their hours and
month rows the sum of their days (SQL). A period is always recomputed whole from the finer level,
so recomputing any period any number of times gives the same rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, String, Table, and_, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.base import UTCDateTime
from kefu.reports.histogram import bucket_of
from kefu.reports.models import (
    COUNTERS,
    DIMENSIONS,
    FLOAT_COUNTERS,
    INT_COUNTERS,
    conversation_facts,
    histograms,
    reply_facts,
    report_state,
    rollups,
)

HOUR: Final = "hour"
DAY: Final = "day"
MONTH: Final = "month"
IN_CHUNK: Final = 200
ANY: Final = "*"  # channel and category of per-agent rows

Key = tuple[datetime, uuid.UUID | None, uuid.UUID | None, str, str]  # hour, agent, team, channel, category
Match = Callable[[Any], ColumnElement[bool]]


def day_of(at: datetime) -> datetime:
    """Midnight UTC of the day containing `at`."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_of(at: datetime) -> datetime:
    """The first instant (UTC) of the month containing `at`."""
    return day_of(at).replace(day=1)


def next_month(month: datetime) -> datetime:
    """The first instant of the month after `month` (a month start)."""
    return (month + timedelta(days=32)).replace(day=1)


@dataclass
class _Accumulator:
    counters: dict[Key, dict[str, float]] = field(default_factory=dict)
    buckets: dict[tuple[Key, str, int], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, key: Key, **values: float) -> None:
        row = self.counters.get(key)
        if row is None:
            row = self.counters[key] = dict.fromkeys(COUNTERS, 0)
        for name, value in values.items():
            row[name] += value

    def sample(self, key: Key, metric: str, seconds: float) -> None:
        self.buckets[(key, metric, bucket_of(seconds))] += 1


def _org(hour: datetime, row: Any) -> Key:
    return (hour, None, row.team_id, row.channel, row.category)


def _agent(hour: datetime, agent_id: uuid.UUID, row: Any) -> Key:
    # Per-agent rows keep the team but not channel and category: an agent × channel × category key
    # would make these rows (and their histograms) nearly as many as the facts.
    return (hour, agent_id, row.team_id, ANY, ANY)


async def _from_conversations(session: AsyncSession, match: Match, acc: _Accumulator) -> None:
    c = conversation_facts.c
    dims = (c.team_id, c.channel, c.category)
    created = await session.execute(
        select(
            *dims,
            c.created_hour,
            c.sla_first,
            c.sla_resolution,
            c.sla_next_met,
            c.sla_next_missed,
            c.bot_answered,
            c.bot_deflected,
            c.bot_handed_over,
        ).where(match(c.created_hour))
    )
    for row in created:
        bot = row.bot_answered or row.bot_deflected or row.bot_handed_over
        acc.add(
            _org(row.created_hour, row),
            created=1,
            **{f"created_h{row.created_hour.hour:02d}": 1},
            sla_first_met=row.sla_first == "met",
            sla_first_breached=row.sla_first == "breached",
            sla_resolution_met=row.sla_resolution == "met",
            sla_resolution_breached=row.sla_resolution == "breached",
            sla_next_met=row.sla_next_met,
            sla_next_missed=row.sla_next_missed,
            bot_conversations=bot,
            bot_answered=row.bot_answered,
            bot_deflected=row.bot_deflected,
            bot_handed_over=row.bot_handed_over,
        )
    responded = await session.execute(
        select(*dims, c.first_response_hour, c.first_response_seconds).where(match(c.first_response_hour))
    )
    for resp in responded:
        key = _org(resp.first_response_hour, resp)
        acc.add(key, first_responses=1, first_response_seconds=resp.first_response_seconds)
        acc.sample(key, "first_response", resp.first_response_seconds)
    solved = await session.execute(
        select(*dims, c.solved_hour, c.resolution_seconds, c.assignee_id).where(match(c.solved_hour))
    )
    for sol in solved:
        key = _org(sol.solved_hour, sol)
        acc.add(key, resolved=1, resolution_seconds=sol.resolution_seconds)
        acc.sample(key, "resolution", sol.resolution_seconds)
        if sol.assignee_id is not None:
            acc.add(_agent(sol.solved_hour, sol.assignee_id, sol), resolved=1)
    rated = await session.execute(
        select(*dims, c.rated_hour, c.rating_score, c.rating_agent_id).where(match(c.rated_hour))
    )
    for rat in rated:
        keys = [_org(rat.rated_hour, rat)]
        if rat.rating_agent_id is not None:
            keys.append(_agent(rat.rated_hour, rat.rating_agent_id, rat))
        for key in keys:
            acc.add(key, ratings=1, rating_sum=rat.rating_score, rating_satisfied=rat.rating_score >= 4)


async def _from_replies(session: AsyncSession, match: Match, acc: _Accumulator) -> None:
    r = reply_facts.c
    found = await session.execute(
        select(
            r.team_id, r.channel, r.category, r.agent_id, r.replied_hour, r.is_first, r.wait_seconds
        ).where(match(r.replied_hour))
    )
    for row in found:
        wait = row.wait_seconds
        if not row.is_first:
            key = _org(row.replied_hour, row)
            acc.add(key, next_responses=1, next_response_seconds=wait)
            acc.sample(key, "next_response", wait)
        if row.agent_id is None:
            continue
        key = _agent(row.replied_hour, row.agent_id, row)
        acc.add(key, replies=1)
        acc.sample(key, "response", wait)
        if row.is_first:
            acc.add(key, first_responses=1, first_response_seconds=wait)
            acc.sample(key, "first_response", wait)
        else:
            acc.add(key, next_responses=1, next_response_seconds=wait)


def _dims(key: Key) -> dict[str, Any]:
    hour, agent_id, team_id, channel, category = key
    return {
        "grain": HOUR,
        "period_start": hour,
        "agent_id": agent_id,
        "team_id": team_id,
        "channel": channel,
        "category": category,
    }


async def _write_hours(session: AsyncSession, match: Match) -> None:
    acc = _Accumulator()
    await _from_conversations(session, match, acc)
    await _from_replies(session, match, acc)
    for table in (rollups, histograms):
        await session.execute(delete(table).where(table.c.grain == HOUR, match(table.c.period_start)))
    rows = [
        _dims(key)
        | {name: int(values[name]) for name in INT_COUNTERS}
        | {name: float(values[name]) for name in FLOAT_COUNTERS}
        for key, values in acc.counters.items()
    ]
    if rows:
        await session.execute(insert(rollups), rows)
    samples = [
        _dims(key) | {"metric": metric, "bucket": bucket, "n": n}
        for (key, metric, bucket), n in acc.buckets.items()
    ]
    if samples:
        await session.execute(insert(histograms), samples)


async def _sum_period(
    session: AsyncSession,
    table: Table,
    sums: Iterable[str],
    finer: str,
    coarser: str,
    start: datetime,
    end: datetime,
) -> None:
    """Replace the `coarser` row(s) of period `start` with the sum of the `finer` rows in [start, end)."""
    c = table.c
    await session.execute(delete(table).where(c.grain == coarser, c.period_start == start))
    group = [c[name] for name in DIMENSIONS]
    extra = ["metric", "bucket"] if table is histograms else []
    group += [c[name] for name in extra]
    names = list(sums)
    query = (
        select(
            literal(coarser, String()),
            literal(start, UTCDateTime()),
            *group,
            *(func.sum(c[name]) for name in names),
        )
        .where(c.grain == finer, c.period_start >= start, c.period_start < end)
        .group_by(*group)
    )
    columns = ["grain", "period_start", *DIMENSIONS, *extra, *names]
    await session.execute(insert(table).from_select(columns, query))


async def _roll_up_days(session: AsyncSession, days: Iterable[datetime]) -> None:
    for day in sorted(set(days)):
        end = day + timedelta(days=1)
        await _sum_period(session, rollups, COUNTERS, HOUR, DAY, day, end)
        await _sum_period(session, histograms, ("n",), HOUR, DAY, day, end)


STALE_PREFIX: Final = "stale:"


def _stale_name(month: datetime) -> str:
    return f"{STALE_PREFIX}{month:%Y-%m}"


async def stale_months(session: AsyncSession) -> frozenset[datetime]:
    """Months whose month rows lag behind their day rows (queries read their day rows instead)."""
    names = await session.scalars(
        select(report_state.c.name).where(report_state.c.name.startswith(STALE_PREFIX))
    )
    found = set()
    for name in names:
        year, month = name.removeprefix(STALE_PREFIX).split("-")
        found.add(datetime(int(year), int(month), 1, tzinfo=UTC))
    return frozenset(found)


async def mark_stale(session: AsyncSession, months: Iterable[datetime], now: datetime) -> None:
    """Record that these months' rows need recomputing (kept until `roll_up_months` does it)."""
    known = await stale_months(session)
    rows = [{"name": _stale_name(m), "value": now} for m in sorted(set(months) - known)]
    if rows:
        await session.execute(insert(report_state), rows)


async def roll_up_months(session: AsyncSession, months: Iterable[datetime]) -> None:
    """Recompute the month rows of `months` from their day rows; they are no longer stale."""
    ordered = sorted(set(months))
    for month in ordered:
        end = next_month(month)
        await _sum_period(session, rollups, COUNTERS, DAY, MONTH, month, end)
        await _sum_period(session, histograms, ("n",), DAY, MONTH, month, end)
    if ordered:
        names = [_stale_name(m) for m in ordered]
        await session.execute(delete(report_state).where(report_state.c.name.in_(names)))


async def recompute_hours(
    session: AsyncSession, hours: Iterable[datetime], *, months: bool = True
) -> set[datetime]:
    """Recompute the rollups of the given UTC hours and of the days containing them.

    With `months`, the months' rows too; else the caller marks them stale. Returns the months touched.
    """
    ordered = sorted(set(hours))
    for start in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[start : start + IN_CHUNK]

        def match(column: Any, chunk: list[datetime] = chunk) -> ColumnElement[bool]:
            return column.in_(chunk)  # type: ignore[no-any-return]

        await _write_hours(session, match)
    days = {day_of(hour) for hour in ordered}
    await _roll_up_days(session, days)
    touched = {month_of(day) for day in days}
    if months:
        await roll_up_months(session, touched)
    return touched


async def recompute_range(session: AsyncSession, start: datetime, end: datetime) -> None:
    """Recompute every rollup of the UTC hours in [start, end), one day at a time (rebuilds)."""
    day = day_of(start)
    months: set[datetime] = set()
    while day < end:
        lo, hi = max(day, start), min(day + timedelta(days=1), end)

        def match(column: Any, lo: datetime = lo, hi: datetime = hi) -> ColumnElement[bool]:
            return and_(column >= lo, column < hi)

        await _write_hours(session, match)
        await _roll_up_days(session, [day])
        months.add(month_of(day))
        day += timedelta(days=1)
    await roll_up_months(session, months)


def split_range(
    start: datetime, end: datetime, stale: frozenset[datetime] = frozenset()
) -> list[tuple[str, datetime, datetime]]:
    """[start, end) (whole UTC hours) as the fewest hour, day and month periods: (grain, lo, hi).

    Months in `stale` are read as days.
    """
    pieces: list[tuple[str, datetime, datetime]] = []
    at = start
    while at < end:
        if at == month_of(at) and next_month(at) <= end and at not in stale:
            grain, step = MONTH, next_month(at)
        elif at == day_of(at) and at + timedelta(days=1) <= end:
            grain, step = DAY, at + timedelta(days=1)
        else:
            grain, step = HOUR, at + timedelta(hours=1)
        if pieces and pieces[-1][0] == grain and pieces[-1][2] == at:
            pieces[-1] = (grain, pieces[-1][1], step)
        else:
            pieces.append((grain, at, step))
        at = step
    return pieces
