"""The signed-in agent's own page: who am I, is my second factor on, sign out."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.auth.roles import Role
from kefu.auth.sessions import SessionState
from kefu.i18n import Translator
from kefu.web.deps import DbSession
from kefu.web.pages.page import PageDep, destination, read_browser_session, state_of

router = APIRouter()

ACCOUNT_PATH: Final = "/account"


def role_label(t: Translator, role: Role) -> str:
    """The role as shown to people."""
    labels = {
        Role.AGENT: t.gettext("Agent"),
        Role.SUPERVISOR: t.gettext("Supervisor"),
        Role.ADMIN: t.gettext("Administrator"),
        Role.KYC_REVIEWER: t.gettext("KYC reviewer"),
    }
    return labels[role]


@router.get(ACCOUNT_PATH)
async def account(page: PageDep, session: DbSession) -> Response:
    """Fully signed-in agents only; others are sent to the step they have not finished."""
    browser = await read_browser_session(page.request, session, page.settings)
    if browser is None or browser.status.state != SessionState.ACTIVE:
        return page.redirect(destination(state_of(browser), ACCOUNT_PATH))
    agent = browser.agent
    return page.render(
        "account.html",
        name=agent.name,
        email=agent.email,
        role=role_label(page.t, agent.role),
        second_factor=agent.totp_enabled,
    )
