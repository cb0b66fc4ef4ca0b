"""Article actions: revisions, publish state, the search index hooks, votes and views."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kefu.core.errors import Conflict
from kefu.db.uow import transaction
from kefu.kb.actions import (
    do_create_article,
    do_delete_article,
    do_publish_article,
    do_record_view,
    do_unpublish_article,
    do_update_article,
    do_vote,
)
from kefu.kb.models import Article, ArticleRevision, ArticleStatus, ArticleVote
from kefu.kb.schemas import ArticleCreate, ArticleUpdate
from kefu.kb.service import list_revisions
from tests.conftest import Database
from tests.kb.conftest import IndexCalls


def _new(slug: str = "account-locked", locale: str = "en") -> ArticleCreate:
    return ArticleCreate.model_validate(
        {
            "slug": slug,
            "locale": locale,
            "title": "  My   account is locked ",
            "body": "Locked accounts keep their funds.\r\n",
            "category": "account",
            "tags": ["Locked", "locked", "ＫＹＣ"],
        }
    )


async def test_create_makes_a_draft_with_revision_one(db: Database, index_calls: IndexCalls) -> None:
    async with transaction(db.sessionmaker) as session:
        article = await do_create_article(session, _new(), author_id=None)
        assert (article.status, article.revision, article.published_at) == (ArticleStatus.DRAFT, 1, None)
        assert article.title == "My account is locked"
        assert article.body == "Locked accounts keep their funds.\n"
        assert article.tags == ["Locked", "KYC"]  # NFKC folded, case-insensitive duplicates dropped
        revisions = await list_revisions(session, article.id)
        assert [r.revision for r in revisions] == [1]
    assert index_calls.unindexed == [article.id]
    assert index_calls.indexed == []


async def test_duplicate_slug_in_same_locale_conflicts(db: Database, index_calls: IndexCalls) -> None:
    async with transaction(db.sessionmaker) as session:
        await do_create_article(session, _new(), author_id=None)
        await do_create_article(session, _new(locale="zh-CN"), author_id=None)  # other locale is fine
        with pytest.raises(Conflict):
            await do_create_article(session, _new(), author_id=None)


async def test_update_records_a_revision_only_for_real_changes(db: Database, index_calls: IndexCalls) -> None:
    async with transaction(db.sessionmaker) as session:
        article = await do_create_article(session, _new(), author_id=None, publish=True)
        same = ArticleUpdate.model_validate({"title": "My account is locked", "tags": ["Locked", "KYC"]})
        assert await do_update_article(session, article, same, author_id=None) is False
        changed = ArticleUpdate.model_validate({"body": "New text.", "category": "security"})
        assert await do_update_article(session, article, changed, author_id=None) is True
        assert article.revision == 2
        revisions = await list_revisions(session, article.id)
        assert [(r.revision, r.body, r.category) for r in revisions] == [
            (2, "New text.\n", "security"),
            (1, "Locked accounts keep their funds.\n", "account"),
        ]
    # Published: created, then re-indexed after the real change.
    assert index_calls.indexed == [article.id, article.id]


async def test_publish_unpublish_and_delete(db: Database, index_calls: IndexCalls) -> None:
    async with transaction(db.sessionmaker) as session:
        article = await do_create_article(session, _new(), author_id=None)
        await do_publish_article(session, article)
        assert article.status == ArticleStatus.PUBLISHED
        assert article.published_at is not None
        await do_unpublish_article(session, article)
        assert not article.is_published
        await do_vote(session, article, "v" * 64, True)
        article_id = article.id
        await do_delete_article(session, article)
    async with db.sessionmaker() as session:
        assert await session.get(Article, article_id) is None
        for model in (ArticleRevision, ArticleVote):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
    assert index_calls.indexed == [article_id]
    assert index_calls.unindexed == [article_id, article_id, article_id]


async def test_one_vote_per_voter_and_changing_it_moves_the_count(
    db: Database, index_calls: IndexCalls
) -> None:
    async with transaction(db.sessionmaker) as session:
        article = await do_create_article(session, _new(), author_id=None, publish=True)
        await do_vote(session, article, "a" * 64, True)
        await do_vote(session, article, "a" * 64, True)
        await do_vote(session, article, "b" * 64, True)
        assert (article.helpful_yes, article.helpful_no) == (2, 0)
        await do_vote(session, article, "a" * 64, False)
        assert (article.helpful_yes, article.helpful_no) == (1, 1)
        await do_record_view(session, article.id)
        await do_record_view(session, article.id)
    async with db.sessionmaker() as session:
        stored = await session.get(Article, article.id)
        assert stored is not None
        assert (stored.helpful_yes, stored.helpful_no, stored.views) == (1, 1, 2)
        assert await session.scalar(select(func.count()).select_from(ArticleVote)) == 2
