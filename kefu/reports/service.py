"""Reads: every dashboard as a `ReportTable`, and the catalog the console lists them from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.i18n import N_
from kefu.reports import content, performance, volume
from kefu.reports.types import ReportFilters, ReportKey, ReportTable

# (key, title, one-line description), in display order.
REPORT_CATALOG: Final[tuple[tuple[ReportKey, str, str], ...]] = (
    (ReportKey.VOLUME, N_("Conversation volume"), N_("Conversations created per day, by channel.")),
    (ReportKey.VOLUME_BY_CATEGORY, N_("Volume by category"), N_("Which topics customers write about.")),
    (ReportKey.VOLUME_BY_TEAM, N_("Volume by team"), N_("How conversations are spread across teams.")),
    (
        ReportKey.HOUR_OF_WEEK,
        N_("Conversations by hour of week"),
        N_("When customers write: a heat map of weekday and hour."),
    ),
    (
        ReportKey.RESPONSE_TIMES,
        N_("Response and resolution times"),
        N_("First response, next response and resolution: median and 90th percentile, in business hours."),
    ),
    (ReportKey.SLA, N_("SLA attainment"), N_("Targets met and breached, per SLA target.")),
    (ReportKey.BACKLOG, N_("Backlog and ageing"), N_("Unsolved conversations now, by age and status.")),
    (ReportKey.CSAT, N_("Customer satisfaction"), N_("Ratings, average score and CSAT per team.")),
    (
        ReportKey.BOT,
        N_("Bot deflection and handoff"),
        N_("What the chat bot solved and what it handed over."),
    ),
    (ReportKey.ARTICLES, N_("Article helpfulness"), N_("Helpful and not helpful votes per article.")),
    (
        ReportKey.SEARCHES,
        N_("Searches without an answer"),
        N_("What customers searched the help center for and did not find."),
    ),
    (ReportKey.AGENTS, N_("Agents"), N_("Workload and response times per agent.")),
)

_BUILDERS: Final[dict[ReportKey, Callable[[AsyncSession, ReportFilters], Awaitable[ReportTable]]]] = {
    ReportKey.VOLUME: volume.volume,
    ReportKey.VOLUME_BY_CATEGORY: volume.volume_by_category,
    ReportKey.VOLUME_BY_TEAM: volume.volume_by_team,
    ReportKey.HOUR_OF_WEEK: volume.hour_of_week,
    ReportKey.RESPONSE_TIMES: performance.response_times,
    ReportKey.SLA: performance.sla,
    ReportKey.BACKLOG: content.backlog,
    ReportKey.CSAT: performance.csat,
    ReportKey.BOT: performance.bot,
    ReportKey.ARTICLES: content.articles,
    ReportKey.SEARCHES: content.searches,
    ReportKey.AGENTS: performance.agents,
}


async def run_report(session: AsyncSession, key: ReportKey, filters: ReportFilters) -> ReportTable:
    """The report `key` for `filters` (a valid IANA `time_zone`; the web layer checks it); read-only."""
    return await _BUILDERS[key](session, filters)
