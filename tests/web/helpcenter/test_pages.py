"""The help center's pages: both locales, language switching, 404s, hostile content, size and caching."""

from __future__ import annotations

import re

import httpx
import pytest

from kefu.db.uow import transaction
from kefu.incidents.service import Banner
from kefu.kb.actions import do_create_article
from kefu.kb.schemas import ArticleCreate
from kefu.kb.service import find_article
from kefu.runtime import Runtime
from tests.web.helpcenter.conftest import assert_public_page, page_tags

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


async def _article(
    runtime: Runtime, slug: str, locale: str = "en", *, publish: bool = True, **fields: object
) -> None:
    defaults: dict[str, object] = {"title": "Hostile " + HOSTILE, "body": "Body text.", "category": "general"}
    data = ArticleCreate.model_validate({"slug": slug, "locale": locale, **defaults, **fields})
    async with transaction(runtime.sessionmaker) as session:
        await do_create_article(session, data, author_id=None, publish=publish)


def _language_link(page: httpx.Response, locale: str) -> str:
    for tag, attrs in page_tags(page):
        if tag == "a" and attrs.get("lang") == locale and "aria-current" not in attrs:
            return attrs["href"]
    raise AssertionError(f"no language link to {locale}")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", ["How can we help?", "My account is locked or frozen"]), ("zh-CN", ['lang="zh-CN"', "账户"])],
)
async def test_every_page_renders_in_both_locales(
    hc_client: httpx.AsyncClient, locale: str, expected: list[str]
) -> None:
    home = await hc_client.get(f"/hc/{locale}")
    assert_public_page(home)
    assert home.headers["content-language"] == locale
    for text in expected:
        assert text in home.text
    # The way to a human is always on the page.
    assert f'href="/hc/{locale}/contact"' in home.text
    assert f'href="/hc/{locale}/requests/new"' in home.text
    assert f'hx-get="/hc/{locale}/search/suggest"' in home.text
    assert re.search(r'href="/hc/' + re.escape(locale) + r'/categories/account"', home.text)
    for path in [
        "/categories/account",
        "/articles/account-locked",
        "/search?q=locked",
        "/search",
        "/search?q=",
    ]:
        assert_public_page(await hc_client.get(f"/hc/{locale}{path}"))


async def test_entry_url_follows_the_readers_language(hc_client: httpx.AsyncClient) -> None:
    chinese = await hc_client.get("/hc", headers={"accept-language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert chinese.status_code == 302
    assert chinese.headers["location"] == "/hc/zh-CN"
    assert "Accept-Language" in chinese.headers["vary"]
    english = await hc_client.get("/hc", headers={"accept-language": "fr, *;q=0.1"})
    assert english.headers["location"] == "/hc/en"
    assert (await hc_client.get("/hc")).headers["location"] == "/hc/en"


NOT_FOUND = [
    "/hc/fr",
    "/hc/ZH-cn",
    "/hc/%3Cscript%3E",
    "/hc/fr/articles/account-locked",
    "/hc/en/categories/nope",
    "/hc/en/categories/%3Cb%3E",
    "/hc/en/articles/Not_A_Slug",
    "/hc/en/articles/" + "a" * 300,
    "/hc/en/articles/no-such-article",
    "/hc/en/articles/%E2%80%AE%3Cscript%3E",
]


async def test_unknown_things_are_404_pages(hc_client: httpx.AsyncClient) -> None:
    for path in NOT_FOUND:
        response = await hc_client.get(path)
        assert_public_page(response, status=404)
        assert "<script>" not in response.text.split("</head>", 1)[1]


async def test_drafts_are_404_like_missing_articles(hc_client: httpx.AsyncClient, runtime: Runtime) -> None:
    await _article(runtime, "secret-draft", publish=False, title="Unreleased listing")
    response = await hc_client.get("/hc/en/articles/secret-draft")
    assert_public_page(response, status=404)
    assert "Unreleased listing" not in response.text
    assert "Unreleased listing" not in (await hc_client.get("/hc/en/categories/general")).text


async def test_language_switch_targets(hc_client: httpx.AsyncClient, runtime: Runtime) -> None:
    translated = await hc_client.get("/hc/en/articles/account-locked")
    assert _language_link(translated, "zh-CN") == "/hc/zh-CN/articles/account-locked"
    back = await hc_client.get("/hc/zh-CN/articles/account-locked")
    assert _language_link(back, "en") == "/hc/en/articles/account-locked"
    await _article(runtime, "english-only", title="Only in English")
    untranslated = await hc_client.get("/hc/en/articles/english-only")
    assert _language_link(untranslated, "zh-CN") == "/hc/zh-CN"
    home = await hc_client.get("/hc/zh-CN")
    assert _language_link(home, "en") == "/hc/en"
    category = await hc_client.get("/hc/en/categories/account")
    assert _language_link(category, "zh-CN") == "/hc/zh-CN/categories/account"
    search = await hc_client.get("/hc/en/search", params={"q": "locked"})
    assert _language_link(search, "zh-CN") == "/hc/zh-CN/search?q=locked"


async def test_article_page_parts_and_view_count(hc_client: httpx.AsyncClient, runtime: Runtime) -> None:
    first = await hc_client.get("/hc/en/articles/account-locked")
    assert_public_page(first)
    assert 'aria-label="Breadcrumbs"' in first.text
    assert 'href="/hc/en/categories/account"' in first.text
    assert "Last updated: " in first.text
    assert 'data-url="/api/v1/kb/articles/en/account-locked/votes"' in first.text
    assert "Related articles" in first.text
    assert first.text.count("|safe") == 0
    await hc_client.get("/hc/en/articles/account-locked")
    async with transaction(runtime.sessionmaker) as session:
        article = await find_article(session, "en", "account-locked")
        assert article is not None
        assert article.views == 2


async def test_hostile_article_content_is_inert(hc_client: httpx.AsyncClient, runtime: Runtime) -> None:
    body = (
        HOSTILE
        + "\n\n[click](javascript:alert(3)) [data](data:text/html,<script>alert(4)</script>)"
        + '\n\n<a href="javascript:alert(5)" onclick="alert(6)">x</a>'
        + '\n\n![i](/static/a.png "t\\" onerror=\\"alert(7)")'
    )
    await _article(runtime, "hostile", body=body, tags=[HOSTILE[:30]])
    page = await hc_client.get("/hc/en/articles/hostile")
    assert_public_page(page)
    after_head = page.text.split("</head>", 1)[1]
    assert "<script>" not in after_head
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    for tag, attrs in page_tags(page):
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "javascript:" not in attrs.get("href", "").lower()
        assert not attrs.get("href", "").lower().startswith("data:")
    # The hostile title is shown as text wherever it appears (list, related, title, breadcrumbs).
    listing = await hc_client.get("/hc/en/categories/general")
    assert "Hostile &lt;script&gt;" in listing.text
    assert "<script>alert" not in listing.text


QUERIES = [HOSTILE, '"><svg onload=alert(1)>', "x" * 5000, "   ", "%00", "\u202e锁定"]


async def test_hostile_search_queries_stay_text(hc_client: httpx.AsyncClient) -> None:
    for query, path in [
        (q, p) for q in QUERIES for p in ["/hc/en/search", "/hc/zh-CN/search", "/hc/en/search/suggest"]
    ]:
        response = await hc_client.get(path, params={"q": query})
        if query == "%00":
            assert response.status_code in (200, 400)
            continue
        assert response.status_code == 200, response.text[:300]
        assert "<script>alert" not in response.text
        assert "<svg" not in response.text
        if path.endswith("/search"):
            assert_public_page(response)


async def test_results_are_highlighted_and_weak_ones_logged(
    hc_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from sqlalchemy import func, select

    from kefu.search.models import SearchMiss

    found = await hc_client.get("/hc/en/search", params={"q": "account locked"})
    assert "/hc/en/articles/account-locked" in found.text
    assert re.search(r"<mark>[Ll]ock", found.text)
    assert "hc-no-answer" not in found.text
    chinese = await hc_client.get("/hc/zh-CN/search", params={"q": "账户被锁定了"})
    assert "/hc/zh-CN/articles/account-locked" in chinese.text
    missed = await hc_client.get("/hc/en/search", params={"q": "qwertyuiop zxcvbnm"})
    assert "hc-no-answer" in missed.text
    assert 'href="/hc/en/contact"' in missed.text.split("hc-no-answer", 1)[1]
    async with transaction(runtime.sessionmaker) as session:
        misses = await session.scalar(select(func.count()).select_from(SearchMiss))
    assert misses == 1


async def test_suggestions_fragment(hc_client: httpx.AsyncClient) -> None:
    suggested = await hc_client.get("/hc/en/search/suggest", params={"q": "locked account"})
    assert suggested.status_code == 200
    assert suggested.text.lstrip().startswith("<ul")
    assert "<html" not in suggested.text
    assert 'href="/hc/en/articles/account-locked"' in suggested.text
    chinese = await hc_client.get("/hc/zh-CN/search/suggest", params={"q": "锁定"})
    assert 'href="/hc/zh-CN/articles/account-locked"' in chinese.text
    for empty in ["", "a", "qwertyuiop zxcvbnm"]:
        assert (await hc_client.get("/hc/en/search/suggest", params={"q": empty})).text.strip() == ""


async def test_votes_from_the_page_reach_the_api(hc_client: httpx.AsyncClient, runtime: Runtime) -> None:
    page = await hc_client.get("/hc/en/articles/account-locked")
    url = re.search(r'data-url="([^"]+)"', page.text)
    assert url is not None
    # An anonymous visitor has no session, so the API needs no CSRF token (as hc.js sends it).
    voted = await hc_client.post(url.group(1), json={"helpful": True}, headers={"origin": "http://kefu.test"})
    assert voted.status_code == 200, voted.text
    assert voted.json()["helpful_yes"] == 1
    assert "kefu_kb_voter" in voted.headers["set-cookie"]


async def test_banner_is_shown_on_every_page(
    hc_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kefu.web.helpcenter import context

    async def banner(session: object, locale: str) -> Banner:
        return Banner(
            title=f"Deposits delayed {HOSTILE}", status="investigating", url="/status", severity="major"
        )

    monkeypatch.setattr(context, "get_banner", banner)
    for path in ["/hc/en", "/hc/en/articles/account-locked", "/hc/zh-CN/search?q=x"]:
        page = await hc_client.get(path)
        assert "hc-banner" in page.text
        assert "Deposits delayed &lt;script&gt;" in page.text


async def test_pages_stay_small_with_many_articles(hc_client: httpx.AsyncClient, runtime: Runtime) -> None:
    for n in range(40):
        await _article(runtime, f"topic-{n}", title=f"Topic number {n} " + "word " * 30, category="trading")
    for path in ["/hc/en", "/hc/en/categories/trading", "/hc/en/articles/topic-1", "/hc/en/search?q=topic"]:
        assert_public_page(await hc_client.get(path))
