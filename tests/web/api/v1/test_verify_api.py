"""`GET /api/v1/verify`: public, the documented answer shape, both locales, 422s for bad values."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from kefu.channels.demo import load_demo_channels
from kefu.channels.lookalike import Reason
from kefu.channels.verify import MAX_VALUE_LENGTH, classify, get_registry
from kefu.db.uow import transaction
from kefu.i18n import get_translator
from kefu.runtime import Runtime
from kefu.web.verify_words import reason_message
from tests.web.api.v1.conftest import assert_error

URL = "/api/v1/verify"


@pytest.fixture
async def demo(runtime: Runtime) -> None:
    async with transaction(runtime.sessionmaker) as session:
        await load_demo_channels(session)


async def _verify(client: httpx.AsyncClient, value: str, language: str | None = None) -> httpx.Response:
    headers = {"accept-language": language} if language else {}
    return await client.get(URL, params={"value": value}, headers=headers)


async def test_official_answer_shape_without_signing_in(client: httpx.AsyncClient, demo: None) -> None:
    response = await _verify(client, "https://t.me/KefuSupport")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-language"] == "en"
    assert "accept-language" in response.headers["vary"].lower()
    assert "set-cookie" not in response.headers
    assert response.json() == {
        "verdict": "official",
        "kind": "telegram",
        "matched": {"kind": "telegram", "value": "kefusupport", "label": "Telegram"},
        "reasons": [{"code": "exact_match", "message": "It is on our list of official channels."}],
    }


@pytest.mark.parametrize(
    ("value", "verdict", "kind", "matched", "codes"),
    [
        ("kefu.localhost", "official", "domain", "kefu.localhost", ["exact_match"]),
        ("help.kefu.localhost", "official", "domain", "kefu.localhost", ["subdomain_of_official"]),
        ("+65 6123 4567", "official", "phone", "+6561234567", ["exact_match"]),
        ("kеfu.localhost", "impersonation", "domain", "kefu.localhost", ["confusable_of"]),
        ("kefu-support.com", "impersonation", "domain", "kefu.localhost", ["brand_in_domain"]),
        ("support@kefu-help.com", "impersonation", "email", "support@kefu.localhost", ["brand_in_domain"]),
        ("@kefu_support", "impersonation", "handle", "kefusupport", ["lookalike_handle"]),
        ("google.com", "not_official", "domain", None, ["unknown"]),
        ("+65 6999 0000", "not_official", "phone", None, ["unknown"]),
        ("<script>alert(1)</script>", "not_official", None, None, ["unrecognised"]),
        ("https://t.me/+invite", "not_official", "telegram", None, ["not_an_account"]),
    ],
)
async def test_verdicts(
    client: httpx.AsyncClient,
    demo: None,
    value: str,
    verdict: str,
    kind: str | None,
    matched: str | None,
    codes: list[str],
) -> None:
    response = await _verify(client, value)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"verdict", "kind", "matched", "reasons"}
    assert (body["verdict"], body["kind"]) == (verdict, kind)
    assert (body["matched"] or {}).get("value") == matched
    assert [r["code"] for r in body["reasons"]] == codes
    assert all(r["message"] for r in body["reasons"])
    # The answer carries codes and words, never the pasted value (nothing to reflect).
    assert "<script>" not in response.text


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-GB,en;q=0.8", "en"),
        ("x" * 5000, "en"),
        (None, "en"),
    ],
)
async def test_messages_follow_accept_language(
    client: httpx.AsyncClient, runtime: Runtime, demo: None, header: str | None, locale: str
) -> None:
    response = await _verify(client, "kеfu.localhost", header)
    assert response.status_code == 200
    assert response.headers["content-language"] == locale
    body = response.json()
    # The official entry's label is the one registered for that language.
    assert body["matched"]["label"] == ("官方网站" if locale == "zh-CN" else "Website")
    async with runtime.sessionmaker() as session:
        verdict = classify("kеfu.localhost", await get_registry(session))
    expected = reason_message(get_translator(locale), Reason.CONFUSABLE_OF, verdict)
    assert body["reasons"] == [{"code": "confusable_of", "message": expected}]
    assert "kefu.localhost" in expected


async def test_the_verdict_does_not_need_a_registry(client: httpx.AsyncClient) -> None:
    response = await _verify(client, "kefu.localhost")
    assert response.status_code == 200
    assert response.json()["verdict"] == "not_official"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?value=",
        "?value=%20%20%20",
        "?value=" + "a" * (MAX_VALUE_LENGTH + 1),
        "?value=" + "a" * 60_000,
        "?value=kefu.localhost%0d%0aX-Injected:%201",
        "?value=" + quote("kefu\u202e.localhost"),
        "?value=" + quote("kefu\u200b.localhost"),
    ],
)
async def test_refused_values_are_422(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(URL + query)
    error = assert_error(response, 422, "invalid_input")
    assert "value" in error["fields"]
    assert "x-injected" not in response.headers


async def test_nul_is_refused_before_the_route(client: httpx.AsyncClient) -> None:
    # The app's middleware refuses NUL anywhere in a URL (kefu.web.middleware).
    assert_error(await client.get(URL + "?value=kefu%00.localhost"), 400, "bad_request")


async def test_the_longest_value_is_answered(client: httpx.AsyncClient, demo: None) -> None:
    value = "https://kefu-login.com/" + "a" * (MAX_VALUE_LENGTH - 23)
    assert len(value) == MAX_VALUE_LENGTH
    response = await _verify(client, value)
    assert response.status_code == 200
    assert response.json()["verdict"] == "impersonation"


async def test_only_get(client: httpx.AsyncClient) -> None:
    assert (await client.post(URL, json={"value": "kefu.localhost"})).status_code == 405
