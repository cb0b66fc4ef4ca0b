"""Agent sign-in pages: email and password, then the TOTP code; signing out."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.auth.login import check_login, do_verify_second_factor
from kefu.auth.models import MAX_EMAIL_LENGTH
from kefu.auth.sessions import SessionState, do_logout
from kefu.core.errors import NotAuthenticated, RateLimited
from kefu.db.uow import rollback
from kefu.web.cookies import clear_session_cookies, set_session_cookies
from kefu.web.deps import DbSession, client_ip, session_cookie_name
from kefu.web.pages.forms import has_controls, safe_next, shown_text
from kefu.web.pages.page import (
    LOGIN_PATH,
    SECOND_FACTOR_PATH,
    PageDep,
    destination,
    read_browser_session,
    state_of,
)

router = APIRouter()

# A TOTP code is six digits; leave room for spaces, and refuse anything bigger without a lookup.
MAX_CODE_LENGTH = 32


@router.get(LOGIN_PATH)
async def login_form(page: PageDep, session: DbSession) -> Response:
    """Public. The sign-in form; a browser that is already (half-)signed in is sent on its way."""
    next_url = safe_next(page.request.query_params.get("next"))
    browser = await read_browser_session(page.request, session, page.settings)
    if browser is not None:
        return page.redirect(destination(state_of(browser), next_url))
    return page.render("login.html", email="", next=next_url, error=None)


@router.post(LOGIN_PATH)
async def login_submit(page: PageDep, session: DbSession) -> Response:
    """Public. Check email and password; a new session (and CSRF token) on success."""
    fields = await page.read_checked_form()
    next_url = safe_next(fields.get("next"))
    email = fields.get("email", "")
    password = fields.get("password", "")
    shown = shown_text(email.strip(), MAX_EMAIL_LENGTH)

    def again(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
        return page.render(
            "login.html", status=status, headers=headers, email=shown, next=next_url, error=error
        )

    if not email.strip() or not password:
        return again(422, page.t.gettext("Enter your email address and password."))
    if len(email) > MAX_EMAIL_LENGTH or has_controls(email):
        return again(422, page.t.gettext("Enter a valid email address."))
    try:
        result = await check_login(
            session,
            email=email,
            password=password,
            ip=client_ip(page.request),
            user_agent=page.request.headers.get("user-agent"),
            settings=page.settings,
        )
    except RateLimited as exc:
        await rollback(session)
        return again(429, page.wait_message(exc.retry_after), {"retry-after": str(exc.retry_after)})
    except NotAuthenticated:
        await rollback(session)
        # One message for unknown emails, wrong passwords and disabled accounts alike.
        return again(401, page.t.gettext("Invalid email or password."))
    if result.needs_second_factor:
        state = SessionState.NEEDS_SECOND_FACTOR
    elif result.must_enroll_second_factor:
        state = SessionState.MUST_ENROLL_SECOND_FACTOR
    else:
        state = SessionState.ACTIVE
    response = page.redirect(destination(state, next_url))
    set_session_cookies(response, page.settings, result.session_token)
    return response


@router.get(SECOND_FACTOR_PATH)
async def second_factor_form(page: PageDep, session: DbSession) -> Response:
    """A half-signed-in browser enters its TOTP code; anyone else is sent where they belong."""
    next_url = safe_next(page.request.query_params.get("next"))
    browser = await read_browser_session(page.request, session, page.settings)
    if state_of(browser) != SessionState.NEEDS_SECOND_FACTOR:
        return page.redirect(destination(state_of(browser), next_url))
    return page.render("second_factor.html", next=next_url, error=None)


@router.post(SECOND_FACTOR_PATH)
async def second_factor_submit(page: PageDep, session: DbSession) -> Response:
    """Check the TOTP code of a half-signed-in session; failures count towards the lockout."""
    fields = await page.read_checked_form()
    next_url = safe_next(fields.get("next"))
    browser = await read_browser_session(page.request, session, page.settings)
    if browser is None or browser.status.state != SessionState.NEEDS_SECOND_FACTOR:
        return page.redirect(destination(state_of(browser), next_url))

    def again(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
        return page.render("second_factor.html", status=status, headers=headers, next=next_url, error=error)

    code = fields.get("code", "").strip()
    if not code or len(code) > MAX_CODE_LENGTH:
        return again(422, page.t.gettext("Enter the 6-digit code from your authenticator app."))
    try:
        _row, token = await do_verify_second_factor(
            session, session_token=browser.token, code=code, settings=page.settings
        )
    except RateLimited as exc:
        await rollback(session)
        return again(429, page.wait_message(exc.retry_after), {"retry-after": str(exc.retry_after)})
    except NotAuthenticated:
        await rollback(session)
        return again(401, page.t.gettext("That code is not valid or has expired."))
    # The session id changes with the privilege: the half-signed-in one was revoked.
    response = page.redirect(destination(SessionState.ACTIVE, next_url))
    set_session_cookies(response, page.settings, token)
    return response


@router.post("/logout")
async def logout(page: PageDep, session: DbSession) -> Response:
    """End this browser's session (any state) and clear its cookies."""
    await page.read_checked_form()
    token = page.request.cookies.get(session_cookie_name(page.settings))
    if token:
        await do_logout(session, token)
    response = page.redirect(LOGIN_PATH)
    clear_session_cookies(response, page.settings)
    return response
