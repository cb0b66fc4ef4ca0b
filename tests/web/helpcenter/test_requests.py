"""The "Submit a request" pages: picker, every category's form in both locales, 404s, the reference."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.conversations.forms import FORMS
from kefu.conversations.states import Category
from kefu.db.uow import transaction
from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.schemas import Network
from kefu.kb.demo import load_demo_kb
from kefu.request_forms.actions import do_create_field
from kefu.request_forms.models import FieldKind
from kefu.request_forms.schemas import ChoiceIn, FieldCreate
from kefu.runtime import Runtime
from kefu.web.helpcenter.context import HC_LOCALES
from tests.factories import make_agent
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


# --- the callback form, the exchange's networks, fields added by admins ---------------------------


async def test_the_picker_offers_a_call_back(client: httpx.AsyncClient) -> None:
    page = await client.get("/hc/en/requests/new")
    assert "Request a call back" in page.text
    order = [a["data-category"] for tag, a in page_tags(page) if tag == "a" and "data-category" in a]
    assert order.index("callback") == len(order) - 2  # before the catch-all general question


@pytest.mark.parametrize("locale", HC_LOCALES)
async def test_callback_form_inputs(client: httpx.AsyncClient, locale: str) -> None:
    page = await client.get(f"/hc/{locale}/requests/new", params={"category": "callback"})
    assert_form_page(page)
    inputs = {
        a["id"]: a for tag, a in page_tags(page) if tag in ("input", "select") and "data-form-field" in a
    }
    assert inputs["hc-f-phone"]["type"] == "tel"
    assert "required" in inputs["hc-f-phone"]
    assert inputs["hc-f-preferred_date"]["type"] == "date"
    assert inputs["hc-f-window_from"]["type"] == "time"
    assert inputs["hc-f-window_to"]["type"] == "time"
    assert inputs["hc-f-time_zone"]["data-kind"] == "timezone"
    assert inputs["hc-f-time_zone"]["list"] == "hc-f-time_zone-list"
    assert '<option value="Asia/Shanghai"></option>' in page.text
    assert inputs["hc-f-language"]["data-kind"] == "select"
    assert inputs["hc-f-phone_region"]["data-kind"] == "select"
    china = "中国 (+86)" if locale == "zh-CN" else "China (+86)"
    assert f'<option value="CN">{china}</option>' in page.text


async def test_deposit_networks_come_from_the_exchange(client: httpx.AsyncClient) -> None:
    page = await client.get("/hc/en/requests/new?category=deposit")
    assert 'data-form-field="network" data-kind="network"' in page.text
    for network in ("BTC", "ERC20", "SOL", "TRC20", "XRP"):
        assert f'<option value="{network}"></option>' in page.text
    trading = (await client.get("/hc/en/requests/new?category=trading")).text
    assert '<textarea id="hc-f-steps_taken"' in trading


async def test_fields_added_by_admins_are_shown_escaped(client: httpx.AsyncClient, runtime: Runtime) -> None:
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    trading = Category.TRADING
    spot = ChoiceIn(value="spot", label_en=HOSTILE, label_zh="现货")
    futures = ChoiceIn(value="futures", label_en="Futures")
    added = [
        FieldCreate(
            category=trading, name="account_type", kind=FieldKind.SELECT, label_en=HOSTILE,
            label_zh="账户类型", help_en=HOSTILE, required=True, choices=[spot, futures],
        ),
        FieldCreate(category=trading, name="agreed", kind=FieldKind.CHECKBOX, label_en="I agree", position=5),
        FieldCreate(category=trading, name="seen_at", kind=FieldKind.DATETIME, label_en="Seen", position=2),
        FieldCreate(category=trading, name="hidden", kind=FieldKind.TEXT, label_en="Hidden", active=False),
    ]  # fmt: skip
    async with transaction(runtime.sessionmaker) as session:
        for data in added:
            await do_create_field(session, boss.actor, data)
    en = await client.get("/hc/en/requests/new?category=trading")
    assert_form_page(en)
    assert "<script>alert" not in en.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in en.text
    tags = page_tags(en)
    names = [a["data-form-field"] for tag, a in tags if "data-form-field" in a]
    assert names[-3:] == ["account_type", "seen_at", "agreed"]  # after the built-in ones, by position
    assert "hidden" not in names
    fields = {a["id"]: a for tag, a in tags if "data-form-field" in a}
    assert "required" in fields["hc-f-account_type"]
    assert fields["hc-f-agreed"]["type"] == "checkbox"
    assert fields["hc-f-seen_at"]["type"] == "datetime-local"
    assert 'data-tz-for="hc-f-seen_at"' in en.text
    labelled = {a["for"] for tag, a in tags if tag == "label"}
    assert {"hc-f-account_type", "hc-f-agreed", "hc-f-seen_at"} <= labelled
    zh = (await client.get("/hc/zh-CN/requests/new?category=trading")).text
    assert "账户类型" in zh
    assert '<option value="spot">现货</option>' in zh
    assert '<option value="futures">Futures</option>' in zh  # no Chinese label: the English one


async def test_form_pages_render_while_the_exchange_is_down(runtime: Runtime) -> None:
    from kefu.integrations.exchange.errors import ExchangeUnavailable
    from kefu.web.app import create_app

    class Down(DemoExchange):
        async def list_networks(self) -> list[Network]:
            raise ExchangeUnavailable("down")

    runtime.exchange = Down()
    app = with_help_center(create_app(runtime=runtime, start_worker=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kefu.test") as c:
        page = await c.get("/hc/en/requests/new?category=withdrawal")
    assert_form_page(page)
    assert 'data-form-field="network" data-kind="text"' in page.text


async def test_a_link_can_prefill_text_inputs_escaped(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/hc/en/requests/new",
        params={"category": "security", "suspicious_contact": HOSTILE, "uid": "u1\r\nx", "nope": "1"},
    )
    assert response.status_code == 200
    assert HOSTILE not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    tags = {attrs.get("id"): attrs for _tag, attrs in page_tags(response)}
    assert "value" not in tags["hc-f-uid"]  # a value with a line break is not a value we fill in
