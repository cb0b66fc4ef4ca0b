"""Public knowledge-base search: `GET /kb/search` (mounted under /api/v1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from kefu.search.service import check_query, do_log_search_miss, search_articles
from kefu.web.deps import DbSession

router = APIRouter(tags=["kb"])


class SearchHitOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str
    locale: str
    title: str
    url: str
    score: float
    snippet: str


class SearchOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    results: list[SearchHitOut]
    no_answer_threshold: float


@router.get("/kb/search", response_model=SearchOut)
async def search_kb(
    session: DbSession,
    q: Annotated[str, Query(max_length=1000)],
    locale: Annotated[str | None, Query(max_length=10)] = None,
    limit: Annotated[int, Query()] = 10,
    suggest: Annotated[bool, Query(description="as-you-type suggestions: misses are not logged")] = False,
) -> SearchOut:
    """Anyone: published articles ranked for `q`; `score` under `no_answer_threshold` means no good answer.

    Searches without a good answer are logged for the content team, except as-you-type suggestions
    (`suggest=true`): half-typed words are noise, and chat drafts may hold personal details.
    """
    query, chosen, size = check_query(q, locale, limit)
    result = await search_articles(session, query, chosen, size)
    if not result.answered and not suggest:
        await do_log_search_miss(session, result.locale, query)
    return SearchOut(
        query=result.query,
        results=[SearchHitOut(**hit.__dict__) for hit in result.hits],
        no_answer_threshold=result.no_answer_threshold,
    )
