"""Reads of the knowledge base: the help center's published articles and the staff's editing lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import NotFound
from kefu.kb.models import LOCALES, Article, ArticleRevision, ArticleStatus

# Related articles are picked in memory among this many of the locale's published articles.
_RELATED_CANDIDATES = 500


def _published(locale: str) -> Select[Article]:
    return select(Article).where(Article.locale == locale, Article.status == ArticleStatus.PUBLISHED)


async def get_published(session: AsyncSession, locale: str, slug: str) -> Article:
    """The published article for (locale, slug); NotFound for drafts and missing ones alike."""
    article = await session.scalar(_published(locale).where(Article.slug == slug))
    if article is None:
        raise NotFound("article not found")
    return article


async def list_published(
    session: AsyncSession, locale: str, category: str | None = None, *, limit: int = 500
) -> list[Article]:
    """Published articles of one locale (optionally one category), by category then title."""
    query = _published(locale)
    if category is not None:
        query = query.where(Article.category == category)
    rows = await session.scalars(query.order_by(Article.category, Article.title, Article.slug).limit(limit))
    return list(rows)


async def popular(session: AsyncSession, locale: str, limit: int = 5) -> list[Article]:
    """The most viewed published articles of one locale (helpful votes break ties)."""
    rows = await session.scalars(
        _published(locale)
        .order_by(Article.views.desc(), Article.helpful_yes.desc(), Article.slug)
        .limit(limit)
    )
    return list(rows)


async def related(session: AsyncSession, article: Article, limit: int = 5) -> list[Article]:
    """Published articles of the same locale sharing the category or tags, most overlap first."""
    tags = set(article.tags)
    candidates = await session.scalars(
        _published(article.locale)
        .where(Article.id != article.id)
        .order_by(Article.views.desc(), Article.slug)
        .limit(_RELATED_CANDIDATES)
    )
    scored: list[tuple[int, int, Article]] = []
    for position, other in enumerate(candidates):
        score = 2 * len(tags & set(other.tags)) + (1 if other.category == article.category else 0)
        if score:
            scored.append((-score, position, other))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [other for _, _, other in scored[:limit]]


async def other_locale(session: AsyncSession, article: Article) -> Article | None:
    """The published version of the same topic in the other locale, if any."""
    others = [loc for loc in LOCALES if loc != article.locale]
    result: Article | None = await session.scalar(
        select(Article).where(
            Article.slug == article.slug,
            Article.locale.in_(others),
            Article.status == ArticleStatus.PUBLISHED,
        )
    )
    return result


async def list_revisions(session: AsyncSession, article_id: uuid.UUID) -> list[ArticleRevision]:
    """An article's saved versions, newest first."""
    rows = await session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article_id)
        .order_by(ArticleRevision.revision.desc())
    )
    return list(rows)


@dataclass(frozen=True)
class StaffArticleFilters:
    """What the editing list may be narrowed by (all optional)."""

    locale: str | None = None
    status: ArticleStatus | None = None
    category: str | None = None
    text: str | None = None  # a substring of the title or slug
    limit: int = 100
    offset: int = 0


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_articles_for_staff(session: AsyncSession, filters: StaffArticleFilters) -> list[Article]:
    """Drafts and published articles for the editors, most recently updated first."""
    query = select(Article)
    if filters.locale is not None:
        query = query.where(Article.locale == filters.locale)
    if filters.status is not None:
        query = query.where(Article.status == filters.status)
    if filters.category is not None:
        query = query.where(Article.category == filters.category)
    if filters.text:
        pattern = f"%{_escape_like(filters.text.lower())}%"
        query = query.where(
            or_(
                func.lower(Article.title).like(pattern, escape="\\"),
                Article.slug.like(pattern, escape="\\"),
            )
        )
    query = query.order_by(Article.updated_at.desc(), Article.id).limit(filters.limit).offset(filters.offset)
    return list(await session.scalars(query))


async def find_article(session: AsyncSession, locale: str, slug: str) -> Article | None:
    """The article for (locale, slug) whatever its status (importer and staff tools)."""
    result: Article | None = await session.scalar(
        select(Article).where(Article.locale == locale, Article.slug == slug)
    )
    return result


async def count_published_by_category(session: AsyncSession, locale: str) -> dict[str, int]:
    """How many published articles each category has in `locale` (one grouped query)."""
    rows = await session.execute(
        select(Article.category, func.count())
        .where(Article.locale == locale, Article.status == ArticleStatus.PUBLISHED)
        .group_by(Article.category)
    )
    return {str(category): int(count) for category, count in rows}
