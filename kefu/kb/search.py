"""Keeping the knowledge-base search index in step with articles (filled in by the search work)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession


async def do_index_article(session: AsyncSession, article_id: uuid.UUID) -> None:
    """(Re)index one article version after it changed (published ones are searchable)."""


async def do_unindex_article(session: AsyncSession, article_id: uuid.UUID) -> None:
    """Remove one article version from the index (unpublished or deleted)."""
