"""The "Is this really us?" page: the form, each verdict in both locales, reporting, hostile input."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from kefu.channels.demo import load_demo_channels
from kefu.channels.verify import MAX_VALUE_LENGTH
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from tests.web.helpcenter.conftest import MAX_PAGE_BYTES, assert_public_page, page_tags

HOSTILE = "\"><script>alert(1)</script><img src=x onerror=alert(2)>'&"
LOCALES = ["en", "zh-CN"]


@pytest.fixture
async def client(hc_client: httpx.AsyncClient, runtime: Runtime) -> httpx.AsyncClient:
    """The help center over the demo registry of official channels."""
    async with transaction(runtime.sessionmaker) as session:
        await load_demo_channels(session)
    return hc_client


def assert_result_page(response: httpx.Response, *, status: int = 200) -> None:
    """A result page: never stored, no cookies, CSP-clean, links local or to official channels."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    assert len(response.content) < MAX_PAGE_BYTES
    for tag, attrs in page_tags(response):
        assert tag not in ("style", "iframe", "object", "embed", "base"), tag
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in ("src", "href", "action"):
            url = attrs.get(name)
            if url is not None:
                assert url.startswith(("/", "#", "https://", "mailto:", "tel:")), (tag, url)
                assert not url.startswith("//"), (tag, url)


def _verdict_box(response: httpx.Response) -> dict[str, str]:
    boxes = [attrs for tag, attrs in page_tags(response) if tag == "section" and "data-verdict" in attrs]
    assert len(boxes) == 1
    return boxes[0]


def _reasons(response: httpx.Response) -> list[str]:
    return [
        attrs["data-reason"] for tag, attrs in page_tags(response) if tag == "li" and "data-reason" in attrs
    ]


def _report_link(response: httpx.Response) -> str | None:
    links = [attrs["href"] for tag, attrs in page_tags(response) if tag == "a" and "data-report" in attrs]
    assert len(links) <= 1
    return links[0] if links else None


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_form_is_public(client: httpx.AsyncClient, locale: str) -> None:
    for url in (f"/hc/{locale}/verify", f"/hc/{locale}/verify?value=", f"/hc/{locale}/verify?value=%20"):
        page = await client.get(url)
        assert_public_page(page)
        assert page.headers["content-language"] == locale
        assert f'<html lang="{locale}">' in page.text
        forms = [
            attrs for tag, attrs in page_tags(page) if tag == "form" and "hc-verify-form" in attrs["class"]
        ]
        assert forms == [
            {"class": "hc-verify-form", "action": f"/hc/{locale}/verify", "method": "get", "role": "search"}
        ]
        inputs = [attrs for tag, attrs in page_tags(page) if tag == "input" and attrs.get("name") == "value"]
        assert inputs[0]["maxlength"] == str(MAX_VALUE_LENGTH)
        assert inputs[0]["value"] == ""
        assert "data-verdict" not in page.text
        assert f'href="/hc/{locale}/contact"' in page.text


@pytest.mark.parametrize("locale", LOCALES)
async def test_official(client: httpx.AsyncClient, locale: str) -> None:
    page = await client.get(f"/hc/{locale}/verify", params={"value": " https://help.kefu.localhost/x "})
    assert_result_page(page)
    assert _verdict_box(page)["data-verdict"] == "official"
    assert _reasons(page) == ["subdomain_of_official"]
    assert _report_link(page) is None
    assert 'href="https://kefu.localhost/"' in page.text
    if locale == "en":
        assert "Yes, this is really us." in page.text
        assert "Website" in page.text
    else:
        assert "官方网站" in page.text  # the channel's Chinese label
    # The input keeps what was checked, for a second look.
    inputs = [attrs for tag, attrs in page_tags(page) if tag == "input" and attrs.get("name") == "value"]
    assert inputs[0]["value"] == "https://help.kefu.localhost/x"


@pytest.mark.parametrize("locale", LOCALES)
async def test_impersonation_offers_a_report(client: httpx.AsyncClient, locale: str) -> None:
    value = "https://kеfu.localhost/login"  # Cyrillic е
    page = await client.get(f"/hc/{locale}/verify", params={"value": value})
    assert_result_page(page)
    assert _verdict_box(page)["data-verdict"] == "impersonation"
    assert _reasons(page) == ["confusable_of"]
    # The real address behind the look-alike is spelled out.
    assert "xn--kfu-rdd.localhost" in page.text
    if locale == "en":
        assert "Impersonation" in page.text
        assert "It uses look-alike characters to imitate kefu.localhost." in page.text
        assert "Report this impersonator" in page.text
    report = _report_link(page)
    assert report is not None
    parts = urlsplit(report)
    assert parts.path == f"/hc/{locale}/requests/new"
    assert parse_qs(parts.query) == {"category": ["security"], "suspicious_contact": [value]}


@pytest.mark.parametrize(
    ("value", "verdict", "reasons"),
    [
        ("google.com", "not_official", ["unknown"]),
        ("+65 6999 0000", "not_official", ["unknown"]),
        ("@kefu_support", "impersonation", ["lookalike_handle"]),
        ("kefu.support@gmail.com", "impersonation", ["brand_in_address"]),
        ("+65 6123 4567", "official", ["exact_match"]),
        ("not a link at all", "not_official", ["unrecognised"]),
    ],
)
async def test_verdicts(client: httpx.AsyncClient, value: str, verdict: str, reasons: list[str]) -> None:
    page = await client.get("/hc/en/verify", params={"value": value})
    assert_result_page(page)
    assert _verdict_box(page)["data-verdict"] == verdict
    assert _reasons(page) == reasons
    assert (_report_link(page) is None) == (verdict == "official")


@pytest.mark.parametrize("locale", LOCALES)
async def test_hostile_values_are_escaped(client: httpx.AsyncClient, locale: str) -> None:
    page = await client.get(f"/hc/{locale}/verify", params={"value": HOSTILE})
    assert_result_page(page)
    assert "<script>alert(1)" not in page.text
    assert "onerror=alert" not in [name for _, attrs in page_tags(page) for name in attrs]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    report = _report_link(page)
    assert report is not None
    assert parse_qs(urlsplit(report).query)["suspicious_contact"] == [HOSTILE]
    inputs = [attrs for tag, attrs in page_tags(page) if tag == "input" and attrs.get("name") == "value"]
    assert inputs[0]["value"] == HOSTILE.strip()


@pytest.mark.parametrize(
    "query",
    [
        "value=" + "a" * (MAX_VALUE_LENGTH + 1),
        "value=" + "a" * 60_000,
        "value=kefu.localhost%0d%0a%3Cscript%3E",
        "value=" + quote("kefu\u202e.localhost"),
    ],
)
async def test_unusable_values_are_422_and_not_echoed(client: httpx.AsyncClient, query: str) -> None:
    page = await client.get(f"/hc/en/verify?{query}")
    assert_result_page(page, status=422)
    assert "data-verdict" not in page.text
    assert 'role="alert"' in page.text
    assert "aaaaaaaaaa" not in page.text
    assert "<script>" not in page.text


async def test_unknown_locale_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/hc/fr/verify", "/hc/%3Cb%3E/verify?value=kefu.localhost"):
        assert (await client.get(path)).status_code == 404


async def test_language_switch_keeps_the_value(client: httpx.AsyncClient) -> None:
    page = await client.get("/hc/en/verify", params={"value": "kefu.com"})
    links = [attrs["href"] for tag, attrs in page_tags(page) if tag == "a" and attrs.get("lang") == "zh-CN"]
    assert links == ["/hc/zh-CN/verify?value=kefu.com"]
    chinese = await client.get(links[0])
    assert_result_page(chinese)
    assert _verdict_box(chinese)["data-verdict"] == "impersonation"
    assert _reasons(chinese) == ["tld_swap"]
