"""The session id changes whenever privilege does: at password sign-in and again at the second factor."""

from __future__ import annotations

from datetime import timedelta

from kefu.auth.roles import Role
from kefu.auth.totp import INTERVAL_SECONDS
from kefu.core.clock import FrozenClock
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.api.v1.conftest import BrowserFactory, signed_in_admin


async def test_second_factor_rotates_the_session_and_kills_the_half_signed_in_id(
    db: Database, browsers: BrowserFactory, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN)
    enrolled = await signed_in_admin(browsers, clock, "root@kefu.test")
    clock.advance(timedelta(seconds=INTERVAL_SECONDS))

    browser = await browsers()
    assert (await browser.login("root@kefu.test")).json()["state"] == "needs_second_factor"
    half = browser.session_cookie
    assert half is not None
    enrolled_secret = enrolled.totp_secret
    browser.totp_secret = enrolled_secret
    verified = await browser.post("/api/v1/auth/second-factor", {"code": browser.code(clock)})
    assert verified.status_code == 200, verified.text
    full = browser.session_cookie
    assert full is not None
    assert full != half
    browser.csrf = verified.json()["csrf_token"]
    assert (await browser.http.get("/api/v1/auth/session")).json()["state"] == "active"

    # Someone holding the pre-2FA cookie gets nothing.
    thief = await browsers(ip="203.0.113.7")
    thief.http.cookies.set("kefu_session", half)
    assert (await thief.http.get("/api/v1/conversations")).status_code == 401
    assert (await thief.http.get("/api/v1/auth/session")).status_code == 401
