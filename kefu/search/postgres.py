"""PostgreSQL backend: a generated `tsvector` (simple configuration) over the stored terms, GIN-indexed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.search.index import CandidateRef

# ts_rank weights are {D, C, B, A}: body (C) 0.4, tags (B) 0.8, title (A) 1.0.
# The tsquery is built once in a CTE: written inline, a prepared statement's generic plan calls
# to_tsquery for every row it filters and ranks (3x slower when common terms match most rows).
_CANDIDATES = text(
    "WITH q AS MATERIALIZED (SELECT to_tsquery('simple', :query) AS q) "
    "SELECT d.id, d.slug, d.title, d.updated_at FROM search_documents AS d, q "
    "WHERE d.locale = :locale AND d.tsv @@ q.q "
    "ORDER BY ts_rank('{0.1, 0.4, 0.8, 1.0}', d.tsv, q.q) DESC, d.id LIMIT :limit"
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
    ) -> list[CandidateRef]:
        """Documents matching any term, by ts_rank with title/tags/body weights."""
        query = tsquery_expression(terms)
        if not query:
            return []
        connection = await session.connection()
        rows = await connection.execute(_CANDIDATES, {"query": query, "locale": locale, "limit": limit})
        return [CandidateRef(row[0], row[1], row[2], str(row[3])) for row in rows]
