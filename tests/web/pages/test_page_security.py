"""CSRF refusals, redirect targets and hostile form input on the sign-in pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kefu.runtime import Runtime
from kefu.web.pages.forms import MAX_FORM_BYTES, MAX_FORM_FIELDS, safe_next
from tests.factories import PASSWORD, make_agent
from tests.web.pages.conftest import (
    BASE_URL,
    FOREIGN_ORIGIN,
    alert_text,
    assert_clean_page,
    csrf_cookie,
    post_form,
    sign_in,
)

LOGIN = {"email": "ann@example.com", "password": PASSWORD}


def _assert_refused_page(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert_clean_page(response)
    assert "kefu_session=" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https:evil.example",
        "https://evil.example/path",
        "http://kefu.test/account",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
        "account",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "/\x00/evil.example",
        "/é",
        "/" + "x" * 3000,
        "",
        None,
    ],
)
def test_safe_next_refuses_anything_but_a_local_path(value: str | None) -> None:
    assert safe_next(value) is None


@pytest.mark.parametrize("value", ["/", "/account", "/account?tab=2&x=%2F%2Fevil", "/console#inbox"])
def test_safe_next_keeps_local_paths(value: str) -> None:
    assert safe_next(value) == value


async def test_login_without_a_csrf_token_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await client.get("/login")
    missing = await client.post("/login", data=LOGIN, headers={"origin": BASE_URL})
    _assert_refused_page(missing, 403)
    assert "This form has expired" in missing.text
    wrong = await client.post("/login", data=LOGIN | {"csrf_token": "A" * 32}, headers={"origin": BASE_URL})
    _assert_refused_page(wrong, 403)
    client.cookies.delete("kefu_csrf")
    no_cookie = await client.post(
        "/login", data=LOGIN | {"csrf_token": "A" * 32}, headers={"origin": BASE_URL}
    )
    _assert_refused_page(no_cookie, 403)


@pytest.mark.parametrize("header", ["origin", "referer"])
async def test_login_from_a_foreign_origin_is_refused_even_with_the_token(
    client: httpx.AsyncClient, runtime: Runtime, header: str
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await client.get("/login")
    response = await client.post(
        "/login", data=LOGIN | {"csrf_token": csrf_cookie(client)}, headers={header: FOREIGN_ORIGIN + "/x"}
    )
    _assert_refused_page(response, 403)


async def test_chinese_readers_get_the_refusal_in_chinese(client: httpx.AsyncClient) -> None:
    await client.get("/login?lang=zh-CN")
    response = await client.post("/login", data=LOGIN, headers={"origin": BASE_URL})
    assert response.status_code == 403
    assert '<html lang="zh-CN">' in response.text
    assert "表单已失效" in response.text


async def test_logout_needs_the_token_and_keeps_the_session_otherwise(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await sign_in(client, "ann@example.com")
    forged = await client.post("/logout", data={}, headers={"origin": BASE_URL})
    _assert_refused_page(forged, 403)
    cross_site = await client.post(
        "/logout", data={"csrf_token": csrf_cookie(client)}, headers={"origin": FOREIGN_ORIGIN}
    )
    _assert_refused_page(cross_site, 403)
    assert (await client.get("/account")).status_code == 200


async def test_forms_refuse_a_session_token_from_the_login_api_header_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The X-CSRF-Token header of the JSON API does not stand in for the form field."""
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await sign_in(client, "ann@example.com")
    response = await client.post(
        "/logout", data={}, headers={"origin": BASE_URL, "x-csrf-token": csrf_cookie(client)}
    )
    _assert_refused_page(response, 403)


async def test_typed_email_is_echoed_back_escaped(client: httpx.AsyncClient) -> None:
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>@example.com'
    response = await post_form(client, "/login", {"email": hostile, "password": "whatever it is"})
    assert response.status_code == 401
    assert '"><script>' not in response.text
    assert "<img src=x" not in response.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert_clean_page(response)


async def test_next_is_never_reflected_unescaped(client: httpx.AsyncClient) -> None:
    response = await client.get('/login?next=/"><script>alert(1)</script>')
    assert response.status_code == 200
    assert "<script>" not in response.text
    evil = await client.get("/login?next=//evil.example")
    assert "evil.example" not in evil.text


@pytest.mark.parametrize(
    ("email", "password", "status"),
    [
        ("ann@example.com\x00", PASSWORD, 422),
        ("ann@example.com\r\nBcc: x@evil.example", PASSWORD, 422),
        ("a" * 5000 + "@example.com", PASSWORD, 422),
        ("", PASSWORD, 422),
        ("ann@example.com", "", 422),
        ("ann@example.com", PASSWORD + "\x00", 401),
        ("ann@example.com", "p" * 5000, 401),
        ("\u202eann@example.com", PASSWORD, 401),
    ],
)
async def test_hostile_sign_in_fields_get_a_4xx_page(
    client: httpx.AsyncClient, runtime: Runtime, email: str, password: str, status: int
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    response = await post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == status, response.text
    assert_clean_page(response)
    assert "\x00" not in response.text
    assert "Bcc: x@evil" not in response.headers.get("location", "")
    assert alert_text(response)


async def test_hostile_second_factor_codes_get_a_4xx_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from kefu.auth.roles import Role

    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    for code in ("1" * 5000, "12\x0034", "<script>", "１２３４５６"):
        response = await post_form(
            client, "/login/enroll", {"action": "confirm", "code": code, "password": PASSWORD}
        )
        assert 400 <= response.status_code < 500, response.text
        assert "<script>" not in response.text


async def test_oversized_bodies_are_refused_with_a_413_page(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    big = {
        "csrf_token": csrf_cookie(client),
        "email": "a@example.com",
        "password": "x" * (MAX_FORM_BYTES + 1),
    }
    response = await client.post("/login", data=big, headers={"origin": BASE_URL})
    _assert_refused_page(response, 413)

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"password=" + b"x" * 1024 + b"&"

    streamed = await client.post(
        "/login",
        content=stream(),
        headers={"origin": BASE_URL, "content-type": "application/x-www-form-urlencoded"},
    )
    _assert_refused_page(streamed, 413)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"csrf_token=TOKEN&email=%ff%fe&password=x", "application/x-www-form-urlencoded", 400),
        (b"csrf_token=TOKEN&email=\xff&password=x", "application/x-www-form-urlencoded", 400),
        (b"csrf_token=TOKEN&email=a&email=b&password=x", "application/x-www-form-urlencoded", 400),
        (
            b"&".join([b"csrf_token=TOKEN"] + [b"f%d=1" % i for i in range(MAX_FORM_FIELDS)]),
            "application/x-www-form-urlencoded",
            400,
        ),
        (b'{"email": "a@example.com"}', "application/json", 415),
        (b"csrf_token=TOKEN&email=a", "text/plain", 415),
        (
            b"--x\r\nContent-Disposition: form-data; name=email\r\n\r\na\r\n--x--",
            "multipart/form-data; boundary=x",
            415,
        ),
    ],
)
async def test_malformed_form_posts_get_a_4xx_page(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    await client.get("/login")
    body = content.replace(b"TOKEN", csrf_cookie(client).encode())
    response = await client.post(
        "/login", content=body, headers={"origin": BASE_URL, "content-type": content_type}
    )
    _assert_refused_page(response, status)
