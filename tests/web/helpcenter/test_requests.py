"""The "Submit a request" pages: picker, every category's form in both locales, 404s, the reference."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kefu.conversations.forms import FORMS
from kefu.conversations.states import Category
from kefu.db.uow import transaction
from kefu.kb.demo import load_demo_kb
from kefu.runtime import Runtime
from kefu.web.helpcenter.context import HC_LOCALES
from tests.web.helpcenter.conftest import MAX_PAGE_BYTES, page_tags, with_help_center

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the help center and these pages (mounted here until the lead includes them)."""
    from kefu.web.app import create_app
    from kefu.web.helpcenter import requests

    async with transaction(runtime.sessionmaker) as session:
        await load_demo_kb(session)
    app = with_help_center(create_app(runtime=runtime, start_worker=False))
    if "/hc/{locale}/requests/new" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(requests.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c


def assert_form_page(response: httpx.Response, *, status: int = 200) -> None:
    """A private help-center page: HTML, never stored, no cookies, small, no inline code, local only."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == ("no-store" if status == 200 else "public, max-age=60")
    assert "set-cookie" not in response.headers
    assert len(response.content) < MAX_PAGE_BYTES
    tags = page_tags(response)
    assert tags
    for tag, attrs in tags:
        assert tag not in ("style", "iframe", "object", "embed", "base"), tag
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in ("src", "href", "action"):
            url = attrs.get(name)
            if url is not None:
                assert url.startswith(("/", "#")), (tag, url)
                assert not url.startswith("//"), (tag, url)
    # No inline script body either.
    body = response.text
    for chunk in body.split("<script")[1:]:
        assert chunk.split(">", 1)[1].startswith("</script>"), "inline script"


@pytest.mark.parametrize("locale", HC_LOCALES)
async def test_picker_lists_every_category(client: httpx.AsyncClient, locale: str) -> None:
    page = await client.get(f"/hc/{locale}/requests/new")
    assert_form_page(page)
    links = {a["href"] for tag, a in page_tags(page) if tag == "a" and "data-category" in a}
    assert links == {f"/hc/{locale}/requests/new?category={c.value}" for c in Category}
    assert page.headers["content-language"] == locale
    if locale == "zh-CN":
        assert 'lang="zh-CN"' in page.text


@pytest.mark.parametrize("locale", HC_LOCALES)
@pytest.mark.parametrize("category", list(Category))
async def test_every_category_form_has_its_fields(
    client: httpx.AsyncClient, locale: str, category: Category
) -> None:
    page = await client.get(f"/hc/{locale}/requests/new", params={"category": category.value})
    assert_form_page(page)
    tags = page_tags(page)
    forms = [a for tag, a in tags if tag == "form"]
    assert len(forms) == 1
    assert forms[0]["action"] == "/api/v1/conversations"
    assert forms[0]["data-category"] == category.value
    assert forms[0]["data-locale"] == locale
    api_fields = {a["data-api-field"] for _tag, a in tags if "data-api-field" in a}
    expected = {"customer.email", "subject", "body", "files"}
    expected |= {f"form_fields.{name}" for name in FORMS[category].model_fields}
    assert api_fields == expected
    ids = {a.get("id") for _tag, a in tags}
    labelled = {a["for"] for tag, a in tags if tag == "label"}
    for _tag, attrs in tags:
        if "data-api-field" in attrs:
            assert attrs["id"] in labelled, attrs  # every input has a label
            assert f"{attrs['id']}-error" in ids  # and a place for its message
    assert "/static/hc_request.js" in page.text


async def test_inputs_follow_the_schema(client: httpx.AsyncClient) -> None:
    trading = (await client.get("/hc/en/requests/new?category=trading")).text
    assert 'id="hc-f-side" data-form-field="side" data-kind="select"' in trading
    assert '<option value="buy">Buy</option>' in trading
    assert 'type="datetime-local" data-form-field="occurred_at"' in trading
    assert 'data-tz-for="hc-f-occurred_at"' in trading
    assert '<option value="+05:30"' in trading
    assert '<textarea id="hc-f-error_message"' in trading
    assert "Trading pair" in trading
    deposit = (await client.get("/hc/en/requests/new?category=deposit")).text
    assert 'data-form-field="amount" data-kind="decimal"' in deposit
    assert "Transaction hash (TxID)" in deposit
    kyc = (await client.get("/hc/en/requests/new?category=kyc")).text
    assert 'data-form-field="kyc_level" data-kind="integer"' in kyc


NOT_FOUND = [
    "/hc/fr/requests/new",
    "/hc/fr/requests/submitted?reference=KF-12345678",
    "/hc/en/requests/new?category=nope",
    "/hc/en/requests/new?category=TRADING",
    "/hc/en/requests/new?category=%3Cscript%3Ealert(1)%3C/script%3E",
    "/hc/en/requests/new?category=" + "a" * 5000,
]


async def test_unknown_locale_or_category_is_the_404_page(client: httpx.AsyncClient) -> None:
    for path in NOT_FOUND:
        response = await client.get(path)
        assert_form_page(response, status=404)
        assert "<script>alert" not in response.text


@pytest.mark.parametrize(
    "query",
    [
        "category=trading&category=<b>",
        "category=%FF%FE",
        "category=" + "%E2%80%AE" * 50,
        "reference=" + HOSTILE,
        "category[]=x&reference[]=y",
        "%00=%00",
        "category=trading%00",
    ],
)
async def test_hostile_query_strings_never_fail(client: httpx.AsyncClient, query: str) -> None:
    for path in ("/hc/en/requests/new", "/hc/zh-CN/requests/submitted"):
        response = await client.get(f"{path}?{query}")
        # 400: the app refuses NUL characters in URLs before any route runs.
        assert response.status_code in (200, 400, 404), (path, query, response.status_code)
        assert "<script>alert" not in response.text
        # The language switcher carries the query percent-encoded; no hostile tag or attribute appears.
        for tag, attrs in page_tags(response):
            assert tag != "img", attrs
            assert "onerror" not in attrs, tag


@pytest.mark.parametrize("locale", HC_LOCALES)
async def test_confirmation_shows_a_valid_reference(client: httpx.AsyncClient, locale: str) -> None:
    page = await client.get(f"/hc/{locale}/requests/submitted", params={"reference": "KF-48213907"})
    assert_form_page(page)
    assert '<strong id="hc-reference" class="hc-reference">KF-48213907</strong>' in page.text


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "KF-1234567",
        "KF-123456789",
        "kf-12345678",
        "KF-12345678<script>",
        "KF-１２３４５６７８",  # fullwidth digits
        "KF-12345678\n",
        HOSTILE,
        "<b>KF-12345678</b>",
    ],
)
async def test_confirmation_hides_a_malformed_reference(client: httpx.AsyncClient, reference: str) -> None:
    page = await client.get("/hc/en/requests/submitted", params={"reference": reference})
    assert_form_page(page)
    assert 'id="hc-reference"' not in page.text
    assert "We have received your request" in page.text
    assert "<script>" not in page.text
    assert "<b>KF" not in page.text


async def test_zh_cn_pages_are_translated(client: httpx.AsyncClient) -> None:
    en = (await client.get("/hc/en/requests/new?category=trading")).text
    zh = (await client.get("/hc/zh-CN/requests/new?category=trading")).text
    assert "Trading pair" in en
    # Untranslated strings fall back to English; the layout's own strings are translated already.
    assert "帮助中心" in zh
