"""The help-center home (search box, categories, popular articles) and the language-less entry URL."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kefu.kb import service
from kefu.kb.models import CATEGORIES
from kefu.web.deps import DbSession
from kefu.web.helpcenter.context import (
    HC_PREFIX,
    HelpCenterDep,
    category_labels,
    hc_url,
    negotiated_locale,
)

router = APIRouter()

POPULAR_COUNT: Final = 6


@router.get(HC_PREFIX)
async def entry(request: Request) -> Response:
    """Anyone: to the help center in the reader's language (remembered choice, then the browser's)."""
    response = RedirectResponse(hc_url(negotiated_locale(request)), status_code=302)
    # The target depends on these headers: a shared cache must not hand one reader's to another.
    response.headers["vary"] = "Accept-Language, Cookie"
    response.headers["cache-control"] = "private, max-age=0"
    return response


@router.get(HC_PREFIX + "/{locale}")
async def home(hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: search, categories with their article counts, popular articles, ways to contact us."""
    counts = await service.count_published_by_category(session, hc.locale)
    labels = category_labels(hc.t)
    categories = [(name, labels[name], counts[name]) for name in CATEGORIES if counts.get(name)]
    return hc.render(
        "hc/home.html",
        categories=categories,
        popular=await service.popular(session, hc.locale, POPULAR_COUNT),
    )
