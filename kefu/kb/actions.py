"""Changes to knowledge-base articles. Actions never commit; each keeps the search index in step."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import utcnow
from kefu.core.errors import Conflict
from kefu.core.ids import new_id
from kefu.kb import search
from kefu.kb.models import Article, ArticleRevision, ArticleStatus, ArticleVote
from kefu.kb.schemas import ArticleCreate, ArticleUpdate


def voter_key(secret: str, kind: str, value: str) -> str:
    """The stored voter id: an HMAC of ("visitor" | "customer", id) so raw ids are never kept."""
    message = f"{kind}:{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _add_revision(session: AsyncSession, article: Article, author_id: uuid.UUID | None) -> None:
    session.add(
        ArticleRevision(
            article_id=article.id,
            revision=article.revision,
            title=article.title,
            body=article.body,
            tags=list(article.tags),
            category=article.category,
            created_by_id=author_id,
            created_at=utcnow(),
        )
    )


async def _sync_index(session: AsyncSession, article: Article) -> None:
    await session.flush()
    if article.is_published:
        await search.do_index_article(session, article.id)
    else:
        await search.do_unindex_article(session, article.id)


async def do_create_article(
    session: AsyncSession, data: ArticleCreate, *, author_id: uuid.UUID | None, publish: bool = False
) -> Article:
    """Create a draft (or published) article with revision 1; Conflict if (slug, locale) is taken."""
    taken = await session.scalar(
        select(Article.id).where(Article.slug == data.slug, Article.locale == data.locale)
    )
    if taken is not None:
        raise Conflict(
            "an article with this slug already exists in this locale", fields={"slug": "already used"}
        )
    now = utcnow()
    article = Article(
        id=new_id(),
        slug=data.slug,
        locale=data.locale,
        title=data.title,
        body=data.body,
        category=data.category,
        tags=list(data.tags),
        status=ArticleStatus.PUBLISHED if publish else ArticleStatus.DRAFT,
        published_at=now if publish else None,
        author_id=author_id,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # A concurrent create won the (slug, locale) race.
        raise Conflict(
            "an article with this slug already exists in this locale", fields={"slug": "already used"}
        ) from None
    _add_revision(session, article, author_id)
    await _sync_index(session, article)
    return article


async def do_update_article(
    session: AsyncSession, article: Article, changes: ArticleUpdate, *, author_id: uuid.UUID | None
) -> bool:
    """Apply `changes`; a real change bumps the revision and records it. Returns whether it changed."""
    changed = False
    for name in ("title", "body", "category", "tags"):
        value = getattr(changes, name)
        if value is not None and value != getattr(article, name):
            setattr(article, name, list(value) if name == "tags" else value)
            changed = True
    if not changed:
        return False
    article.revision += 1
    article.updated_at = utcnow()
    _add_revision(session, article, author_id)
    await _sync_index(session, article)
    return True


async def do_publish_article(session: AsyncSession, article: Article) -> None:
    """Make the article visible in the help center and searchable (idempotent)."""
    if article.status != ArticleStatus.PUBLISHED:
        article.status = ArticleStatus.PUBLISHED
        article.published_at = utcnow()
        article.updated_at = utcnow()
    await _sync_index(session, article)


async def do_unpublish_article(session: AsyncSession, article: Article) -> None:
    """Hide the article from the help center and search; it stays editable as a draft (idempotent)."""
    if article.status != ArticleStatus.DRAFT:
        article.status = ArticleStatus.DRAFT
        article.updated_at = utcnow()
    await _sync_index(session, article)


async def do_delete_article(session: AsyncSession, article: Article) -> None:
    """Delete the article with its revisions and votes, after removing it from the index."""
    await search.do_unindex_article(session, article.id)
    await session.delete(article)
    await session.flush()


def _counter_shift(helpful: bool, delta: int) -> dict[str, object]:
    column = Article.helpful_yes if helpful else Article.helpful_no
    return {column.key: column + delta}


async def do_vote(session: AsyncSession, article: Article, voter: str, helpful: bool) -> None:
    """Record `voter`'s answer; voting again with the same answer changes nothing, a new one moves it."""
    existing = await session.scalar(
        select(ArticleVote)
        .where(ArticleVote.article_id == article.id, ArticleVote.voter == voter)
        .with_for_update()
    )
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(
                    ArticleVote(article_id=article.id, voter=voter, helpful=helpful, created_at=utcnow())
                )
                await session.flush()
        except IntegrityError:
            # The same visitor's concurrent request recorded it first: treat as a repeat.
            return
        shift = _counter_shift(helpful, 1)
    elif existing.helpful == helpful:
        return
    else:
        existing.helpful = helpful
        shift = _counter_shift(helpful, 1) | _counter_shift(not helpful, -1)
    # Counters move in SQL so concurrent votes on one article never lose an increment.
    await session.execute(
        update(Article)
        .where(Article.id == article.id)
        .values(shift)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(article, ["helpful_yes", "helpful_no"])


async def do_record_view(session: AsyncSession, article_id: uuid.UUID) -> None:
    """Count one view of a published article (a single UPDATE, no read)."""
    await session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(views=Article.views + 1)
        .execution_options(synchronize_session=False)
    )
