"""Search index tables: indexed documents, term statistics, synonyms and logged misses.

The full-text objects that SQLAlchemy cannot describe portably (the FTS5 virtual table on SQLite,
the generated tsvector column and its GIN index on PostgreSQL) are created by
`kefu.search.index.ensure_search_schema`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin


class SearchDocument(Base):
    """One published article version as the search engine sees it (id = the article's id)."""

    __tablename__ = "search_documents"
    __table_args__ = (Index("ix_search_documents_locale_slug", "locale", "slug"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    slug: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(40), default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    body: Mapped[str] = mapped_column(Text)  # plain text (markdown stripped), for snippets
    # Normalised, space-separated terms: what both full-text engines index and the ranker reads.
    title_terms: Mapped[str] = mapped_column(Text)
    tag_terms: Mapped[str] = mapped_column(Text)
    body_terms: Mapped[str] = mapped_column(Text)
    # Term counts per field, for BM25's length normalisation (averaged per locale at query time).
    title_len: Mapped[int] = mapped_column(default=0)
    tag_len: Mapped[int] = mapped_column(default=0)
    body_len: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SearchTermStat(Base):
    """How many indexed documents of a locale contain a term (BM25's document frequency)."""

    __tablename__ = "search_term_stats"

    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    df: Mapped[int] = mapped_column(default=0)


class SearchSynonym(IdMixin, Base):
    """A group of interchangeable search terms in one locale, edited by admins."""

    __tablename__ = "search_synonyms"

    locale: Mapped[str] = mapped_column(String(8), index=True)
    terms: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchMiss(IdMixin, Base):
    """A search whose best result scored under the no-answer threshold (content gaps for admins)."""

    __tablename__ = "search_misses"
    __table_args__ = (Index("ix_search_misses_locale_created_at", "locale", "created_at"),)

    locale: Mapped[str] = mapped_column(String(8))
    query: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
