"""Keeping the knowledge-base search index in step with articles.

The kb domain calls these after an article is created, edited, published, unpublished or deleted,
in the same transaction. The article is read from `kb_articles` with a Core query on the table name,
so the search package does not depend on the kb models module.
"""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, String, Text, Uuid, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.search.index import do_index_document, do_remove_document

PUBLISHED = "published"

_articles = table(
    "kb_articles",
    column("id", Uuid()),
    column("slug", String()),
    column("locale", String()),
    column("title", String()),
    column("body", Text()),
    column("category", String()),
    column("tags", JSON()),
    column("status", String()),
)


async def do_index_article(session: AsyncSession, article_id: uuid.UUID) -> None:
    """(Re)index one article version after it changed (published ones are searchable, others removed)."""
    row = (await session.execute(select(_articles).where(_articles.c.id == article_id))).first()
    if row is None or row.status != PUBLISHED:
        await do_remove_document(session, article_id)
        return
    tags = row.tags if isinstance(row.tags, list) else []
    await do_index_document(
        session,
        doc_id=article_id,
        locale=row.locale,
        slug=row.slug,
        title=row.title or "",
        body_markdown=row.body or "",
        category=row.category or "",
        tags=[str(t) for t in tags],
    )


async def do_unindex_article(session: AsyncSession, article_id: uuid.UUID) -> None:
    """Remove one article version from the index (unpublished or deleted)."""
    await do_remove_document(session, article_id)
