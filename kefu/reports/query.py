"""Shared pieces of the report queries: the UTC window of a filter, rollup clauses, labels."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import Agent
from kefu.conversations.states import Category
from kefu.i18n import N_
from kefu.inboxes.models import ChannelKind, Team
from kefu.reports.histogram import merge
from kefu.reports.models import histograms
from kefu.reports.rollups import DAY, day_of, split_range, stale_months
from kefu.reports.types import ReportFilters

CHANNEL_LABELS: Final[dict[str, str]] = {
    ChannelKind.API: N_("API"),
    ChannelKind.WEB: N_("Web form"),
    ChannelKind.EMAIL: N_("Email"),
    ChannelKind.CHAT: N_("Live chat"),
    ChannelKind.TELEGRAM: "Telegram",
    ChannelKind.MESSENGER: "Messenger",
    ChannelKind.X: "X",
    ChannelKind.PHONE: N_("Phone"),
}
CATEGORY_LABELS: Final[dict[str, str]] = {
    Category.ACCOUNT_ACCESS: N_("Account access"),
    Category.KYC: N_("Identity verification"),
    Category.TRADING: N_("Trading"),
    Category.DEPOSIT: N_("Deposit"),
    Category.WITHDRAWAL: N_("Withdrawal"),
    Category.SECURITY: N_("Security"),
    Category.GENERAL: N_("General"),
    Category.CALLBACK: N_("Request a call back"),
}
NO_TEAM: Final = N_("No team")
DELETED: Final = N_("(deleted)")


@dataclass(frozen=True, slots=True)
class Window:
    """A filter's calendar days as UTC instants [start, end), floored to whole hours."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    stale: frozenset[datetime] = frozenset()  # months whose month rows are not current
    # UTC day → the local time of each of its 24 hours (None outside the window), computed once.
    _slots: dict[datetime, tuple[datetime | None, ...]] = field(default_factory=dict, compare=False)

    def local_hours(self, day: datetime) -> tuple[datetime | None, ...]:
        """The local time of each UTC hour of `day` that lies inside the window (else None)."""
        slots = self._slots.get(day)
        if slots is None:
            hours = (day + timedelta(hours=hour) for hour in range(24))
            slots = tuple(at.astimezone(self.zone) if self.start <= at < self.end else None for at in hours)
            self._slots[day] = slots
        return slots

    def pieces(self) -> list[tuple[str, datetime, datetime]]:
        return split_range(self.start, self.end, self.stale)

    def day_pieces(self) -> list[tuple[str, datetime, datetime]]:
        """The UTC days overlapping the window (their hour columns are cut to it by the caller)."""
        return [(DAY, day_of(self.start), day_of(self.end - timedelta(microseconds=1)) + timedelta(days=1))]


def _floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def window(filters: ReportFilters) -> Window:
    """The UTC window of `filters` (local midnights of the first and the day after the last day)."""
    zone = ZoneInfo(filters.time_zone)
    start = datetime.combine(filters.start, time(), zone).astimezone(UTC)
    end = datetime.combine(filters.end + timedelta(days=1), time(), zone).astimezone(UTC)
    return Window(_floor_hour(start), _floor_hour(end), zone)


async def rollup_window(session: AsyncSession, filters: ReportFilters) -> Window:
    """`window(filters)` knowing which months' rollups are stale (read as days meanwhile)."""
    win = window(filters)
    return Window(win.start, win.end, win.zone, await stale_months(session))


def period_clause(table: Table, pieces: Sequence[tuple[str, datetime, datetime]]) -> ColumnElement[bool]:
    """Rows of `table` in the given (grain, lo, hi) periods."""
    c = table.c
    return or_(*(and_(c.grain == g, c.period_start >= lo, c.period_start < hi) for g, lo, hi in pieces))


def rollup_clauses(
    table: Table,
    filters: ReportFilters,
    pieces: Sequence[tuple[str, datetime, datetime]],
    *,
    agents: bool = False,
) -> list[ColumnElement[bool]]:
    """WHERE clauses of rollup rows: the periods, organisation-wide or per-agent rows, and the filters."""
    c = table.c
    clauses = [period_clause(table, pieces), c.agent_id.is_not(None) if agents else c.agent_id.is_(None)]
    if filters.team_ids:
        clauses.append(c.team_id.in_(filters.team_ids))
    # Per-agent rows have no channel or category (kefu.reports.rollups.ANY).
    if filters.channels and not agents:
        clauses.append(c.channel.in_(filters.channels))
    if filters.categories and not agents:
        clauses.append(c.category.in_(filters.categories))
    return clauses


def hours_in(window: Window, day: datetime, counts: Sequence[Any]) -> Iterable[tuple[datetime, int]]:
    """(local time, count) of each UTC hour of `day` inside the window, from its 24 hour columns."""
    for local, count in zip(window.local_hours(day), counts, strict=True):
        if count and local is not None:
            yield local, int(count)


async def merged_histograms(
    session: AsyncSession, filters: ReportFilters, window: Window, *, agents: bool = False
) -> dict[tuple[uuid.UUID | None, str], dict[int, int]]:
    """The merged histogram of each (agent or None, metric) over the window."""
    h = histograms.c
    query = (
        select(h.agent_id, h.metric, h.bucket, func.sum(h.n))
        .where(*rollup_clauses(histograms, filters, window.pieces(), agents=agents))
        .group_by(h.agent_id, h.metric, h.bucket)
    )
    found: dict[tuple[uuid.UUID | None, str], list[tuple[int, int]]] = {}
    for agent_id, metric, bucket, n in await session.execute(query):
        found.setdefault((agent_id, metric), []).append((int(bucket), int(n)))
    return {key: merge(pairs) for key, pairs in found.items()}


async def team_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID | None, str]:
    """Display names of teams (None: "No team"; a deleted team: "(deleted)")."""
    wanted = {i for i in ids if i is not None}
    names: dict[uuid.UUID | None, str] = {None: NO_TEAM}
    if wanted:
        rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(wanted)))
        names.update({team_id: str(name) for team_id, name in rows})
    return names | {i: DELETED for i in wanted if i not in names}


async def agent_names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of agents (a deleted agent: "(deleted)")."""
    wanted = set(ids)
    names: dict[uuid.UUID, str] = {}
    if wanted:
        rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(wanted)))
        names.update({agent_id: str(name) for agent_id, name in rows})
    return names | {i: DELETED for i in wanted if i not in names}


def share(part: float, whole: float) -> float | None:
    """part / whole, or None when whole is 0."""
    return part / whole if whole else None
