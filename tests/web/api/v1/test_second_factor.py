"""Second factor over HTTP: admins must enrol, codes are checked, counted, and never replayed."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from kefu.auth.models import Agent
from kefu.auth.roles import Role, Scope
from kefu.auth.totp import INTERVAL_SECONDS, code_for
from kefu.core.clock import FrozenClock
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent
from tests.web.api.v1.conftest import BrowserFactory, assert_error, signed_in_admin

ADMIN = "root@kefu.test"


async def _totp_secret_columns(db: Database) -> tuple[bytes | str | None, bytes | str | None]:
    async with db.sessionmaker() as session:
        agent = (await session.scalars(select(Agent).where(Agent.email == ADMIN))).one()
        return agent.totp_secret_encrypted, agent.totp_pending_secret_encrypted


async def test_admin_without_totp_must_enrol_before_using_the_api(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, ADMIN, role=Role.ADMIN)
    browser = await browsers()
    login = await browser.login(ADMIN)
    assert login.status_code == 200, login.text
    assert login.json()["state"] == "must_enroll_second_factor"
    assert login.json()["agent"]["second_factor_enabled"] is False
    # The half-signed-in cookie opens nothing but the enrolment routes.
    assert_error(await browser.http.get("/api/v1/conversations"), 401)
    assert_error(await browser.http.get("/api/v1/admin/audit"), 401)
    assert_error(await browser.http.get("/api/v1/agents"), 401)
    assert_error(await browser.http.get("/api/v1/auth/tokens"), 401)
    assert (await browser.http.get("/api/v1/auth/session")).json()["state"] == "must_enroll_second_factor"

    # Enrolment needs a CSRF token like any other state change.
    assert_error(await browser.http.post("/api/v1/auth/second-factor/enrollment"), 403)
    started = await browser.post("/api/v1/auth/second-factor/enrollment")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["provisioning_uri"].startswith("otpauth://totp/")
    url = "/api/v1/auth/second-factor/enrollment/confirm"
    code = code_for(secret, at=clock.now())
    assert_error(await browser.post(url, {"code": code, "password": "not the password 1"}), 401)
    assert_error(
        await browser.post(url, {"code": "000000" if code != "000000" else "111111", "password": PASSWORD}),
        422,
    )
    assert_error(await browser.http.get("/api/v1/conversations"), 401)

    confirmed = await browser.post(url, {"code": code, "password": PASSWORD})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "active"
    assert confirmed.json()["agent"]["second_factor_enabled"] is True
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200
    assert (await browser.http.get("/api/v1/admin/audit")).status_code == 200
    enabled, pending = await _totp_secret_columns(db)
    assert enabled is not None
    assert pending is None
    assert secret not in str(enabled)  # stored encrypted


async def test_enrolled_admin_needs_a_valid_fresh_code_at_every_sign_in(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, ADMIN, role=Role.ADMIN)
    enrolled = await signed_in_admin(browsers, clock, ADMIN)
    browser = await browsers(ip="198.51.100.77")
    login = await browser.login(ADMIN)
    assert login.json()["state"] == "needs_second_factor"
    assert login.json()["agent"]["second_factor_enabled"] is True
    assert_error(await browser.http.get("/api/v1/conversations"), 401)
    assert_error(await browser.http.get("/api/v1/admin/jobs"), 401)

    right = enrolled.code(clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert_error(await browser.post("/api/v1/auth/second-factor", {"code": wrong}), 401, "not_authenticated")
    assert_error(await browser.post("/api/v1/auth/second-factor", {"code": "abc"}), 401)
    assert_error(await browser.http.post("/api/v1/auth/second-factor", json={"code": right}), 403)  # no CSRF
    assert_error(await browser.http.get("/api/v1/conversations"), 401)

    verified = await browser.post("/api/v1/auth/second-factor", {"code": right})
    assert verified.status_code == 200, verified.text
    assert verified.json()["state"] == "active"
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200
    assert (await browser.http.get("/api/v1/auth/session")).json()["state"] == "active"

    # The same code, seen over a shoulder or in a proxy log, does not open another session.
    thief = await browsers(ip="203.0.113.13")
    assert (await thief.login(ADMIN)).json()["state"] == "needs_second_factor"
    assert_error(await thief.post("/api/v1/auth/second-factor", {"code": right}), 401)
    assert_error(await thief.http.get("/api/v1/conversations"), 401)
    # Neither does the previous step's code once a newer one was used.
    previous = code_for(enrolled.totp_secret or "", at=clock.now() - timedelta(seconds=INTERVAL_SECONDS))
    assert_error(await thief.post("/api/v1/auth/second-factor", {"code": previous}), 401)


async def test_wrong_codes_count_towards_the_account_lockout(
    browsers: BrowserFactory, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, ADMIN, role=Role.ADMIN)
    enrolled = await signed_in_admin(browsers, clock, ADMIN)
    attacker = await browsers(ip="203.0.113.5")
    assert (await attacker.login(ADMIN)).json()["state"] == "needs_second_factor"
    right = enrolled.code(clock)
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(settings.login_max_failures_per_account):
        assert_error(await attacker.post("/api/v1/auth/second-factor", {"code": wrong}), 401)
    # Locked: even the right code, and a fresh password sign-in, are refused.
    locked = await attacker.post("/api/v1/auth/second-factor", {"code": right})
    assert_error(locked, 429, "rate_limited")
    assert int(locked.headers["retry-after"]) > 0
    assert_error(await attacker.http.get("/api/v1/conversations"), 401)
    assert_error(await (await browsers()).login(ADMIN), 429)
    # Re-entering the known password does not reset the budget for guessing codes.
    clock.advance(timedelta(minutes=settings.login_lockout_minutes))
    again = await browsers(ip="203.0.113.5")
    for _ in range(settings.login_max_failures_per_account - 1):
        assert (await again.login(ADMIN)).json()["state"] == "needs_second_factor"
        assert_error(await again.post("/api/v1/auth/second-factor", {"code": wrong}), 401)
    assert_error(await again.post("/api/v1/auth/second-factor", {"code": wrong}), 401)
    assert_error(await again.post("/api/v1/auth/second-factor", {"code": enrolled.code(clock)}), 429)


async def test_half_signed_in_session_cannot_replace_the_second_factor(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, ADMIN, role=Role.ADMIN)
    await signed_in_admin(browsers, clock, ADMIN)
    before = await _totp_secret_columns(db)
    # Someone who knows only the password...
    thief = await browsers(ip="203.0.113.13")
    assert (await thief.login(ADMIN)).json()["state"] == "needs_second_factor"
    start = await thief.post("/api/v1/auth/second-factor/enrollment")
    assert_error(start, 403, "permission_denied")
    assert "secret" not in start.text
    confirm = await thief.post(
        "/api/v1/auth/second-factor/enrollment/confirm", {"code": "123456", "password": PASSWORD}
    )
    assert_error(confirm, 403, "permission_denied")
    assert await _totp_secret_columns(db) == before
    assert_error(await thief.http.get("/api/v1/conversations"), 401)
    # ...cannot mint an API token or change the password either.
    token = await thief.post(
        "/api/v1/auth/tokens",
        {"name": "x", "scopes": ["admin"], "current_password": PASSWORD},
    )
    assert_error(token, 401)
    password = await thief.post(
        "/api/v1/auth/password", {"current_password": PASSWORD, "new_password": "another long pass 9"}
    )
    assert_error(password, 401)


async def test_re_enrolment_from_an_active_session_signs_out_other_sessions(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, ADMIN, role=Role.ADMIN)
    first = await signed_in_admin(browsers, clock, ADMIN)
    second = await browsers(ip="198.51.100.88")
    await second.login(ADMIN)
    assert (await second.post("/api/v1/auth/second-factor", {"code": first.code(clock)})).status_code == 200
    clock.advance(timedelta(seconds=INTERVAL_SECONDS))
    renewed = await first.enroll(clock)
    assert renewed.status_code == 200, renewed.text
    assert (await first.http.get("/api/v1/conversations")).status_code == 200
    assert_error(await second.http.get("/api/v1/conversations"), 401)


async def test_admin_api_token_does_not_need_a_browser_second_factor(
    client: httpx.AsyncClient, db: Database
) -> None:
    # Operator-issued tokens are the exchange backend's credential; they reach admin routes directly.
    admin = await make_agent(db.sessionmaker, ADMIN, role=Role.ADMIN, scopes={Scope.ADMIN})
    assert (await client.get("/api/v1/admin/jobs", headers=admin.headers)).status_code == 200
