"""Finding help-center articles the bot is confident enough to offer for a chat message.

The search is the help center's own (`kefu.search.service.search_articles`, behind /api/v1/kb/search)
and so is its "no good answer" threshold, with one allowance for chat: long messages score lower,
since every word no article contains counts against confidence. Measured on the retrieval dev set
(shared/eval/kb/dev.jsonl, 129 answerable queries, 8 unanswerable): the search's own 0.28 alone
offers articles for 105 queries; with 0.20 for messages of 5 or more search terms, 114, of which 113
show a right article among those offered, and the same single unanswerable query gets an offer.
Articles after the first are offered only when they score at least 70% of it: on the same set that
keeps all 113 right articles and drops 61% of the unrelated ones (113 → 44).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.search.normalize import analyze
from kefu.search.service import MAX_QUERY_LENGTH, SearchResult, guess_locale, search_articles
from kefu.search.synonyms import LOCALES

MAX_ARTICLES: Final = 3
LONG_MESSAGE_TERMS: Final = 5
LONG_MESSAGE_THRESHOLD: Final = 0.20
RELATIVE_FLOOR: Final = 0.7


@dataclass(frozen=True)
class ArticleLink:
    """A help-center article offered in a bot message; `url` is absolute."""

    title: str
    url: str


def search_query(text: str) -> str:
    """The first MAX_QUERY_LENGTH characters of a cleaned message, cut at a word when possible."""
    if len(text) <= MAX_QUERY_LENGTH:
        return text
    cut = text[:MAX_QUERY_LENGTH]
    space = cut.rfind(" ")
    return cut[:space] if space > MAX_QUERY_LENGTH // 2 else cut


def confidence_threshold(query: str, result: SearchResult) -> float:
    """The score the top hit must reach for the bot to offer it."""
    if len(analyze(query)) >= LONG_MESSAGE_TERMS:
        return min(result.no_answer_threshold, LONG_MESSAGE_THRESHOLD)
    return result.no_answer_threshold


def _links(result: SearchResult, threshold: float, base_url: str) -> tuple[ArticleLink, ...]:
    if not result.hits or result.hits[0].score < threshold:
        return ()
    floor = max(threshold, result.hits[0].score * RELATIVE_FLOOR)
    base = base_url.rstrip("/")
    return tuple(
        ArticleLink(title=hit.title, url=base + hit.url) for hit in result.hits if hit.score >= floor
    )[:MAX_ARTICLES]


async def find_articles(
    session: AsyncSession, text: str, *, locale: str, base_url: str
) -> tuple[ArticleLink, ...]:
    """Up to three articles confidently answering `text` (cleaned), best first; () when none is.

    Searched in the conversation's locale, then in the message's own language when that differs
    (a Chinese question in an English chat): a right article in the other language beats none.
    """
    query = search_query(text)
    if not query.strip():
        return ()
    tried: list[str] = []
    for candidate in (locale, guess_locale(query)):
        if candidate not in LOCALES or candidate in tried:
            continue
        tried.append(candidate)
        result = await search_articles(session, query, candidate, MAX_ARTICLES)
        links = _links(result, confidence_threshold(query, result), base_url)
        if links:
            return links
    return ()
