"""The knowledge base over the API: published articles and votes for everyone, editing for staff.

Any agent creates and edits drafts; supervisors (and admins) publish, unpublish, delete and edit
published articles. Drafts are invisible to the public: they answer 404 exactly like a missing slug.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from itsdangerous import BadSignature, Signer
from pydantic import BaseModel

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.core.ids import new_token
from kefu.kb import service
from kefu.kb.access import access_article_for_staff, check_can_edit
from kefu.kb.actions import (
    do_create_article,
    do_delete_article,
    do_publish_article,
    do_unpublish_article,
    do_update_article,
    do_vote,
    voter_key,
)
from kefu.kb.models import Article, ArticleStatus
from kefu.kb.render import excerpt, render_markdown
from kefu.kb.schemas import (
    SLUG_PATTERN,
    ArticleCreate,
    ArticleUpdate,
    CategoryName,
    LocaleName,
    PreviewIn,
    VoteIn,
)
from kefu.settings import Settings
from kefu.web.deps import (
    AgentReader,
    AgentWriter,
    DbSession,
    OptionalWriter,
    SettingsDep,
    Supervisor,
    client_ip,
)

router = APIRouter(prefix="/kb", tags=["knowledge base"])

VOTER_COOKIE = "kefu_kb_voter"
VOTER_COOKIE_MAX_AGE = 365 * 24 * 3600
SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=100)]


class ArticleLink(BaseModel):
    slug: str
    locale: str
    title: str
    url: str


class ArticleSummary(ArticleLink):
    category: str
    tags: list[str]
    excerpt: str
    updated_at: datetime


class PublicArticleOut(ArticleSummary):
    html: str
    markdown: str
    published_at: datetime | None
    helpful_yes: int
    helpful_no: int
    other_locale: ArticleLink | None
    related: list[ArticleLink]


class VoteOut(BaseModel):
    helpful: bool
    helpful_yes: int
    helpful_no: int


class StaffArticleOut(BaseModel):
    id: uuid.UUID
    slug: str
    locale: str
    title: str
    body: str
    category: str
    tags: list[str]
    status: ArticleStatus
    revision: int
    author_id: uuid.UUID | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    helpful_yes: int
    helpful_no: int
    views: int


class RevisionOut(BaseModel):
    revision: int
    title: str
    body: str
    category: str
    tags: list[str]
    created_by_id: uuid.UUID | None
    created_at: datetime


class PreviewOut(BaseModel):
    html: str


def article_url(article: Article) -> str:
    """Where the help center shows an article (the same form the search API returns)."""
    return f"/hc/{article.locale}/articles/{article.slug}"


def _link(article: Article) -> ArticleLink:
    return ArticleLink(
        slug=article.slug, locale=article.locale, title=article.title, url=article_url(article)
    )


def _summary(article: Article) -> ArticleSummary:
    return ArticleSummary(
        **_link(article).model_dump(),
        category=article.category,
        tags=list(article.tags),
        excerpt=excerpt(article.body, 200),
        updated_at=article.updated_at,
    )


def _staff_out(article: Article) -> StaffArticleOut:
    return StaffArticleOut.model_validate(article, from_attributes=True)


# --- public ---------------------------------------------------------------------------------------


@router.get("/articles", response_model=list[ArticleSummary])
async def list_articles(
    session: DbSession, locale: LocaleName, category: CategoryName | None = None
) -> list[ArticleSummary]:
    """Anyone: the published articles of one locale, optionally of one category."""
    return [_summary(a) for a in await service.list_published(session, locale, category)]


@router.get("/articles/{locale}/{slug}", response_model=PublicArticleOut)
async def get_article(locale: LocaleName, slug: SlugPath, session: DbSession) -> PublicArticleOut:
    """Anyone: a published article, rendered and sanitized, with its other-locale version and related ones."""
    article = await service.get_published(session, locale, slug)
    other = await service.other_locale(session, article)
    related = await service.related(session, article, 5)
    return PublicArticleOut(
        **_summary(article).model_dump(),
        html=render_markdown(article.body),
        markdown=article.body,
        published_at=article.published_at,
        helpful_yes=article.helpful_yes,
        helpful_no=article.helpful_no,
        other_locale=_link(other) if other is not None else None,
        related=[_link(a) for a in related],
    )


def _visitor_voter(request: Request, response: Response, settings: Settings) -> str:
    """The anonymous visitor's id from the signed cookie, issuing a new cookie when absent or forged."""
    signer = Signer(settings.secret_key.get_secret_value(), salt="kefu.kb.voter")
    visitor: str | None = None
    cookie = request.cookies.get(VOTER_COOKIE)
    if cookie and len(cookie) < 200:
        try:
            visitor = signer.unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            visitor = None
    if visitor is None:
        visitor = new_token(16)
        response.set_cookie(
            VOTER_COOKIE,
            signer.sign(visitor).decode("ascii"),
            max_age=VOTER_COOKIE_MAX_AGE,
            httponly=True,
            secure=settings.cookies_secure,
            samesite="lax",
            path="/",
        )
    return visitor


@router.post("/articles/{locale}/{slug}/votes", response_model=VoteOut)
async def vote(
    locale: LocaleName,
    slug: SlugPath,
    body: VoteIn,
    request: Request,
    response: Response,
    actor: OptionalWriter,
    session: DbSession,
    settings: SettingsDep,
) -> VoteOut:
    """Anyone: "was this helpful?"; one vote per visitor or customer (voting again replaces it)."""
    article = await service.get_published(session, locale, slug)
    secret = settings.secret_key.get_secret_value()
    if isinstance(actor, CustomerActor):
        voter = voter_key(secret, "customer", str(actor.contact_id))
    elif isinstance(actor, AgentActor):
        voter = voter_key(secret, "agent", str(actor.agent_id))
    else:
        voter = voter_key(secret, "visitor", _visitor_voter(request, response, settings))
    await do_vote(session, article, voter, body.helpful)
    return VoteOut(helpful=body.helpful, helpful_yes=article.helpful_yes, helpful_no=article.helpful_no)


# --- staff ----------------------------------------------------------------------------------------


@router.get("/staff/articles", response_model=list[StaffArticleOut])
async def staff_list(
    actor: AgentReader,
    session: DbSession,
    locale: LocaleName | None = None,
    status: ArticleStatus | None = None,
    category: CategoryName | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[StaffArticleOut]:
    """Staff: drafts and published articles, most recently updated first."""
    del actor  # every agent may read the whole knowledge base, drafts included
    filters = service.StaffArticleFilters(
        locale=locale, status=status, category=category, text=q, limit=limit, offset=offset
    )
    return [_staff_out(a) for a in await service.list_articles_for_staff(session, filters)]


@router.post("/staff/articles", status_code=201, response_model=StaffArticleOut)
async def staff_create(body: ArticleCreate, actor: AgentWriter, session: DbSession) -> StaffArticleOut:
    """Staff: a new draft (409 when the slug is taken in that locale)."""
    return _staff_out(await do_create_article(session, body, author_id=actor.agent_id))


@router.get("/staff/articles/{article_id}", response_model=StaffArticleOut)
async def staff_get(article_id: uuid.UUID, actor: AgentReader, session: DbSession) -> StaffArticleOut:
    """Staff: one article, draft or published."""
    return _staff_out(await access_article_for_staff(session, actor, article_id))


@router.put("/staff/articles/{article_id}", response_model=StaffArticleOut)
async def staff_update(
    article_id: uuid.UUID, body: ArticleUpdate, actor: AgentWriter, session: DbSession
) -> StaffArticleOut:
    """Staff: edit title, body, category or tags (a new revision); published ones need a supervisor."""
    article = await access_article_for_staff(session, actor, article_id, for_update=True)
    check_can_edit(actor, article)
    await do_update_article(session, article, body, author_id=actor.agent_id)
    return _staff_out(article)


@router.delete("/staff/articles/{article_id}", status_code=204)
async def staff_delete(
    article_id: uuid.UUID, request: Request, actor: Supervisor, session: DbSession
) -> Response:
    """Supervisors: delete an article with its history (audited)."""
    article = await access_article_for_staff(session, actor, article_id, for_update=True)
    details: dict[str, object] = {"slug": article.slug, "locale": article.locale}
    await do_delete_article(session, article)
    await _audit(session, request, actor, "kb.article_deleted", article_id, details)
    return Response(status_code=204)


@router.post("/staff/articles/{article_id}/publish", response_model=StaffArticleOut)
async def staff_publish(
    article_id: uuid.UUID, request: Request, actor: Supervisor, session: DbSession
) -> StaffArticleOut:
    """Supervisors: show the article in the help center and search (idempotent, audited)."""
    article = await access_article_for_staff(session, actor, article_id, for_update=True)
    await do_publish_article(session, article)
    await _audit(session, request, actor, "kb.article_published", article_id, {"revision": article.revision})
    return _staff_out(article)


@router.post("/staff/articles/{article_id}/unpublish", response_model=StaffArticleOut)
async def staff_unpublish(
    article_id: uuid.UUID, request: Request, actor: Supervisor, session: DbSession
) -> StaffArticleOut:
    """Supervisors: take the article back to draft (idempotent, audited)."""
    article = await access_article_for_staff(session, actor, article_id, for_update=True)
    await do_unpublish_article(session, article)
    await _audit(session, request, actor, "kb.article_unpublished", article_id, {})
    return _staff_out(article)


@router.get("/staff/articles/{article_id}/revisions", response_model=list[RevisionOut])
async def staff_revisions(article_id: uuid.UUID, actor: AgentReader, session: DbSession) -> list[RevisionOut]:
    """Staff: the article's saved versions, newest first."""
    article = await access_article_for_staff(session, actor, article_id)
    rows = await service.list_revisions(session, article.id)
    return [RevisionOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/staff/preview", response_model=PreviewOut)
async def staff_preview(body: PreviewIn, actor: AgentWriter) -> PreviewOut:
    """Staff: markdown rendered exactly as the help center will show it (sanitized)."""
    del actor
    return PreviewOut(html=render_markdown(body.body))


async def _audit(
    session: DbSession,
    request: Request,
    actor: AgentActor,
    action: str,
    article_id: uuid.UUID,
    details: dict[str, object],
) -> None:
    await record_audit(
        session,
        action=action,
        actor=actor,
        target_type="kb_article",
        target_id=str(article_id),
        ip=client_ip(request),
        details=details,
    )
