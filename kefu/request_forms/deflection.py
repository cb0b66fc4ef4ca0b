"""Counting deflected requests: form sessions that a suggested article answered.

The rule (docs/request-forms.md): a form session is one view of a request form. It is a
*deflection* when the reader opened an article suggested while typing the subject and the session
sent no request within 30 minutes of the first article opened. Until those 30 minutes have passed
the session is *pending* and not counted either way. Reports cover sessions whose first opened
article falls in the period; suggestions and openings are counted once per session and article.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.kb.models import Article
from kefu.request_forms.models import DeflectionEvent, DeflectionKind

DEFLECTION_WINDOW: Final = timedelta(minutes=30)
REPORT_DAYS: Final = 30
MAX_ARTICLES: Final = 50


@dataclass(frozen=True)
class ArticleDeflections:
    article_id: uuid.UUID
    slug: str
    locale: str
    title: str
    suggested: int
    opened: int
    deflections: int


@dataclass
class DeflectionReport:
    """Totals over the period and the articles with the most deflections."""

    days: int
    sessions_with_suggestions: int = 0
    sessions_with_opened_article: int = 0
    submitted_after_opening: int = 0
    deflections: int = 0
    pending: int = 0
    articles: list[ArticleDeflections] = field(default_factory=list)


async def _sessions_per_article(
    session: AsyncSession, kind: DeflectionKind, since: datetime, until: datetime
) -> dict[uuid.UUID, int]:
    # One row per (session, kind, article) is stored, so a row count is a session count.
    rows = await session.execute(
        select(DeflectionEvent.article_id, func.count())
        .where(
            DeflectionEvent.kind == kind,
            DeflectionEvent.created_at >= since,
            DeflectionEvent.created_at < until,
            DeflectionEvent.article_id.is_not(None),
        )
        .group_by(DeflectionEvent.article_id)
    )
    return {article_id: int(n) for article_id, n in rows if article_id is not None}


async def count_deflections(
    session: AsyncSession, *, now: datetime, days: int = REPORT_DAYS, limit: int = MAX_ARTICLES
) -> DeflectionReport:
    """Deflection counts for sessions active in the `days` before `now` (tz-aware), per article too."""
    since = now - timedelta(days=days)
    report = DeflectionReport(days=days)
    report.sessions_with_suggestions = int(
        await session.scalar(
            select(func.count(func.distinct(DeflectionEvent.session_id))).where(
                DeflectionEvent.kind == DeflectionKind.SUGGESTED,
                DeflectionEvent.created_at >= since,
                DeflectionEvent.created_at < now,
            )
        )
        or 0
    )
    opened_rows = (
        await session.execute(
            select(DeflectionEvent.session_id, DeflectionEvent.article_id, DeflectionEvent.created_at).where(
                DeflectionEvent.kind == DeflectionKind.OPENED,
                DeflectionEvent.created_at >= since,
                DeflectionEvent.created_at < now,
            )
        )
    ).all()
    first_opened: dict[str, datetime] = {}
    opened_by_session: dict[str, set[uuid.UUID]] = defaultdict(set)
    for session_id, article_id, at in opened_rows:
        first_opened[session_id] = min(at, first_opened.get(session_id, at))
        if article_id is not None:
            opened_by_session[session_id].add(article_id)
    submitted: dict[str, datetime] = {}
    if first_opened:
        rows = await session.execute(
            select(DeflectionEvent.session_id, func.min(DeflectionEvent.created_at))
            .where(
                DeflectionEvent.kind == DeflectionKind.SUBMITTED,
                DeflectionEvent.created_at >= since,
                DeflectionEvent.session_id.in_(list(first_opened)),
            )
            .group_by(DeflectionEvent.session_id)
        )
        submitted = {session_id: at for session_id, at in rows}  # noqa: C416 - rows are Row objects
    deflected_per_article: dict[uuid.UUID, int] = defaultdict(int)
    report.sessions_with_opened_article = len(first_opened)
    for session_id, opened_at in first_opened.items():
        sent_at = submitted.get(session_id)
        deadline = opened_at + DEFLECTION_WINDOW
        if sent_at is not None and sent_at <= deadline:
            report.submitted_after_opening += 1
        elif now < deadline:
            report.pending += 1
        else:
            report.deflections += 1
            for article_id in opened_by_session[session_id]:
                deflected_per_article[article_id] += 1
    suggested = await _sessions_per_article(session, DeflectionKind.SUGGESTED, since, now)
    opened = await _sessions_per_article(session, DeflectionKind.OPENED, since, now)
    ranked = sorted(
        set(suggested) | set(opened),
        key=lambda a: (-deflected_per_article.get(a, 0), -opened.get(a, 0), -suggested.get(a, 0), str(a)),
    )[:limit]
    if ranked:
        articles = {
            row.id: row
            for row in await session.execute(
                select(Article.id, Article.slug, Article.locale, Article.title).where(Article.id.in_(ranked))
            )
        }
        report.articles = [
            ArticleDeflections(
                article_id=a,
                slug=articles[a].slug,
                locale=articles[a].locale,
                title=articles[a].title,
                suggested=suggested.get(a, 0),
                opened=opened.get(a, 0),
                deflections=deflected_per_article.get(a, 0),
            )
            for a in ranked
            if a in articles
        ]
    return report
