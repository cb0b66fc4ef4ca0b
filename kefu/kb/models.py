"""Knowledge-base tables: articles (one row per slug and locale), their revision history and votes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, TimestampMixin

LOCALES = ("zh-CN", "en")
CATEGORIES = (
    "support",
    "account",
    "security",
    "kyc",
    "deposit",
    "withdrawal",
    "trading",
    "margin",
    "futures",
    "p2p",
    "earn",
    "api",
    "promotion",
    "general",
)
MAX_SLUG_LENGTH = 100
MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 200_000


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


def _empty_list() -> list[str]:
    return []


class Article(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("slug", "locale"),
        # The help center lists published articles of one locale, per category.
        Index("ix_kb_articles_locale_status_category", "locale", "status", "category"),
    )

    slug: Mapped[str] = mapped_column(String(MAX_SLUG_LENGTH))
    locale: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(MAX_TITLE_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(30), default="general")
    tags: Mapped[list[str]] = mapped_column(default=_empty_list)
    status: Mapped[ArticleStatus] = mapped_column(String(20), default=ArticleStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    helpful_yes: Mapped[int] = mapped_column(default=0)
    helpful_no: Mapped[int] = mapped_column(default=0)
    views: Mapped[int] = mapped_column(default=0)
    revision: Mapped[int] = mapped_column(default=1)

    @property
    def is_published(self) -> bool:
        """True when the help center shows (and search indexes) this article."""
        return self.status == ArticleStatus.PUBLISHED


class ArticleRevision(IdMixin, Base):
    """One saved version of an article: revision 1 is the creation, each change adds the next."""

    __tablename__ = "kb_article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(MAX_TITLE_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=_empty_list)
    category: Mapped[str] = mapped_column(String(30))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleVote(IdMixin, Base):
    """One "was this helpful?" answer per visitor and article (a changed mind updates the row)."""

    __tablename__ = "kb_votes"
    __table_args__ = (UniqueConstraint("article_id", "voter"),)

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    # A hash of the anonymous visitor cookie or of the customer id: never the raw identifier.
    voter: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
