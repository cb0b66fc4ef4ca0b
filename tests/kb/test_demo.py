"""The bundled demo knowledge base: valid, in both locales, idempotent, fictional."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from kefu.db.uow import transaction
from kefu.kb.demo import DEMO_CONTENT, load_demo_kb
from kefu.kb.models import Article, ArticleStatus
from tests.conftest import Database
from tests.kb.conftest import IndexCalls

# Topics the seed article tells customers to look for.
SEED_TOPICS = {
    "contact-support",
    "account-locked",
    "account-recovery",
    "ticket-status",
    "order-failed",
    "deposit-not-credited",
    "fake-support-scams",
    "verify-official-channels",
}
REAL_EXCHANGES = ("okex", "okx", "binance", "huobi", "coinbase", "kraken", "bybit", "bitget", "kucoin")


async def test_demo_kb_loads_in_both_locales_idempotently(db: Database, index_calls: IndexCalls) -> None:
    async with transaction(db.sessionmaker) as session:
        first = await load_demo_kb(session)
    async with transaction(db.sessionmaker) as session:
        again = await load_demo_kb(session)
    assert first.created == again.unchanged >= 16
    assert again.created == again.updated == 0
    async with db.sessionmaker() as session:
        articles = list(await session.scalars(select(Article)))
    locales: dict[str, set[str]] = defaultdict(set)
    for article in articles:
        assert article.status == ArticleStatus.PUBLISHED
        locales[article.slug].add(article.locale)
    assert all(found == {"zh-CN", "en"} for found in locales.values()), locales
    assert 8 <= len(locales) <= 12
    assert set(locales) >= SEED_TOPICS


def test_demo_content_names_no_real_exchange() -> None:
    for path in DEMO_CONTENT.rglob("*.md"):
        text = path.read_text(encoding="utf-8").lower()
        assert not any(name in text for name in REAL_EXCHANGES), path
    # The safety topic says plainly what support never asks for, in both languages.
    en = (DEMO_CONTENT / "en" / "fake-support-scams.md").read_text(encoding="utf-8")
    zh = (DEMO_CONTENT / "zh-CN" / "fake-support-scams.md").read_text(encoding="utf-8")
    assert all(word in en for word in ("password", "2FA", "seed phrase"))
    assert all(word in zh for word in ("密码", "二次验证", "助记词"))
