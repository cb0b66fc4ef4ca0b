"""The sign-in pages through their forms: password, second factor, enrolment, account, sign-out."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.auth.totp import code_for
from kefu.core.clock import FrozenClock
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent
from tests.web.pages.conftest import (
    alert_text,
    assert_clean_page,
    next_code,
    post_form,
    setup_secret,
    sign_in,
)


async def _totp_state(db: Database, email: str) -> tuple[bool, bool]:
    """(has an active factor, has a pending enrolment) of an agent."""
    async with db.sessionmaker() as session:
        agent = (await session.scalars(select(Agent).where(Agent.email == email))).one()
        return agent.totp_enabled, agent.totp_pending_secret_encrypted is not None


async def _enroll(client: httpx.AsyncClient, clock: FrozenClock) -> str:
    """From the enrolment page: start, read the key, confirm. Returns the TOTP secret."""
    intro = await client.get("/login/enroll")
    assert intro.status_code == 200
    assert_clean_page(intro)
    started = await post_form(client, "/login/enroll", {"action": "start"})
    assert started.status_code == 200, started.text
    assert_clean_page(started)
    assert 'src="data:image/svg+xml' in started.text
    secret = setup_secret(started)
    confirmed = await post_form(
        client,
        "/login/enroll",
        {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD},
    )
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"] == "/console"
    return secret


async def test_agent_without_second_factor_signs_in_sees_account_and_signs_out(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    form = await client.get("/login")
    assert form.status_code == 200
    assert_clean_page(form)
    assert 'name="csrf_token"' in form.text
    assert '<label for="email">' in form.text
    assert '<label for="password">' in form.text
    anonymous_csrf = client.cookies["kefu_csrf"]

    signed_in = await post_form(client, "/login", {"email": "Ann@Example.com", "password": PASSWORD})
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console"
    assert signed_in.headers["cache-control"] == "no-store"
    session_cookie = next(
        h for h in signed_in.headers.get_list("set-cookie") if h.startswith("kefu_session=")
    )
    assert "httponly" in session_cookie.lower()
    assert "samesite=lax" in session_cookie.lower()
    assert client.cookies["kefu_csrf"] != anonymous_csrf  # a new token with the new session

    account = await client.get("/account")
    assert account.status_code == 200
    assert_clean_page(account)
    assert "ann@example.com" in account.text
    assert "Off" in account.text
    assert 'action="/logout"' in account.text

    again = await client.get("/login")
    assert again.status_code == 303
    assert again.headers["location"] == "/console"

    old_session = client.cookies["kefu_session"]
    signed_out = await post_form(client, "/logout", {})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login"
    assert "kefu_session" not in client.cookies
    after = await client.get("/account")
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=%2Faccount"
    client.cookies.set("kefu_session", old_session, domain="kefu.test")
    replayed = await client.get("/account")
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/login")


async def test_each_sign_in_gets_a_new_session(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await sign_in(client, "ann@example.com")
    first = client.cookies["kefu_session"]
    client.cookies.delete("kefu_session")
    await sign_in(client, "ann@example.com")
    assert client.cookies["kefu_session"] != first


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await client.get("/login")
    wrong = await post_form(client, "/login", {"email": "ann@example.com", "password": "not it at all"})
    unknown = await post_form(client, "/login", {"email": "nobody@example.com", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert alert_text(wrong) == alert_text(unknown) == "Invalid email or password."
    assert 'value="nobody@example.com"' in unknown.text
    assert 'aria-invalid="true"' in wrong.text
    assert "kefu_session" not in client.cookies
    assert_clean_page(wrong)


async def test_lockout_shows_the_wait_in_both_languages(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await client.get("/login")
    limit = runtime.settings.login_max_failures_per_account
    for _ in range(limit):
        failed = await post_form(
            client, "/login", {"email": "ann@example.com", "password": "wrong password!"}
        )
        assert failed.status_code == 401
    locked = await post_form(client, "/login", {"email": "ann@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    minutes = runtime.settings.login_lockout_minutes
    assert alert_text(locked) == f"Too many failed attempts. Try again in {minutes} minutes."
    assert 0 < int(locked.headers["retry-after"]) <= minutes * 60
    assert_clean_page(locked)
    chinese = await post_form(
        client, "/login", {"email": "ann@example.com", "password": PASSWORD}, **{"accept-language": "zh-CN"}
    )
    assert chinese.status_code == 429
    assert alert_text(chinese) == f"失败次数过多。请在 {minutes} 分钟后重试。"


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account?tab=security#top", "/account?tab=security#top"),
        ("/login/enroll", "/login/enroll"),
        ("//evil.example/", "/console"),
        ("/\\evil.example", "/console"),
        ("https:evil.example", "/console"),
        ("javascript:alert(1)", "/console"),
        ("https://evil.example/", "/console"),
        ("http://kefu.test/account", "/console"),
        ("/\t/evil.example", "/console"),
        ("/account\r\nSet-Cookie: stolen=1", "/console"),
        (" /account", "/console"),
        ("/账户", "/console"),
        ("/" + "a" * 5000, "/console"),
        ("", "/console"),
    ],
)
async def test_next_is_followed_only_to_local_paths(
    client: httpx.AsyncClient, runtime: Runtime, next_url: str, expected: str
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await client.get("/login")
    response = await post_form(
        client, "/login", {"email": "ann@example.com", "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 303
    assert response.headers["location"] == expected
    assert "set-cookie: stolen" not in str(response.headers).lower()


async def test_next_survives_the_second_factor_step(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    secret = await _enroll(client, clock)
    await post_form(client, "/logout", {})

    await client.get("/login?next=/account%3Fx%3D1")
    signed = await post_form(
        client, "/login", {"email": "root@example.com", "password": PASSWORD, "next": "/account?x=1"}
    )
    assert signed.status_code == 303
    location = urlsplit(signed.headers["location"])
    assert location.path == "/login/second-factor"
    assert parse_qs(location.query) == {"next": ["/account?x=1"]}
    page = await client.get(signed.headers["location"])
    assert page.status_code == 200
    assert 'name="next" value="/account?x=1"' in page.text
    done = await post_form(
        client, "/login/second-factor", {"code": next_code(secret, clock), "next": "/account?x=1"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/account?x=1"


async def test_admin_must_enroll_then_signs_in_with_a_code(
    client: httpx.AsyncClient, runtime: Runtime, db: Database, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    signed = await sign_in(client, "root@example.com")
    assert signed.headers["location"] == "/login/enroll"
    blocked = await client.get("/account")
    assert blocked.status_code == 303
    assert blocked.headers["location"].startswith("/login/enroll")
    intro = await client.get("/login/enroll")
    assert "Your role needs a second factor" in intro.text

    secret = await _enroll(client, clock)
    assert await _totp_state(db, "root@example.com") == (True, False)
    account = await client.get("/account")
    assert account.status_code == 200
    assert "Administrator" in account.text
    assert "Replace your authenticator" in account.text

    await post_form(client, "/logout", {})
    signed = await sign_in(client, "root@example.com")
    assert signed.headers["location"] == "/login/second-factor"
    for half_signed_in_page in ("/account", "/login", "/login/enroll"):
        bounced = await client.get(half_signed_in_page)
        assert bounced.status_code == 303
        assert bounced.headers["location"].startswith("/login/second-factor")

    form = await client.get("/login/second-factor")
    assert form.status_code == 200
    assert_clean_page(form)
    assert 'autocomplete="one-time-code"' in form.text
    wrong = await post_form(client, "/login/second-factor", {"code": "000000"})
    assert wrong.status_code == 401
    assert alert_text(wrong) == "That code is not valid or has expired."
    empty = await post_form(client, "/login/second-factor", {"code": "   "})
    assert empty.status_code == 422
    verified = await post_form(client, "/login/second-factor", {"code": next_code(secret, clock)})
    assert verified.status_code == 303
    assert verified.headers["location"] == "/console"
    assert (await client.get("/account")).status_code == 200
    already = await client.get("/login/second-factor")
    assert already.status_code == 303
    assert already.headers["location"] == "/console"


async def test_a_half_signed_in_session_cannot_start_an_enrolment(
    client: httpx.AsyncClient, runtime: Runtime, db: Database, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    await _enroll(client, clock)
    await post_form(client, "/logout", {})
    await sign_in(client, "root@example.com")  # password only: the code is still missing

    start = await post_form(client, "/login/enroll", {"action": "start"})
    assert start.status_code == 303
    assert start.headers["location"] == "/login/second-factor"
    confirm = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": "123456", "password": PASSWORD}
    )
    assert confirm.status_code == 303
    assert confirm.headers["location"] == "/login/second-factor"
    assert await _totp_state(db, "root@example.com") == (True, False)


async def test_second_factor_failures_lock_the_account(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    secret = await _enroll(client, clock)
    await post_form(client, "/logout", {})
    await sign_in(client, "root@example.com")
    for _ in range(runtime.settings.login_max_failures_per_account):
        assert (await post_form(client, "/login/second-factor", {"code": "000000"})).status_code == 401
    locked = await post_form(client, "/login/second-factor", {"code": next_code(secret, clock)})
    assert locked.status_code == 429
    assert "Try again in" in alert_text(locked)
    assert "retry-after" in locked.headers


async def test_enrolment_confirmation_errors_are_shown_in_the_page(
    client: httpx.AsyncClient, runtime: Runtime, db: Database, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await sign_in(client, "ann@example.com")
    no_setup = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": "123456", "password": PASSWORD}
    )
    assert no_setup.status_code == 409
    assert "Start again" in no_setup.text

    started = await post_form(client, "/login/enroll", {"action": "start"})
    secret = setup_secret(started)
    assert await _totp_state(db, "ann@example.com") == (False, True)
    wrong_password = await post_form(
        client,
        "/login/enroll",
        {"action": "confirm", "code": next_code(secret, clock), "password": "nope nope"},
    )
    assert wrong_password.status_code == 401
    assert alert_text(wrong_password) == "Your password is incorrect."
    wrong_code = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": "000000", "password": PASSWORD}
    )
    assert wrong_code.status_code == 422
    assert alert_text(wrong_code).startswith("That code is not valid.")
    assert_clean_page(wrong_code)
    missing = await post_form(client, "/login/enroll", {"action": "confirm", "code": "", "password": ""})
    assert missing.status_code == 422
    unknown_action = await post_form(client, "/login/enroll", {"action": "explode"})
    assert unknown_action.status_code == 400
    assert await _totp_state(db, "ann@example.com") == (False, True)

    ok = await post_form(
        client,
        "/login/enroll",
        {"action": "confirm", "code": code_for(secret, at=clock.now()), "password": PASSWORD},
    )
    assert ok.status_code == 303
    assert await _totp_state(db, "ann@example.com") == (True, False)
    assert "On" in (await client.get("/account")).text


async def test_pages_send_visitors_without_a_session_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/account", "/login/second-factor", "/login/enroll"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    client.cookies.set("kefu_session", "forged-or-expired", domain="kefu.test")
    assert (await client.get("/login")).status_code == 200
    signed_out = await post_form(client, "/logout", {})
    assert signed_out.status_code == 303
