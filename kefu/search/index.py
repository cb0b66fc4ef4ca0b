"""Keeping the search index: schema DDL, document analysis, and (un)indexing with term statistics.

Raw DDL the ORM cannot express portably (run by `ensure_search_schema`, after `create_all`):

SQLite::

    CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        doc_id UNINDEXED, locale UNINDEXED, title, tags, body,
        tokenize = 'unicode61 remove_diacritics 0')

PostgreSQL::

    ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title_terms), 'A')
        || setweight(to_tsvector('simple', tag_terms), 'B')
        || setweight(to_tsvector('simple', body_terms), 'C')) STORED
    CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv)
    ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol

from sqlalchemy import Connection, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import utcnow
from kefu.db.base import table_of
from kefu.db.cache import ConfigCache
from kefu.search.doccache import forget_document_after_commit
from kefu.search.models import SearchDocument, SearchTermStat
from kefu.search.normalize import analyze, strip_markdown
from kefu.search.ranking import Stats

MAX_TERM_LENGTH: Final = 64  # longer "words" are noise (hashes, base64) and would not fit the stats key

SQLITE_DDL: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "doc_id UNINDEXED, locale UNINDEXED, title, tags, body, "
    "tokenize = 'unicode61 remove_diacritics 0')",
)
POSTGRES_DDL: Final = (
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', title_terms), 'A') "
    "|| setweight(to_tsvector('simple', tag_terms), 'B') "
    "|| setweight(to_tsvector('simple', body_terms), 'C')) STORED",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv)",
    # Keep the tsvector in the row (compressed) and push the wide text columns out to TOAST instead:
    # ranking reads every matching row's tsvector, and an out-of-line one costs ~10 page reads.
    "ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN",
)


class CandidateRef(NamedTuple):
    """A candidate document as the full-text query returns it (version: its `updated_at`, as text)."""

    id: uuid.UUID
    slug: str
    title: str
    version: str


class SearchIndex(Protocol):
    """The dialect-specific full-text part: keeps its own rows and finds candidate documents."""

    async def upsert(
        self,
        session: AsyncSession,
        doc_id: uuid.UUID,
        locale: str,
        title: Sequence[str],
        tags: Sequence[str],
        body: Sequence[str],
    ) -> None:
        """Store (or replace) the full-text row of a document."""

    async def delete(self, session: AsyncSession, doc_id: uuid.UUID) -> None:
        """Drop the full-text row of a document."""

    async def candidates(
        self, session: AsyncSession, locale: str, terms: Sequence[str], limit: int
    ) -> list[CandidateRef]:
        """Up to `limit` documents of `locale` containing any of `terms`, roughly best first."""


def get_index(session: AsyncSession) -> SearchIndex:
    """The backend for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from kefu.search.postgres import PostgresIndex

        return PostgresIndex()
    from kefu.search.sqlite_fts import SqliteFtsIndex

    return SqliteFtsIndex()


# Collection size and average field lengths move slowly; a few seconds' staleness is harmless.
_stats_cache: ConfigCache[tuple[int, dict[str, float]]] = ConfigCache("search_stats", ttl=10.0)
_vocabulary_cache: ConfigCache[tuple[str, ...]] = ConfigCache("search_vocabulary", ttl=60.0)


_TERM_DF = select(table_of(SearchTermStat).c.term, table_of(SearchTermStat).c.df).where(
    table_of(SearchTermStat).c.locale == bindparam("locale"),
    table_of(SearchTermStat).c.term.in_(bindparam("terms", expanding=True)),
)


def invalidate_stats(session: AsyncSession) -> None:
    """Forget cached collection statistics (after this session's index change commits)."""
    _stats_cache.invalidate_after_commit(session)
    _vocabulary_cache.invalidate_after_commit(session)


async def load_stats(session: AsyncSession, locale: str, terms: Iterable[str]) -> Stats:
    """Collection statistics of `locale` with the document frequencies of `terms`."""

    async def load(s: AsyncSession) -> tuple[int, dict[str, float]]:
        table = table_of(SearchDocument)
        row = (
            await s.execute(
                select(
                    func.count(),
                    func.avg(table.c.title_len),
                    func.avg(table.c.tag_len),
                    func.avg(table.c.body_len),
                ).where(table.c.locale == locale)
            )
        ).one()
        averages = {"title": float(row[1] or 1.0), "tags": float(row[2] or 1.0), "body": float(row[3] or 1.0)}
        return int(row[0]), averages

    docs, averages = await _stats_cache.get(session, ("stats", locale), load)
    wanted = sorted(set(terms))
    df: dict[str, int] = {}
    if wanted:
        connection = await session.connection()  # Core on the connection: no per-query ORM overhead
        rows = await connection.execute(_TERM_DF, {"locale": locale, "terms": wanted})
        df = {term: count for term, count in rows if count > 0}
    return Stats(docs=docs, avg_length=averages, df=df)


async def load_vocabulary(session: AsyncSession, locale: str) -> tuple[str, ...]:
    """The ASCII terms of `locale` (spelling fixes for English words), cached."""

    async def load(s: AsyncSession) -> tuple[str, ...]:
        table = table_of(SearchTermStat)
        rows = await s.scalars(select(table.c.term).where(table.c.locale == locale, table.c.df > 0))
        return tuple(t for t in rows if t.isascii() and t.isalpha())

    return await _vocabulary_cache.get(session, ("vocabulary", locale), load)


def ensure_search_schema(connection: Connection) -> None:
    """Create the full-text objects of the current dialect (idempotent; after `create_all`/migrations)."""
    statements = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        connection.execute(text(statement))


@dataclass(frozen=True)
class AnalyzedDocument:
    """A document's searchable terms per field."""

    title: list[str]
    tags: list[str]
    body: list[str]

    def vocabulary(self) -> set[str]:
        """Every distinct term of the document."""
        return set(self.title) | set(self.tags) | set(self.body)


def _keep(terms: Iterable[str]) -> list[str]:
    return [t for t in terms if len(t) <= MAX_TERM_LENGTH]


def analyze_document(title: str, tags: Sequence[str], body_text: str) -> AnalyzedDocument:
    """Analyse the fields of an article (body already stripped of markdown)."""
    return AnalyzedDocument(
        title=_keep(analyze(title)),
        tags=_keep(analyze(" ".join(str(t) for t in tags))),
        body=_keep(analyze(body_text)),
    )


async def _adjust_df(session: AsyncSession, locale: str, terms: set[str], step: int) -> None:
    if not terms:
        return
    table = table_of(SearchTermStat)
    if step < 0:
        await session.execute(
            update(table)
            .where(table.c.locale == locale, table.c.term.in_(sorted(terms)))
            .values(df=table.c.df - 1)
        )
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.locale, table.c.term], set_={"df": table.c.df + 1}
    )
    await session.execute(statement, [{"locale": locale, "term": t, "df": 1} for t in sorted(terms)])


async def do_index_document(
    session: AsyncSession,
    *,
    doc_id: uuid.UUID,
    locale: str,
    slug: str,
    title: str,
    body_markdown: str,
    category: str = "",
    tags: Sequence[str] = (),
) -> None:
    """Insert or replace one searchable document and keep the term statistics in step."""
    body = strip_markdown(body_markdown)
    analyzed = analyze_document(title, tags, body)
    old = await _stored_vocabulary(session, doc_id)
    values = {
        "locale": locale,
        "slug": slug[:200],
        "title": title[:500],
        "category": category[:40],
        "tags": [str(t) for t in tags],
        "body": body,
        "title_terms": " ".join(analyzed.title),
        "tag_terms": " ".join(analyzed.tags),
        "body_terms": " ".join(analyzed.body),
        "title_len": len(analyzed.title),
        "tag_len": len(analyzed.tags),
        "body_len": len(analyzed.body),
        "updated_at": utcnow(),  # the version parsed-term caches are checked against
    }
    table = table_of(SearchDocument)
    new = analyzed.vocabulary()
    if old is None:
        await session.execute(table.insert().values(id=doc_id, **values))
        await _adjust_df(session, locale, new, +1)
    else:
        old_locale, old_terms = old
        await session.execute(update(table).where(table.c.id == doc_id).values(**values))
        if old_locale != locale:
            await _adjust_df(session, old_locale, old_terms, -1)
            await _adjust_df(session, locale, new, +1)
        else:
            await _adjust_df(session, locale, old_terms - new, -1)
            await _adjust_df(session, locale, new - old_terms, +1)
    await get_index(session).upsert(session, doc_id, locale, analyzed.title, analyzed.tags, analyzed.body)
    invalidate_stats(session)
    forget_document_after_commit(session, doc_id)


async def _stored_vocabulary(session: AsyncSession, doc_id: uuid.UUID) -> tuple[str, set[str]] | None:
    table = table_of(SearchDocument)
    row = (
        await session.execute(
            select(table.c.locale, table.c.title_terms, table.c.tag_terms, table.c.body_terms).where(
                table.c.id == doc_id
            )
        )
    ).first()
    if row is None:
        return None
    return row[0], set(f"{row[1]} {row[2]} {row[3]}".split())


async def do_remove_document(session: AsyncSession, doc_id: uuid.UUID) -> None:
    """Remove one document from the index (no-op when it is not indexed)."""
    old = await _stored_vocabulary(session, doc_id)
    if old is None:
        return
    await _adjust_df(session, old[0], old[1], -1)
    await session.execute(delete(table_of(SearchDocument)).where(table_of(SearchDocument).c.id == doc_id))
    await get_index(session).delete(session, doc_id)
    invalidate_stats(session)
    forget_document_after_commit(session, doc_id)
