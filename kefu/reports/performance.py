"""Service reports from the rollups: response times, SLA attainment, CSAT, the bot, agents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.i18n import N_
from kefu.reports.histogram import percentile
from kefu.reports.models import rollups
from kefu.reports.query import (
    agent_names,
    merged_histograms,
    rollup_clauses,
    rollup_window,
    share,
    team_names,
)
from kefu.reports.types import Chart, ChartKind, Column, ColumnKind, ReportFilters, ReportKey, ReportTable


async def _sums(
    session: AsyncSession, filters: ReportFilters, names: Sequence[str], *, by: str = "", agents: bool = False
) -> list[Any]:
    r = rollups.c
    group = [r[by]] if by else []
    query = select(*group, *(func.coalesce(func.sum(r[name]), 0) for name in names)).where(
        *rollup_clauses(rollups, filters, (await rollup_window(session, filters)).pieces(), agents=agents)
    )
    if group:
        query = query.group_by(*group)
    return list((await session.execute(query)).all())


async def response_times(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """First response, next response and resolution times: count, median, p90 and mean."""
    metrics = (
        ("first_response", N_("First response"), "first_responses", "first_response_seconds"),
        ("next_response", N_("Next response"), "next_responses", "next_response_seconds"),
        ("resolution", N_("Resolution"), "resolved", "resolution_seconds"),
    )
    names = [name for _m, _l, count, seconds in metrics for name in (count, seconds)]
    (sums,) = await _sums(session, filters, names)
    totals = dict(zip(names, sums, strict=True))
    merged = await merged_histograms(session, filters, await rollup_window(session, filters))
    rows: list[tuple[object, ...]] = []
    for metric, label, count, seconds in metrics:
        histogram = merged.get((None, metric), {})
        n = int(totals[count])
        rows.append(
            (
                label,
                n,
                percentile(histogram, 0.5),
                percentile(histogram, 0.9),
                float(totals[seconds]) / n if n else None,
            )
        )
    return ReportTable(
        key=ReportKey.RESPONSE_TIMES,
        title=N_("Response and resolution times"),
        columns=(
            Column("measure", N_("Measure"), translate=True),
            Column("count", N_("Count"), ColumnKind.INT),
            Column("median", N_("Median"), ColumnKind.DURATION),
            Column("p90", N_("90th percentile"), ColumnKind.DURATION),
            Column("mean", N_("Mean"), ColumnKind.DURATION),
        ),
        rows=rows,
        chart=Chart(ChartKind.BAR, "measure", ("median", "p90")),
        note=N_(
            "First responses are counted when given, next responses when an agent answered a later "
            "customer message, resolutions when solved. Business hours of the conversation's team "
            "(or the default schedule). Medians and 90th percentiles come from log-scale histograms "
            "and are accurate to about 9 per cent."
        ),
    )


async def sla(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Met and breached SLA targets of conversations created in the range."""
    targets = (
        (N_("First response"), "sla_first_met", "sla_first_breached"),
        (N_("Next response"), "sla_next_met", "sla_next_missed"),
        (N_("Resolution"), "sla_resolution_met", "sla_resolution_breached"),
    )
    names = [name for _l, met, missed in targets for name in (met, missed)]
    (sums,) = await _sums(session, filters, names)
    totals = dict(zip(names, (int(v) for v in sums), strict=True))
    rows: list[tuple[object, ...]] = [
        (label, totals[met], totals[missed], share(totals[met], totals[met] + totals[missed]))
        for label, met, missed in targets
    ]
    return ReportTable(
        key=ReportKey.SLA,
        title=N_("SLA attainment"),
        columns=(
            Column("target", N_("Target"), translate=True),
            Column("met", N_("Met"), ColumnKind.INT),
            Column("breached", N_("Breached"), ColumnKind.INT),
            Column("attainment", N_("Attainment"), ColumnKind.PERCENT),
        ),
        rows=rows,
        chart=Chart(ChartKind.STACKED_BAR, "target", ("met", "breached")),
        note=N_(
            "Conversations created in the range whose SLA clock ended (answered or solved); clocks "
            "still running are not counted yet. Next response counts every reply cycle."
        ),
    )


async def csat(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Ratings given in the range per team, with the average score and the share of 4 and 5."""
    found = await _sums(session, filters, ("ratings", "rating_sum", "rating_satisfied"), by="team_id")
    names = await team_names(session, (row[0] for row in found))
    rows: list[tuple[object, ...]] = []
    all_ratings = all_sum = all_satisfied = 0
    for team_id, ratings, total, satisfied in sorted(found, key=lambda row: names[row[0]]):
        if not ratings:
            continue
        all_ratings, all_sum, all_satisfied = (
            all_ratings + ratings,
            all_sum + total,
            all_satisfied + satisfied,
        )
        rows.append((names[team_id], int(ratings), total / ratings, share(satisfied, ratings)))
    rows.append(
        (N_("All teams"), all_ratings, share(all_sum, all_ratings), share(all_satisfied, all_ratings))
    )
    return ReportTable(
        key=ReportKey.CSAT,
        title=N_("Customer satisfaction"),
        columns=(
            Column("team", N_("Team"), translate=True),
            Column("ratings", N_("Ratings"), ColumnKind.INT),
            Column("average", N_("Average score"), ColumnKind.FLOAT),
            Column("csat", N_("CSAT"), ColumnKind.PERCENT),
        ),
        rows=rows,
        chart=Chart(ChartKind.BAR, "team", ("csat",)),
        note=N_("Ratings (1 to 5) given in the range; CSAT is the share of 4 and 5."),
    )


async def bot(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Conversations created in the range with the bot: answered, deflected, handed over."""
    names = ("bot_conversations", "bot_answered", "bot_deflected", "bot_handed_over")
    (sums,) = await _sums(session, filters, names)
    total, answered, deflected, handed = (int(v) for v in sums)
    return ReportTable(
        key=ReportKey.BOT,
        title=N_("Bot deflection and handoff"),
        columns=(
            Column("measure", N_("Measure"), translate=True),
            Column("conversations", N_("Conversations"), ColumnKind.INT),
            Column("rate", N_("Rate"), ColumnKind.PERCENT),
        ),
        rows=[
            (N_("Conversations with the bot"), total, share(total, total)),
            (N_("Answered with articles"), answered, share(answered, total)),
            (N_("Deflected (solved by the bot)"), deflected, share(deflected, total)),
            (N_("Handed over to a person"), handed, share(handed, total)),
        ],
        chart=Chart(ChartKind.BAR, "measure", ("conversations",)),
        note=N_(
            "Conversations created in the range in which the bot answered. Deflection rate: the "
            "customer said the articles solved it; handoff rate: a person took over."
        ),
    )


async def agents(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Per agent: replies, first responses, resolved conversations, response times and ratings."""
    names_ = ("replies", "first_responses", "resolved", "ratings", "rating_sum")
    found = {row[0]: row[1:] for row in await _sums(session, filters, names_, by="agent_id", agents=True)}
    merged = await merged_histograms(session, filters, await rollup_window(session, filters), agents=True)
    ids: set[uuid.UUID] = set(found) | {agent_id for agent_id, _m in merged if agent_id is not None}
    names = await agent_names(session, ids)
    rows: list[tuple[object, ...]] = []
    for agent_id in sorted(ids, key=lambda i: names[i]):
        replies, first, resolved, ratings, rating_sum = (int(v) for v in found.get(agent_id, (0,) * 5))
        response = merged.get((agent_id, "response"), {})
        rows.append(
            (
                names[agent_id],
                replies,
                first,
                percentile(merged.get((agent_id, "first_response"), {}), 0.5),
                percentile(response, 0.5),
                percentile(response, 0.9),
                resolved,
                ratings,
                share(rating_sum, ratings),
            )
        )
    return ReportTable(
        key=ReportKey.AGENTS,
        title=N_("Agents"),
        columns=(
            Column("agent", N_("Agent")),
            Column("replies", N_("Replies"), ColumnKind.INT),
            Column("first_responses", N_("First responses"), ColumnKind.INT),
            Column("first_response_median", N_("Median first response"), ColumnKind.DURATION),
            Column("response_median", N_("Median response"), ColumnKind.DURATION),
            Column("response_p90", N_("90th percentile response"), ColumnKind.DURATION),
            Column("resolved", N_("Resolved"), ColumnKind.INT),
            Column("ratings", N_("Ratings"), ColumnKind.INT),
            Column("average_score", N_("Average score"), ColumnKind.FLOAT),
        ),
        rows=rows,
        chart=Chart(ChartKind.BAR, "agent", ("replies", "resolved")),
        note=N_(
            "Replies that answered a waiting customer, by the agent who wrote them; resolved: "
            "conversations solved while assigned to the agent; ratings: given to the agent. Times in "
            "business hours, from log-scale histograms (accurate to about 9 per cent). The team "
            "filter applies; channel and category filters do not."
        ),
    )
