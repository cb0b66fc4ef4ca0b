"""The console's knowledge-base editor: list with filters, new article, edit with preview and history.

Reads only, like every console page: kb_editor.js saves, previews, publishes and unpublishes through
the staff routes of kefu.web.api.v1.kb, which hold the permission rules (agents edit drafts,
supervisors publish and edit published articles).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from kefu.auth.models import Agent
from kefu.core.errors import NotFound
from kefu.kb import service
from kefu.kb.access import access_article_for_staff
from kefu.kb.models import (
    CATEGORIES,
    LOCALES,
    MAX_BODY_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_TITLE_LENGTH,
    ArticleStatus,
)
from kefu.kb.schemas import MAX_TAGS, SLUG_PATTERN
from kefu.web.console.context import Console, ConsoleDep, ConsoleNotFound
from kefu.web.deps import DbSession

router = APIRouter()

KB_PATH: Final = "/console/kb"
LIST_SIZE: Final = 200
Filter = Annotated[str | None, Query(max_length=200)]


def _status_labels(console: Console) -> dict[str, str]:
    t = console.page.t
    return {ArticleStatus.DRAFT: t.gettext("Draft"), ArticleStatus.PUBLISHED: t.gettext("Published")}


def _limits() -> dict[str, object]:
    return {
        "locales": LOCALES,
        "categories": CATEGORIES,
        "slug_pattern": SLUG_PATTERN.strip("^$"),
        "max_slug": MAX_SLUG_LENGTH,
        "max_title": MAX_TITLE_LENGTH,
        "max_body": MAX_BODY_LENGTH,
        "max_tags": MAX_TAGS,
    }


@router.get(KB_PATH)
async def article_list(
    console: ConsoleDep,
    session: DbSession,
    status: Filter = None,
    locale: Filter = None,
    category: Filter = None,
    q: Filter = None,
) -> Response:
    """Signed-in agents: drafts and published articles, newest change first; unknown filters are ignored."""
    chosen_status = ArticleStatus(status) if status in tuple(ArticleStatus) else None
    filters = service.StaffArticleFilters(
        locale=locale if locale in LOCALES else None,
        status=chosen_status,
        category=category if category in CATEGORIES else None,
        text=" ".join(q.split()) if q and q.strip() else None,
        limit=LIST_SIZE,
    )
    return console.render(
        "console/kb/list.html",
        articles=await service.list_articles_for_staff(session, filters),
        filters=filters,
        statuses=_status_labels(console),
        **_limits(),
    )


@router.get(KB_PATH + "/new")
async def new_article(console: ConsoleDep) -> Response:
    """Signed-in agents: an empty editor (saving creates a draft)."""
    return console.render(
        "console/kb/edit.html",
        article=None,
        can_edit=True,
        can_publish=console.actor.is_supervisor_or_admin,
        revisions=[],
        authors={},
        statuses=_status_labels(console),
        **_limits(),
    )


@router.get(KB_PATH + "/{article_id}")
async def edit_article(article_id: str, console: ConsoleDep, session: DbSession) -> Response:
    """Signed-in agents: the editor; a published article is read-only unless a supervisor opens it."""
    try:
        parsed = uuid.UUID(article_id) if len(article_id) <= 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ConsoleNotFound("article not found")
    try:
        article = await access_article_for_staff(session, console.actor, parsed)
    except NotFound:
        raise ConsoleNotFound("article not found") from None
    revisions = await service.list_revisions(session, article.id)
    author_ids = {r.created_by_id for r in revisions if r.created_by_id is not None}
    authors: dict[uuid.UUID, str] = {}
    if author_ids:
        rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(author_ids)))
        authors = {row.id: row.name for row in rows}
    supervisor = console.actor.is_supervisor_or_admin
    return console.render(
        "console/kb/edit.html",
        article=article,
        can_edit=supervisor or not article.is_published,
        can_publish=supervisor,
        revisions=revisions,
        authors=authors,
        statuses=_status_labels(console),
        **_limits(),
    )
