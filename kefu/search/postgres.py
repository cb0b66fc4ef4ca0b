"""PostgreSQL backend: a generated `tsvector` (simple configuration) over the stored terms, GIN-indexed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# ts_rank weights are {D, C, B, A}: body (C) 0.4, tags (B) 0.8, title (A) 1.0.
_CANDIDATES = text(
    "SELECT id FROM search_documents WHERE locale = :locale AND tsv @@ to_tsquery('simple', :query) "
    "ORDER BY ts_rank('{0.1, 0.4, 0.8, 1.0}', tsv, to_tsquery('simple', :query)) DESC LIMIT :limit"
)


def tsquery_expression(terms: Sequence[str]) -> str:
    """A tsquery text matching any of `terms`, each quoted as a lexeme so no term is read as syntax."""
    quoted = ("'" + t.replace("\\", "").replace("'", "''") + "'" for t in dict.fromkeys(terms) if t.strip())
    return " | ".join(quoted)


class PostgresIndex:
    """`SearchIndex` over `search_documents.tsv` (a generated column: nothing to maintain)."""

    async def upsert(
        self,
        session: AsyncSession,
        doc_id: uuid.UUID,
        locale: str,
        title: Sequence[str],
        tags: Sequence[str],
        body: Sequence[str],
    ) -> None:
        """Nothing to do: PostgreSQL recomputes the generated tsvector with the row."""

    async def delete(self, session: AsyncSession, doc_id: uuid.UUID) -> None:
        """Nothing to do: the tsvector goes with the row."""

    async def candidates(
        self, session: AsyncSession, locale: str, terms: Sequence[str], limit: int
    ) -> list[uuid.UUID]:
        """Documents matching any term, by ts_rank with title/tags/body weights."""
        query = tsquery_expression(terms)
        if not query:
            return []
        rows = await session.execute(_CANDIDATES, {"query": query, "locale": locale, "limit": limit})
        return [row[0] for row in rows]
