"""Searching the knowledge base: analyse the query, find candidates, rank, highlight, log misses."""

from __future__ import annotations

import html
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput
from kefu.db.base import table_of
from kefu.search.doccache import documents
from kefu.search.index import CandidateRef, get_index, load_stats, load_vocabulary
from kefu.search.models import SearchDocument, SearchMiss
from kefu.search.normalize import analyze, fold, is_chinese
from kefu.search.ranking import (
    NO_ANSWER_THRESHOLD,
    Candidate,
    Concept,
    Stats,
    build_concepts,
    probe_terms,
    score_candidates,
)
from kefu.search.synonyms import LOCALES, get_synonym_groups

MAX_QUERY_LENGTH: Final = 200
MAX_QUERY_TERMS: Final = 48  # a pasted essay is cut: ranking cost stays bounded
CANDIDATE_LIMIT: Final = 40  # re-ranked in Python; the dev set's answers are all within FTS's top 20
SNIPPET_LENGTH: Final = 160
MAX_LIMIT: Final = 20
MAX_MISS_DAYS: Final = 365
MAX_MISS_ROWS: Final = 500

_documents = table_of(SearchDocument)
_TERMS = select(
    _documents.c.id,
    _documents.c.title_terms,
    _documents.c.tag_terms,
    _documents.c.body_terms,
).where(_documents.c.id.in_(bindparam("ids", expanding=True)))
_BODIES = select(_documents.c.id, _documents.c.body).where(
    _documents.c.id.in_(bindparam("ids", expanding=True))
)


@dataclass(frozen=True)
class SearchHit:
    """One ranked article."""

    slug: str
    locale: str
    title: str
    url: str
    score: float
    snippet: str


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits with the threshold under which the top hit is "no good answer"."""

    query: str
    locale: str
    hits: list[SearchHit]
    no_answer_threshold: float

    @property
    def answered(self) -> bool:
        """Whether the best hit clears the threshold."""
        return bool(self.hits) and self.hits[0].score >= self.no_answer_threshold


def guess_locale(query: str) -> str:
    """zh-CN when the query contains Chinese characters, else en."""
    return "zh-CN" if is_chinese(query) else "en"


def check_query(query: str, locale: str | None, limit: int) -> tuple[str, str, int]:
    """Validated (query, locale, limit) or InvalidInput."""
    if not query.strip() or len(query) > MAX_QUERY_LENGTH or "\x00" in query:
        raise InvalidInput("q must be 1-200 characters", fields={"q": "1-200 characters, no NUL"})
    if locale is not None and locale not in LOCALES:
        raise InvalidInput("unknown locale", fields={"locale": "must be en or zh-CN"})
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit must be 1-20", fields={"limit": "1-20"})
    return query, locale or guess_locale(query), limit


def article_url(locale: str, slug: str) -> str:
    """The public URL of an article."""
    return f"/hc/{locale}/articles/{slug}"


async def _concepts(session: AsyncSession, locale: str, query: str) -> tuple[list[Concept], Stats]:
    terms = analyze(query)[:MAX_QUERY_TERMS]
    synonyms = await get_synonym_groups(session, locale)
    widened = set(terms)
    for group in synonyms:
        if group & widened:
            widened |= group
    stats = await load_stats(session, locale, widened)
    vocabulary: Sequence[str] = ()
    if any(t.isascii() and t not in stats.df for t in terms):
        vocabulary = await load_vocabulary(session, locale)
    concepts = build_concepts(terms, synonyms, stats.df, vocabulary)
    return concepts, stats


async def search_articles(
    session: AsyncSession, query: str, locale: str | None = None, limit: int = 10
) -> SearchResult:
    """Published articles of one locale ranked for `query` (checked first: see `check_query`)."""
    query, locale, limit = check_query(query, locale, limit)
    concepts, stats = await _concepts(session, locale, query)
    missing = sorted({t for c in concepts for t in c.terms} - stats.df.keys())
    if missing:  # spelling fixes are known terms whose frequencies were not read yet
        extra = await load_stats(session, locale, missing)
        stats = Stats(stats.docs, stats.avg_length, {**stats.df, **extra.df})
    refs = await get_index(session).candidates(session, locale, probe_terms(concepts, stats), CANDIDATE_LIMIT)
    if not refs:
        return SearchResult(query=query, locale=locale, hits=[], no_answer_threshold=NO_ANSWER_THRESHOLD)
    connection = await session.connection()
    candidates = await _parsed(connection, refs)
    ranked = [pair for pair in score_candidates(concepts, candidates, stats) if pair[1] > 0][:limit]
    by_key = {str(ref.id): ref for ref in refs}
    # Bodies are read for the winners only: they are the widest column.
    bodies: dict[str, str] = {}
    if ranked:
        rows = await connection.execute(_BODIES, {"ids": [by_key[c.key].id for c, _ in ranked]})
        bodies = {str(i): b for i, b in rows}
    hits = [
        SearchHit(
            slug=by_key[candidate.key].slug,
            locale=locale,
            title=by_key[candidate.key].title,
            url=article_url(locale, by_key[candidate.key].slug),
            score=round(score, 4),
            snippet=build_snippet(bodies.get(candidate.key, ""), concepts),
        )
        for candidate, score in ranked
    ]
    return SearchResult(query=query, locale=locale, hits=hits, no_answer_threshold=NO_ANSWER_THRESHOLD)


async def _parsed(connection: AsyncConnection, refs: Sequence[CandidateRef]) -> list[Candidate]:
    """The candidates' parsed terms: from the per-process cache, reading only those missing or changed."""
    found: dict[uuid.UUID, Candidate] = {}
    for ref in refs:
        cached = documents.get(ref.id, ref.version)
        if cached is not None:
            found[ref.id] = cached
    versions = {ref.id: ref.version for ref in refs if ref.id not in found}
    if versions:
        # Kept under the version the candidate query saw: if the row changed in between, the next
        # query sees a newer version and reads it again.
        for row in await connection.execute(_TERMS, {"ids": list(versions)}):
            candidate = Candidate.parse(str(row.id), row.title_terms, row.tag_terms, row.body_terms)
            documents.put(row.id, versions[row.id], candidate)
            found[row.id] = candidate
    return [found[ref.id] for ref in refs if ref.id in found]


def _patterns(concepts: Sequence[Concept]) -> re.Pattern[str] | None:
    pieces: set[str] = set()
    for concept in concepts:
        for term in concept.terms:
            if is_chinese(term):
                pieces.add(re.escape(term))
            elif len(term) >= 2:
                # Stems are word prefixes ("withdraw" → "withdrawal"): mark the whole word.
                pieces.add(r"\b" + re.escape(term) + r"[a-z0-9]*")
    if not pieces:
        return None
    return re.compile("|".join(sorted(pieces, key=len, reverse=True)), re.IGNORECASE)


def build_snippet(body: str, concepts: Sequence[Concept], length: int = SNIPPET_LENGTH) -> str:
    """An HTML-escaped excerpt of `body` around the densest matches, each wrapped in <mark>."""
    pattern = _patterns(concepts)
    # Traditional/full-width text was folded for matching; articles are stored as written.
    matches = list(pattern.finditer(body)) if pattern else []
    start = 0
    if matches:
        best = Counter(max(0, m.start() - 20) // 40 for m in matches).most_common(1)[0][0] * 40
        start = best
    end = min(len(body), start + length)
    start = max(0, min(start, end - length))
    window = body[start:end]
    out: list[str] = ["…" if start > 0 else ""]
    position = 0
    for match in pattern.finditer(window) if pattern else ():
        out.append(html.escape(window[position : match.start()]))
        out.append("<mark>" + html.escape(match.group()) + "</mark>")
        position = match.end()
    out.append(html.escape(window[position:]))
    out.append("…" if end < len(body) else "")
    return "".join(out).replace("\n", " ")


async def do_log_search_miss(session: AsyncSession, locale: str, query: str) -> None:
    """Record a search without a good answer (query folded and truncated to 200 characters)."""
    session.add(SearchMiss(locale=locale, query=fold(query).strip()[:MAX_QUERY_LENGTH], created_at=utcnow()))


@dataclass(frozen=True)
class MissCount:
    """A query that found no good answer, with how often it was asked."""

    locale: str
    query: str
    count: int
    last_seen: datetime


def check_miss_report(locale: str | None, days: int, limit: int) -> tuple[str | None, int, int]:
    """Validated (locale, days, limit) for the misses report, or InvalidInput."""
    if locale is not None and locale not in LOCALES:
        raise InvalidInput("unknown locale", fields={"locale": "must be en or zh-CN"})
    if not 1 <= days <= MAX_MISS_DAYS:
        raise InvalidInput(f"days must be 1-{MAX_MISS_DAYS}", fields={"days": f"1-{MAX_MISS_DAYS}"})
    if not 1 <= limit <= MAX_MISS_ROWS:
        raise InvalidInput(f"limit must be 1-{MAX_MISS_ROWS}", fields={"limit": f"1-{MAX_MISS_ROWS}"})
    return locale, days, limit


async def list_frequent_misses(
    session: AsyncSession, *, locale: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[MissCount]:
    """The most frequent searches without a good answer, most frequent first (admins)."""
    table = table_of(SearchMiss)
    statement = select(table.c.locale, table.c.query, func.count(), func.max(table.c.created_at)).group_by(
        table.c.locale, table.c.query
    )
    if locale is not None:
        statement = statement.where(table.c.locale == locale)
    if since is not None:
        statement = statement.where(table.c.created_at >= since)
    statement = statement.order_by(func.count().desc(), func.max(table.c.created_at).desc(), table.c.query)
    statement = statement.limit(max(1, min(limit, MAX_MISS_ROWS)))
    rows = await session.execute(statement)
    return [MissCount(r[0], r[1], int(r[2]), _aware(r[3])) for r in rows]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
