"""Category listings and article pages: published articles only (a draft is a 404, like a typo)."""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.core.errors import NotFound
from kefu.kb import service
from kefu.kb.actions import do_record_view
from kefu.kb.models import CATEGORIES, MAX_SLUG_LENGTH
from kefu.kb.render import render_markdown
from kefu.kb.schemas import SLUG_PATTERN
from kefu.web.deps import DbSession
from kefu.web.helpcenter.context import (
    HC_PREFIX,
    HelpCenterDep,
    HelpCenterNotFound,
    category_labels,
    hc_url,
    other_locales,
)

router = APIRouter()

RELATED_COUNT: Final = 5
_SLUG_RE: Final = re.compile(SLUG_PATTERN)


@router.get(HC_PREFIX + "/{locale}/categories/{category}")
async def category_page(category: str, hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: the published articles of one category (404 page for an unknown category)."""
    if category not in CATEGORIES:
        raise HelpCenterNotFound(category[:40])
    articles = await service.list_published(session, hc.locale, category)
    return hc.render(
        "hc/category.html",
        category=category,
        category_label=category_labels(hc.t)[category],
        articles=articles,
    )


@router.get(HC_PREFIX + "/{locale}/articles/{slug}")
async def article_page(slug: str, hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: a published article with breadcrumbs, related ones and votes; counts one view."""
    if len(slug) > MAX_SLUG_LENGTH or not _SLUG_RE.match(slug):
        raise HelpCenterNotFound(slug[:40])
    try:
        article = await service.get_published(session, hc.locale, slug)
    except NotFound:
        raise HelpCenterNotFound(slug) from None
    other = await service.other_locale(session, article)
    related = await service.related(session, article, RELATED_COUNT)
    # Without a translation, the switcher leads to the other locale's home rather than to a 404.
    for locale in other_locales(hc.locale):
        hc.alternates[locale] = hc_url(locale, f"/articles/{slug}") if other is not None else hc_url(locale)
    await do_record_view(session, article.id)
    return hc.render(
        "hc/article.html",
        article=article,
        # Sanitised by the nh3 allowlist in kefu.kb.render; hc/article.html inserts it with |safe.
        body_html=render_markdown(article.body),
        category_label=category_labels(hc.t).get(article.category, article.category),
        other=other,
        related=related,
        vote_url=f"/api/v1/kb/articles/{article.locale}/{article.slug}/votes",
    )
