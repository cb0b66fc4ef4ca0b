"""Helpers for the server-rendered pages: a frozen clock, form posts as a browser sends them, checks.

`post_form` behaves like our own pages in a browser: it sends the CSRF cookie's value in the hidden
field and our Origin. Tests that probe the CSRF defences build their requests by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import httpx
import pytest

from kefu.auth.totp import INTERVAL_SECONDS, code_for
from kefu.core.clock import FrozenClock, set_clock
from tests.factories import PASSWORD

BASE_URL = "http://kefu.test"
FOREIGN_ORIGIN = "https://evil.example"
START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
MAX_PAGE_BYTES = 150 * 1024
_SECRET_RE = re.compile(r'<code class="secret" translate="no">([A-Z2-7 ]+)</code>')
_ALERT_RE = re.compile(r'<p class="alert" role="alert" id="form-error">(.*?)</p>', re.S)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Time that only moves when a test says so, so TOTP codes are predictable."""
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


def next_code(secret: str, clock: FrozenClock) -> str:
    """Move to the next 30-second step (a used step is never accepted twice) and return its code."""
    clock.advance(timedelta(seconds=INTERVAL_SECONDS))
    return code_for(secret, at=clock.now())


def csrf_cookie(client: httpx.AsyncClient) -> str:
    """The double-submit token our pages put into their forms."""
    token = client.cookies.get("kefu_csrf")
    assert token, "GET a page first: it issues the CSRF cookie"
    return token


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict[str, str], **headers: str
) -> httpx.Response:
    """POST a form the way our own page would (token in the hidden field, our Origin)."""
    if "kefu_csrf" not in client.cookies:
        await client.get("/login")
    fields = {"csrf_token": csrf_cookie(client)} | data
    return await client.post(url, data=fields, headers={"origin": BASE_URL} | headers)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Fill in the sign-in form (asserts it answered with a redirect)."""
    await client.get("/login")
    response = await post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    return response


def setup_secret(page: httpx.Response) -> str:
    """The TOTP key shown on the enrolment page."""
    match = _SECRET_RE.search(page.text)
    assert match, page.text
    return match.group(1).replace(" ", "")


def alert_text(page: httpx.Response) -> str:
    """The form's error message as the reader sees it."""
    match = _ALERT_RE.search(page.text)
    assert match, page.text
    return unescape(match.group(1)).strip()


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def assert_clean_page(response: httpx.Response) -> None:
    """Every page: HTML, not cached, small, no inline script or style, nothing from another origin."""
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert len(response.content) < MAX_PAGE_BYTES
    parser = _Tags()
    parser.feed(response.text)
    parser.close()
    assert parser.tags, "not an HTML page"
    for tag, attrs in parser.tags:
        assert tag not in ("script", "style", "iframe", "object", "embed", "base"), tag
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], f"inline event handler on <{tag}>"
        for name in ("src", "href", "action", "formaction"):
            if name not in attrs:
                continue
            url = attrs[name].strip()
            if tag == "img" and name == "src" and url.startswith("data:image/svg+xml"):
                continue  # the enrolment QR code; CSP allows data: images
            local = url.startswith("/") and not url.startswith(("//", "/\\"))
            assert local or url.startswith("#"), (tag, url)
