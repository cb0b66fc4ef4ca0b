"""Browser-session helpers for the auth, admin and customer API tests: a frozen clock and browsers.

A `Browser` is an HTTP client with its own cookie jar and client address, speaking to the same app
as the `client` fixture, so one test can hold several sessions (and addresses) at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kefu.auth.totp import INTERVAL_SECONDS, code_for
from kefu.core.clock import FrozenClock, set_clock
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import PASSWORD

BASE_URL = "http://kefu.test"
FOREIGN_ORIGIN = "https://evil.example"
# A whole 30-second step, so the next TOTP code is never the one already used.
START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Time that only moves when a test says so (restored afterwards)."""
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    from kefu.web.app import create_app

    return create_app(runtime=runtime, start_worker=False)


@dataclass
class Browser:
    """One browser: a cookie jar, the CSRF token the last sign-in returned, a client address."""

    http: httpx.AsyncClient
    csrf: str | None = None
    totp_secret: str | None = field(default=None, repr=False)

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("kefu_session")

    def unsafe_headers(self, **extra: str) -> dict[str, str]:
        """What our own console sends with a state change: the CSRF token and our Origin."""
        headers = {"origin": BASE_URL}
        if self.csrf is not None:
            headers["x-csrf-token"] = self.csrf
        return headers | extra

    async def login(self, email: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
        response = await self.http.post(
            "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
        )
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    async def post(self, url: str, json: Any = None) -> httpx.Response:
        return await self.http.post(url, json=json, headers=self.unsafe_headers())

    async def enroll(self, clock: FrozenClock, password: str = PASSWORD) -> httpx.Response:
        """Start and confirm TOTP enrolment in this session (asserts the start worked)."""
        started = await self.post("/api/v1/auth/second-factor/enrollment")
        assert started.status_code == 200, started.text
        self.totp_secret = started.json()["secret"]
        return await self.post(
            "/api/v1/auth/second-factor/enrollment/confirm",
            {"code": self.code(clock), "password": password},
        )

    def code(self, clock: FrozenClock) -> str:
        assert self.totp_secret is not None
        return code_for(self.totp_secret, at=clock.now())


BrowserFactory = Callable[..., Awaitable[Browser]]


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[BrowserFactory]:
    """`await browsers(ip="203.0.113.9")` opens another browser on the same app."""
    opened: list[httpx.AsyncClient] = []

    async def open_browser(ip: str = "198.51.100.1") -> Browser:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        opened.append(http)
        return Browser(http)

    yield open_browser
    for http in opened:
        await http.aclose()


async def signed_in_admin(
    browsers: BrowserFactory, clock: FrozenClock, email: str, *, ip: str = "198.51.100.1"
) -> Browser:
    """A browser where the (already created) admin signed in and enrolled TOTP: state active."""
    browser = await browsers(ip=ip)
    assert (await browser.login(email)).json()["state"] == "must_enroll_second_factor"
    confirmed = await browser.enroll(clock)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "active"
    # The code just used cannot be used again; later sign-ins need the next time step.
    clock.advance(timedelta(seconds=INTERVAL_SECONDS))
    return browser


async def count_rows(db: Database, model: type[Any]) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API's error shape with `status` (and `code`, if given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code, body
    return error
