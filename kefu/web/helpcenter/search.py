"""The search results page and the instant-suggestions fragment of the home page's search box."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kefu.search.service import MAX_QUERY_LENGTH, SearchHit, do_log_search_miss, search_articles
from kefu.web.deps import DbSession
from kefu.web.helpcenter.context import HC_PREFIX, HelpCenterDep

router = APIRouter()

RESULTS: Final = 10
SUGGESTIONS: Final = 5
# Suggestions start after this many characters (one Chinese character is already a word).
MIN_SUGGEST_LENGTH: Final = 2
_MARK_RE: Final = re.compile(r"(<mark>.*?</mark>)", re.S)
# No max_length: a long query is cut to MAX_QUERY_LENGTH rather than answered with a JSON 422.
QueryParam = Annotated[str, Query()]


@dataclass(frozen=True)
class SnippetPart:
    """A piece of a result snippet: plain text, highlighted when it matched the query."""

    text: str
    marked: bool


def snippet_parts(snippet: str) -> list[SnippetPart]:
    """The search snippet (escaped HTML with <mark>) as text pieces the template escapes again.

    The snippet escapes the article text, so a literal "<mark>" in an article arrives as "&lt;mark&gt;"
    and can never be mistaken for a highlight; unescaping each piece gives back the plain text.
    """
    parts = []
    for piece in _MARK_RE.split(snippet):
        if not piece:
            continue
        marked = piece.startswith("<mark>") and piece.endswith("</mark>")
        text = piece[len("<mark>") : -len("</mark>")] if marked else piece
        parts.append(SnippetPart(html.unescape(text), marked))
    return parts


def _clean(q: str) -> str:
    # Longer queries are cut rather than refused: a pasted paragraph still finds something.
    return " ".join(q.split())[:MAX_QUERY_LENGTH]


@router.get(HC_PREFIX + "/{locale}/search")
async def search_page(hc: HelpCenterDep, session: DbSession, q: QueryParam = "") -> Response:
    """Anyone: ranked articles with highlighted snippets; a weak best match is logged as a miss."""
    query = _clean(q)
    hits: list[SearchHit] = []
    answered = True
    if query:
        result = await search_articles(session, query, hc.locale, RESULTS)
        hits = result.hits
        answered = result.answered
        if not answered:
            await do_log_search_miss(session, hc.locale, query)
    return hc.render(
        "hc/search.html",
        query=query,
        hits=[(hit, snippet_parts(hit.snippet)) for hit in hits],
        answered=answered,
    )


@router.get(HC_PREFIX + "/{locale}/search/suggest")
async def suggest(hc: HelpCenterDep, session: DbSession, q: QueryParam = "") -> Response:
    """Anyone: up to five article links for the text typed so far (an htmx fragment; misses not logged)."""
    query = _clean(q)
    hits: list[SearchHit] = []
    if len(query) >= MIN_SUGGEST_LENGTH or (query and not query.isascii()):
        result = await search_articles(session, query, hc.locale, SUGGESTIONS)
        hits = [hit for hit in result.hits if hit.score >= result.no_answer_threshold]
    return hc.render("hc/_suggestions.html", query=query, hits=hits)
