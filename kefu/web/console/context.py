"""What every console page needs: a fully signed-in agent, their language, and the page helpers.

Console pages only read. Every change (replies, notes, status, assignment, bulk actions) goes through
the JSON API with the session cookie and the CSRF header, so the console and scripts share one set of
tested write paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.sessions import SessionState, resolve_session
from kefu.core.errors import NotFound
from kefu.routing.service import get_presence
from kefu.runtime import Runtime
from kefu.web.deps import DbSession
from kefu.web.pages.page import Page, PageDep, destination, read_browser_session, state_of


class SignInRequired(Exception):
    """The browser has no fully signed-in session: send it to the step it has not finished."""

    def __init__(self, state: SessionState, next_url: str) -> None:
        super().__init__(next_url)
        self.state = state
        self.next_url = next_url


@dataclass
class Console:
    """One console request: the page (language, CSRF) and the signed-in agent."""

    page: Page
    actor: AgentActor
    agent: Agent
    presence: str = "online"

    def render(self, template: str, /, **context: Any) -> Response:
        """A console page (or fragment) in the agent's language."""
        return self.page.render(template, console=self, **context)


async def get_console(page: PageDep, session: DbSession) -> Console:
    """The signed-in agent, or SignInRequired (answered with a redirect to sign-in)."""
    request = page.request
    browser = await read_browser_session(request, session, page.settings)
    state = state_of(browser)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if browser is None or state != SessionState.ACTIVE:
        raise SignInRequired(state, here)
    actor = await resolve_session(session, browser.token, settings=page.settings)
    if actor is None:
        raise SignInRequired(SessionState.INVALID, here)
    return Console(page, actor, browser.agent, str(await get_presence(session, actor.agent_id)))


ConsoleDep = Annotated[Console, Depends(get_console)]


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    runtime: Runtime = request.app.state.runtime
    page = Page(request, runtime.settings)
    # Fragments fetched by htmx cannot follow a redirect into a page: ask for a full reload.
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"hx-redirect": destination(exc.state, exc.next_url)})
    return page.redirect(destination(exc.state, exc.next_url))


async def _not_found(request: Request, exc: Exception) -> Response:
    runtime: Runtime = request.app.state.runtime
    page = Page(request, runtime.settings)
    title = page.t.gettext("Not found")
    if request.url.path.startswith("/console/conversations/"):
        message = page.t.gettext("This conversation does not exist or you cannot see it.")
    else:
        message = page.t.gettext("This page does not exist or you cannot use it.")
    return page.render("error.html", status=404, title=title, message=message)


class ConsoleNotFound(NotFound):
    """A console page for something missing or not the agent's to see (an HTML 404)."""


def install_console_errors(app: FastAPI) -> None:
    """Redirect signed-out browsers; render console 404s as pages."""
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(ConsoleNotFound, _not_found)
