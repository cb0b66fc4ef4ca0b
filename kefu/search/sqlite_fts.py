"""SQLite backend: an FTS5 table over the pre-segmented terms, ranked by FTS5's BM25 for candidates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.search.index import CandidateRef

_DELETE = text("DELETE FROM search_fts WHERE doc_id = :doc_id")
_INSERT = text(
    "INSERT INTO search_fts (doc_id, locale, title, tags, body) "
    "VALUES (:doc_id, :locale, :title, :tags, :body)"
)
# Column weights: doc_id, locale (unindexed), title, tags, body - the same order as the ranker's fields.
# `ORDER BY rank` (not `ORDER BY bm25(...)`) lets FTS5 sort the matches itself, so the locale test,
# which reads the content table, runs only on the rows taken rather than on every match.
_CANDIDATES = text(
    "SELECT d.id, d.slug, d.title, d.updated_at FROM ("
    "SELECT doc_id, rank FROM search_fts WHERE search_fts MATCH :query AND locale = :locale "
    "AND rank MATCH 'bm25(0.0, 0.0, 3.0, 2.5, 1.0)' ORDER BY rank LIMIT :limit) AS f "
    "JOIN search_documents AS d ON d.id = f.doc_id ORDER BY f.rank"
)


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of `terms`, each quoted so no term is read as syntax."""
    quoted = ('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms) if t.strip())
    return " OR ".join(quoted)


class SqliteFtsIndex:
    """`SearchIndex` over the `search_fts` FTS5 table."""

    async def upsert(
        self,
        session: AsyncSession,
        doc_id: uuid.UUID,
        locale: str,
        title: Sequence[str],
        tags: Sequence[str],
        body: Sequence[str],
    ) -> None:
        """Replace the document's FTS row."""
        await session.execute(_DELETE, {"doc_id": doc_id.hex})
        await session.execute(
            _INSERT,
            {
                "doc_id": doc_id.hex,
                "locale": locale,
                "title": " ".join(title),
                "tags": " ".join(tags),
                "body": " ".join(body),
            },
        )

    async def delete(self, session: AsyncSession, doc_id: uuid.UUID) -> None:
        """Drop the document's FTS row."""
        await session.execute(_DELETE, {"doc_id": doc_id.hex})

    async def candidates(
        self, session: AsyncSession, locale: str, terms: Sequence[str], limit: int
    ) -> list[CandidateRef]:
        """Documents matching any term, by FTS5 BM25."""
        query = match_expression(terms)
        if not query:
            return []
        connection = await session.connection()
        rows = await connection.execute(_CANDIDATES, {"query": query, "locale": locale, "limit": limit})
        return [CandidateRef(uuid.UUID(hex=row[0]), row[1], row[2], str(row[3])) for row in rows]
