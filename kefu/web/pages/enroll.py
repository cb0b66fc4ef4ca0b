"""Setting up a TOTP second factor: show a new key (text and QR code), then confirm it.

Starting an enrolment writes a pending secret, so it is a POST like every other state change.
Only fully signed-in agents and agents who must enrol may start one: a half-signed-in session
(password but no code yet) is sent to the code page, so a stolen password cannot replace a factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import segno
from fastapi import APIRouter
from fastapi.responses import Response

from kefu.auth.mfa import do_confirm_totp, do_enroll_totp
from kefu.auth.passwords import MAX_PASSWORD_LENGTH
from kefu.auth.sessions import SessionState
from kefu.core.errors import InvalidInput, NotAuthenticated, RateLimited
from kefu.db.uow import rollback
from kefu.web.api.v1.auth import BrowserSession
from kefu.web.deps import DbSession, client_ip
from kefu.web.pages.forms import PageError, PageErrorReason, safe_next
from kefu.web.pages.login import MAX_CODE_LENGTH
from kefu.web.pages.page import ENROLL_PATH, Page, PageDep, destination, read_browser_session, state_of

router = APIRouter()

ENROLLABLE_STATES: Final = frozenset({SessionState.ACTIVE, SessionState.MUST_ENROLL_SECOND_FACTOR})
_KEY_GROUP: Final = 4


@dataclass(frozen=True)
class SetupKey:
    """What the agent copies into an authenticator app: the key (grouped for reading) and a QR code."""

    grouped_secret: str
    qr_data_uri: str


def setup_key(secret: str, provisioning_uri: str) -> SetupKey:
    """The key as text and as a QR code image (an SVG data: URI: no script can run inside an <img>)."""
    groups = [secret[i : i + _KEY_GROUP] for i in range(0, len(secret), _KEY_GROUP)]
    qr = segno.make(provisioning_uri, error="m")
    return SetupKey(" ".join(groups), qr.svg_data_uri(scale=5, border=2))


@dataclass(frozen=True)
class _Enroller:
    """What the page shows about the agent, read before any rollback expires the ORM objects."""

    required: bool
    replacing: bool

    @classmethod
    def of(cls, browser: BrowserSession) -> _Enroller:
        required = browser.status.state == SessionState.MUST_ENROLL_SECOND_FACTOR
        return cls(required=required, replacing=browser.agent.totp_enabled)


def _render(
    page: Page,
    enroller: _Enroller,
    *,
    next_url: str | None,
    key: SetupKey | None = None,
    confirming: bool = False,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return page.render(
        "enroll.html",
        status=status,
        headers=headers,
        next=next_url,
        key=key,
        confirming=confirming,
        error=error,
        required=enroller.required,
        replacing=enroller.replacing,
    )


@router.get(ENROLL_PATH)
async def enroll_form(page: PageDep, session: DbSession) -> Response:
    """Explain the set-up and offer to start it."""
    next_url = safe_next(page.request.query_params.get("next"))
    browser = await read_browser_session(page.request, session, page.settings)
    if browser is None or browser.status.state not in ENROLLABLE_STATES:
        return page.redirect(destination(state_of(browser), next_url))
    return _render(page, _Enroller.of(browser), next_url=next_url)


@router.post(ENROLL_PATH)
async def enroll_submit(page: PageDep, session: DbSession) -> Response:
    """`action=start` shows a new key; `action=confirm` enables it with a code and the password."""
    fields = await page.read_checked_form()
    next_url = safe_next(fields.get("next"))
    browser = await read_browser_session(page.request, session, page.settings)
    if browser is None or browser.status.state not in ENROLLABLE_STATES:
        return page.redirect(destination(state_of(browser), next_url))
    enroller = _Enroller.of(browser)
    agent_id, session_id = browser.agent.id, browser.session_id
    action = fields.get("action")
    if action == "start":
        enrollment = await do_enroll_totp(session, agent_id=agent_id, settings=page.settings)
        key = setup_key(enrollment.secret, enrollment.provisioning_uri)
        return _render(page, enroller, next_url=next_url, key=key, confirming=True)
    if action != "confirm":
        raise PageError(400, PageErrorReason.MALFORMED)

    def again(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
        return _render(
            page, enroller, next_url=next_url, confirming=True, error=error, status=status, headers=headers
        )

    code = fields.get("code", "").strip()
    password = fields.get("password", "")
    if not code or not password or len(code) > MAX_CODE_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        return again(422, page.t.gettext("Enter the 6-digit code and your password."))
    try:
        await do_confirm_totp(
            session,
            agent_id=agent_id,
            code=code,
            password=password,
            settings=page.settings,
            keep_session_id=session_id,
            ip=client_ip(page.request),
        )
    except RateLimited as exc:
        await rollback(session)
        return again(429, page.wait_message(exc.retry_after), {"retry-after": str(exc.retry_after)})
    except NotAuthenticated:
        await rollback(session)
        return again(401, page.t.gettext("Your password is incorrect."))
    except InvalidInput as exc:
        await rollback(session)
        if exc.fields and exc.fields.get("code") == "no_enrollment":
            return again(409, page.t.gettext("This set-up has expired. Start again to get a new key."))
        return again(
            422, page.t.gettext("That code is not valid. Check that the time on your phone is correct.")
        )
    return page.redirect(destination(SessionState.ACTIVE, next_url))
