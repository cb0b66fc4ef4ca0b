"""Indexing keeps documents, term statistics and the full-text rows in step; synonyms; misses."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.kb.search import do_index_article, do_unindex_article
from kefu.registry import load_models
from kefu.search.index import do_index_document, do_remove_document
from kefu.search.models import SearchTermStat
from kefu.search.service import do_log_search_miss, list_frequent_misses, search_articles
from kefu.search.synonyms import do_replace_synonyms
from tests.conftest import Database


async def _df(db: Database, term: str, locale: str = "en") -> int:
    async with db.sessionmaker() as session:
        value = await session.scalar(
            select(SearchTermStat.df).where(SearchTermStat.locale == locale, SearchTermStat.term == term)
        )
        return value or 0


async def _index(db: Database, doc_id: uuid.UUID, title: str, body: str, locale: str = "en") -> None:
    async with transaction(db.sessionmaker) as session:
        await do_index_document(session, doc_id=doc_id, locale=locale, slug=title.lower().replace(" ", "-"),
                                title=title, body_markdown=body)  # fmt: skip


async def _slugs(db: Database, q: str, locale: str = "en") -> list[str]:
    async with db.sessionmaker() as session:
        return [h.slug for h in (await search_articles(session, q, locale)).hits]


async def test_reindex_and_remove_update_statistics(search_db: Database) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    await _index(search_db, first, "Withdrawal fees", "Each withdrawal pays a network fee.")
    await _index(search_db, second, "Deposit limits", "Deposits have a daily limit.")
    assert await _df(search_db, "fee") == 1
    assert await _df(search_db, "deposit") == 1
    assert await _slugs(search_db, "withdrawal fee") == ["withdrawal-fees"]
    await _index(search_db, first, "Withdrawal limits", "Each withdrawal has a daily limit.")
    assert await _df(search_db, "fee") == 0
    assert await _df(search_db, "limit") == 2
    assert await _slugs(search_db, "network fee") == []
    async with transaction(search_db.sessionmaker) as session:
        await do_remove_document(session, first)
        await do_remove_document(session, uuid.uuid4())  # unknown ids are a no-op
    assert await _df(search_db, "limit") == 1
    assert await _slugs(search_db, "withdrawal limit") == ["deposit-limits"]


async def test_typos_and_synonyms(search_db: Database) -> None:
    await _index(
        search_db, uuid.uuid4(), "Resetting Google Authenticator", "Lost your phone? Reset 2FA here."
    )
    await _index(search_db, uuid.uuid4(), "充值未到账怎么办", "充币后请耐心等待区块确认。", "zh-CN")
    assert await _slugs(search_db, "authentcator reset") == ["resetting-google-authenticator"]
    assert await _slugs(search_db, "冲币没到帐", "zh-CN") == ["充值未到账怎么办"]
    async with transaction(search_db.sessionmaker) as session:
        await do_replace_synonyms(session, "en", [["mfa", "authenticator"]])
        with pytest.raises(InvalidInput):
            await do_replace_synonyms(session, "en", [["lonely"]])
        with pytest.raises(InvalidInput):
            await do_replace_synonyms(session, "fr", [["a", "b"]])
    assert await _slugs(search_db, "mfa") == ["resetting-google-authenticator"]


async def test_frequent_misses(search_db: Database) -> None:
    async with transaction(search_db.sessionmaker) as session:
        for q in ("Solana price", "solana price", "hiring"):
            await do_log_search_miss(session, "en", q)
        await do_log_search_miss(session, "zh-CN", "招聘")
    async with search_db.sessionmaker() as session:
        misses = await list_frequent_misses(session, locale="en")
    assert [(m.query, m.count) for m in misses] == [("solana price", 2), ("hiring", 1)]


async def test_articles_are_indexed_from_kb_articles(search_db: Database) -> None:
    if "kb_articles" not in load_models().tables:
        pytest.skip("kefu.kb.models has no kb_articles table yet")
    from kefu.kb.models import Article, ArticleStatus

    async with transaction(search_db.sessionmaker) as session:
        article = Article(slug="kyc-pending", locale="en", title="KYC still under review",
                          body="Wait **24h**.",
                          category="kyc", tags=["kyc"], status=ArticleStatus.DRAFT)  # fmt: skip
        session.add(article)
        await session.flush()
        await do_index_article(session, article.id)
    assert await _slugs(search_db, "kyc review") == []
    async with transaction(search_db.sessionmaker) as session:
        stored = await session.get(Article, article.id)
        assert stored is not None
        stored.status = ArticleStatus.PUBLISHED
        await session.flush()
        await do_index_article(session, article.id)
    assert await _slugs(search_db, "kyc review") == ["kyc-pending"]
    async with transaction(search_db.sessionmaker) as session:
        await do_unindex_article(session, article.id)
    assert await _slugs(search_db, "kyc review") == []
