"""GET /api/v1/kb/search: the evaluation contract, hostile input, published-only, logged misses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from kefu.search.index import do_index_document, do_remove_document
from kefu.search.models import SearchMiss
from kefu.search.service import check_query
from kefu.web.api.v1 import kb_search
from tests.conftest import Database

LOCKED_ZH = uuid.uuid4()
LOCKED_EN = uuid.uuid4()


@pytest.fixture
async def api(search_db: Database, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the search router mounted (as the lead mounts it) and two articles indexed."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    if not any(getattr(r, "path", "") == "/api/v1/kb/search" for r in app.routes):
        app.include_router(kb_search.router, prefix="/api/v1")
    async with transaction(search_db.sessionmaker) as session:
        await do_index_document(
            session, doc_id=LOCKED_ZH, locale="zh-CN", slug="account-locked", title="账户被锁定怎么办",
            body_markdown="出于安全考虑，系统会自动**锁定**账户。<script>alert(1)</script> 请联系客服解锁。",
            tags=["锁定", "解锁"],
        )  # fmt: skip
        await do_index_document(
            session, doc_id=LOCKED_EN, locale="en", slug="account-locked", title="My account is locked",
            body_markdown="When our systems detect a risk, they lock the account. Contact support to unlock.",
            tags=["locked", "unlock"],
        )  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        yield client


async def test_contract_and_snippet(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/kb/search", params={"q": "帳戶被鎖定", "locale": "zh-CN", "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"query", "results", "no_answer_threshold"}
    top = body["results"][0]
    assert top["slug"] == "account-locked"
    assert top["locale"] == "zh-CN"
    assert top["url"] == "/hc/zh-CN/articles/account-locked"
    assert 0 < top["score"] <= 1
    assert top["score"] >= body["no_answer_threshold"]
    assert "<mark>锁定</mark>" in top["snippet"]
    assert "<script>" not in top["snippet"]
    assert "&lt;script&gt;" in top["snippet"] or "script" not in top["snippet"]


async def test_locale_defaults_from_query_language(api: httpx.AsyncClient) -> None:
    english = (await api.get("/api/v1/kb/search", params={"q": "account locked"})).json()
    chinese = (await api.get("/api/v1/kb/search", params={"q": "账户锁定"})).json()
    assert [r["locale"] for r in english["results"]] == ["en"]
    assert [r["locale"] for r in chinese["results"]] == ["zh-CN"]


HOSTILE = (
    '"', '""locked', "lock*", "NEAR(lock account)", "^lock", "(lock OR", "lock AND NOT", "a:b", "'", "\\",
     "!", "&|", "{x}", "-lock", "🔒🔒", "锁定\"*)", "' OR 1=1 --", "%", "_", ":*",
    "<mark>x</mark>")  # fmt: skip


async def test_hostile_queries_never_fail(api: httpx.AsyncClient) -> None:
    for q, locale in ((q, locale) for q in HOSTILE for locale in ("en", "zh-CN")):
        response = await api.get("/api/v1/kb/search", params={"q": q, "locale": locale})
        assert response.status_code == 200, (q, response.text)
        assert isinstance(response.json()["results"], list)


BAD_PARAMS: tuple[dict[str, object], ...] = (
    {"q": ""}, {"q": "x" * 201}, {"q": "lock", "locale": "fr"}, {"q": "lock", "limit": 0},
    {"q": "lock", "limit": 21}, {"q": "lock", "limit": "ten"}, {}, {"q": "   "})  # fmt: skip


async def test_bad_parameters_are_422(api: httpx.AsyncClient) -> None:
    for params in BAD_PARAMS:
        response = await api.get("/api/v1/kb/search", params=params)  # type: ignore[arg-type]
        assert response.status_code == 422, (params, response.text)


async def test_nul_is_refused(api: httpx.AsyncClient) -> None:
    # The app's middleware refuses NUL anywhere in a URL (400) before the route's own check (422).
    response = await api.get("/api/v1/kb/search", params={"q": "a\x00b"})
    assert response.status_code in {400, 422}
    with pytest.raises(InvalidInput):
        check_query("a\x00b", None, 10)


async def test_unpublished_articles_are_not_found(api: httpx.AsyncClient, search_db: Database) -> None:
    async with transaction(search_db.sessionmaker) as session:
        await do_remove_document(session, LOCKED_EN)
    body = (await api.get("/api/v1/kb/search", params={"q": "account locked", "locale": "en"})).json()
    assert body["results"] == []


async def test_searches_without_good_answer_are_logged(api: httpx.AsyncClient, search_db: Database) -> None:
    await api.get("/api/v1/kb/search", params={"q": "are you hiring engineers", "locale": "en"})
    await api.get("/api/v1/kb/search", params={"q": "account locked", "locale": "en"})
    # As-you-type suggestions (the chat widget) are never logged.
    await api.get("/api/v1/kb/search", params={"q": "my order 8812 fai", "locale": "en", "suggest": "true"})
    async with search_db.sessionmaker() as session:
        logged = (await session.scalars(select(SearchMiss.query))).all()
        assert logged == ["are you hiring engineers"]
        assert await session.scalar(select(func.count()).select_from(SearchMiss)) == 1
