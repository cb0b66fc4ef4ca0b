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
) -> SearchOut:
    """Anyone: published articles ranked for `q`; `score` under `no_answer_threshold` means no good answer."""
    query, chosen, size = check_query(q, locale, limit)
    result = await search_articles(session, query, chosen, size)
    if not result.answered:
        await do_log_search_miss(session, result.locale, query)
    return SearchOut(
        query=result.query,
        results=[SearchHitOut(**hit.__dict__) for hit in result.hits],
        no_answer_threshold=result.no_answer_threshold,
    )
