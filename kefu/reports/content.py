"""Reports read straight from their (small or indexed) sources: backlog now, articles, searches."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.clock import utcnow
from kefu.i18n import N_
from kefu.kb.models import Article, ArticleVote
from kefu.reports.query import share, window
from kefu.reports.types import Chart, ChartKind, Column, ColumnKind, ReportFilters, ReportKey, ReportTable
from kefu.search.models import SearchMiss

TOP: Final = 50
OPEN_STATUSES: Final = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
AGE_BUCKETS: Final = (
    (timedelta(hours=1), N_("Under 1 hour")),
    (timedelta(hours=4), N_("1 to 4 hours")),
    (timedelta(hours=24), N_("4 to 24 hours")),
    (timedelta(days=3), N_("1 to 3 days")),
    (timedelta(days=7), N_("3 to 7 days")),
    (None, N_("Over 7 days")),
)
STATUS_LABELS: Final = {
    Status.NEW: N_("New"),
    Status.OPEN: N_("Open"),
    Status.PENDING: N_("Pending"),
    Status.ON_HOLD: N_("On hold"),
}


async def backlog(
    session: AsyncSession, filters: ReportFilters, *, now: datetime | None = None
) -> ReportTable:
    """Conversations not yet solved, now, by age (since created) and status; the dates are ignored."""
    now = now or utcnow()
    age = case(
        *(
            (Conversation.created_at > now - limit, index)
            for index, (limit, _label) in enumerate(AGE_BUCKETS)
            if limit is not None
        ),
        else_=len(AGE_BUCKETS) - 1,
    )
    clauses = [Conversation.status.in_(OPEN_STATUSES)]
    if filters.team_ids:
        clauses.append(Conversation.team_id.in_(filters.team_ids))
    if filters.channels:
        clauses.append(Conversation.channel.in_(filters.channels))
    if filters.categories:
        clauses.append(Conversation.category.in_(filters.categories))
    query = select(age, Conversation.status, func.count()).where(*clauses).group_by(age, Conversation.status)
    counts = {(int(b), status): int(n) for b, status, n in await session.execute(query)}
    rows: list[tuple[object, ...]] = []
    for index, (_limit, label) in enumerate(AGE_BUCKETS):
        per_status = [counts.get((index, status), 0) for status in OPEN_STATUSES]
        rows.append((label, *per_status, sum(per_status)))
    return ReportTable(
        key=ReportKey.BACKLOG,
        title=N_("Backlog and ageing"),
        columns=(
            Column("age", N_("Age"), translate=True),
            *(Column(str(s), STATUS_LABELS[s], ColumnKind.INT) for s in OPEN_STATUSES),
            Column("total", N_("Total"), ColumnKind.INT),
        ),
        rows=rows,
        chart=Chart(ChartKind.STACKED_BAR, "age", tuple(str(s) for s in OPEN_STATUSES)),
        note=N_(
            "Conversations not yet solved right now, by time since they were created. The date "
            "range does not apply; the team, channel and category filters do."
        ),
    )


async def articles(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Helpful / not helpful votes cast in the range, per article (the most voted first)."""
    win = window(filters)
    helpful = func.sum(case((ArticleVote.helpful, 1), else_=0))
    total = func.count(ArticleVote.id)
    query = (
        select(Article.title, Article.locale, helpful, total)
        .join(Article, Article.id == ArticleVote.article_id)
        .where(ArticleVote.created_at >= win.start, ArticleVote.created_at < win.end)
        .group_by(Article.id, Article.title, Article.locale)
        .order_by(total.desc(), Article.title)
        .limit(TOP)
    )
    rows: list[tuple[object, ...]] = [
        (title, locale, int(yes), int(n) - int(yes), share(int(yes), int(n)))
        for title, locale, yes, n in await session.execute(query)
    ]
    return ReportTable(
        key=ReportKey.ARTICLES,
        title=N_("Article helpfulness"),
        columns=(
            Column("article", N_("Article")),
            Column("locale", N_("Language")),
            Column("helpful", N_("Helpful"), ColumnKind.INT),
            Column("not_helpful", N_("Not helpful"), ColumnKind.INT),
            Column("helpful_share", N_("Helpful share"), ColumnKind.PERCENT),
        ),
        rows=rows,
        chart=Chart(ChartKind.STACKED_BAR, "article", ("helpful", "not_helpful")),
        note=N_(
            "Votes on \u201cWas this helpful?\u201d given in the range (a changed vote counts once, "
            "on its first day); the 50 most voted articles. Team, channel and category filters do not apply."
        ),
    )


async def searches(session: AsyncSession, filters: ReportFilters) -> ReportTable:
    """Help-center searches without an answer in the range, by query (the most frequent first)."""
    win = window(filters)
    count = func.count(SearchMiss.id)
    query = (
        select(SearchMiss.query, SearchMiss.locale, count, func.max(SearchMiss.created_at))
        .where(and_(SearchMiss.created_at >= win.start, SearchMiss.created_at < win.end))
        .group_by(SearchMiss.query, SearchMiss.locale)
        .order_by(count.desc(), SearchMiss.query)
        .limit(TOP)
    )
    rows: list[tuple[object, ...]] = [
        (text, locale, int(n), last.astimezone(win.zone).date() if last else None)
        for text, locale, n, last in await session.execute(query)
    ]
    return ReportTable(
        key=ReportKey.SEARCHES,
        title=N_("Searches without an answer"),
        columns=(
            Column("query", N_("Search")),
            Column("locale", N_("Language")),
            Column("searches", N_("Searches"), ColumnKind.INT),
            Column("last", N_("Last searched"), ColumnKind.DATE),
        ),
        rows=rows,
        chart=Chart(ChartKind.BAR, "query", ("searches",)),
        note=N_(
            "Help-center searches in the range whose best result scored under the no-answer "
            "threshold; the 50 most frequent. Team, channel and category filters do not apply."
        ),
    )
