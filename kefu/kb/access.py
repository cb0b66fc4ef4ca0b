"""Who may do what to articles: any agent reads and drafts; supervisors publish, unpublish, delete."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.core.errors import NotFound, PermissionDenied
from kefu.kb.models import Article


async def access_article_for_staff(
    session: AsyncSession, actor: AgentActor, article_id: uuid.UUID, *, for_update: bool = False
) -> Article:
    """The article (draft or published) for a staff member; NotFound when it does not exist."""
    del actor  # the knowledge base is shared by every team: any agent may read drafts
    article = await session.get(Article, article_id, with_for_update=for_update)
    if article is None:
        raise NotFound("article not found")
    return article


def check_can_edit(actor: AgentActor, article: Article) -> None:
    """Agents edit drafts; a published article changes what customers read, so supervisors only."""
    if article.is_published and not actor.is_supervisor_or_admin:
        raise PermissionDenied("only supervisors can edit a published article; ask one to unpublish it")


def check_can_publish(actor: AgentActor) -> None:
    """Publishing, unpublishing and deleting are for supervisors and administrators."""
    if not actor.is_supervisor_or_admin:
        raise PermissionDenied("only supervisors can publish, unpublish or delete articles")
