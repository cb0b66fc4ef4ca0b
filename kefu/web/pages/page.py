"""What every server-rendered page needs: the reader's language, a CSRF token, and response rules.

Pages are never cached (`no-store`), always carry the reader's language, and every form post is
checked for same origin and the double-submit CSRF token before anything else happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.sessions import SessionState, get_session_state
from kefu.core.errors import PermissionDenied
from kefu.i18n import (
    LOCALE_COOKIE,
    SUPPORTED_LOCALES,
    Translator,
    get_translator,
    negotiate_locale,
    normalise_locale,
)
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.web.api.v1.auth import BrowserSession
from kefu.web.cookies import new_csrf_token, set_anonymous_csrf_cookie, set_locale_cookie, usable_csrf_token
from kefu.web.deps import (
    SettingsDep,
    check_csrf_token,
    check_same_origin,
    csrf_cookie_name,
    session_cookie_name,
)
from kefu.web.pages.forms import CSRF_FIELD, PageError, PageErrorReason, read_form, safe_next, with_next
from kefu.web.templating import render_template

DEFAULT_AFTER_SIGN_IN: Final = "/console"
LOGIN_PATH: Final = "/login"
SECOND_FACTOR_PATH: Final = "/login/second-factor"
ENROLL_PATH: Final = "/login/enroll"
# Each language is named in itself, so a reader who cannot read the current page still finds theirs.
LANGUAGE_NAMES: Final = {"en": "English", "zh-CN": "简体中文"}
PAGE_HEADERS: Final = {"cache-control": "no-store"}


@dataclass(frozen=True)
class LanguageLink:
    locale: str
    label: str
    url: str
    current: bool


class Page:
    """One page request: language (explicit ?lang= > cookie > Accept-Language) and CSRF token."""

    def __init__(self, request: Request, settings: Settings) -> None:
        self.request = request
        self.settings = settings
        # The page the language links reload; error pages point them at the sign-in page instead.
        self.here = request.url.path
        explicit = normalise_locale(request.query_params.get("lang"))
        remembered = normalise_locale(request.cookies.get(LOCALE_COOKIE))
        self.locale = negotiate_locale(
            explicit=explicit, cookie=remembered, accept_language=request.headers.get("accept-language")
        )
        self.t: Translator = get_translator(self.locale)
        self._remember_locale = explicit is not None and explicit != remembered
        self._csrf_token = usable_csrf_token(request.cookies.get(csrf_cookie_name(settings)))
        self._issue_csrf_cookie = False

    @property
    def csrf_token(self) -> str:
        """The token for a form's hidden field; a browser without one gets a new cookie with the page."""
        if self._csrf_token is None:
            self._csrf_token = new_csrf_token()
            self._issue_csrf_cookie = True
        return self._csrf_token

    @property
    def language_links(self) -> list[LanguageLink]:
        """Links that switch the language of this page, keeping a safe `next` target."""
        next_url = safe_next(self.request.query_params.get("next"))
        links = []
        for locale in SUPPORTED_LOCALES:
            query = {"lang": locale} | ({"next": next_url} if next_url else {})
            url = f"{self.here}?{urlencode(query)}"
            links.append(LanguageLink(locale, LANGUAGE_NAMES[locale], url, locale == self.locale))
        return links

    def _finish(self, response: Response) -> Response:
        response.headers.update(PAGE_HEADERS)
        response.headers["content-language"] = self.locale
        if self._issue_csrf_cookie and self._csrf_token is not None:
            set_anonymous_csrf_cookie(response, self.settings, self._csrf_token)
        if self._remember_locale:
            set_locale_cookie(response, self.settings, self.locale)
        return response

    def render(
        self, template: str, /, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> Response:
        """An HTML page in the reader's language."""
        html = render_template(template, locale=self.locale, page=self, **context)
        return self._finish(HTMLResponse(html, status_code=status, headers=headers))

    def redirect(self, url: str) -> Response:
        """See other (303): after a post the browser fetches `url` with GET."""
        return self._finish(RedirectResponse(url, status_code=303))

    async def read_checked_form(self) -> dict[str, str]:
        """The posted fields, after the same-origin and CSRF checks; raises PageError otherwise."""
        try:
            check_same_origin(self.request, self.settings)
        except PermissionDenied as exc:
            raise PageError(403, PageErrorReason.CSRF) from exc
        fields = await read_form(self.request)
        try:
            check_csrf_token(self.request, self.settings, fields.get(CSRF_FIELD))
        except PermissionDenied as exc:
            raise PageError(403, PageErrorReason.CSRF) from exc
        return fields

    def wait_message(self, retry_after_seconds: int) -> str:
        """The lockout message with the wait in whole minutes (rounded up)."""
        minutes = max(1, -(-retry_after_seconds // 60))
        return self.t.ngettext(
            "Too many failed attempts. Try again in %(num)d minute.",
            "Too many failed attempts. Try again in %(num)d minutes.",
            minutes,
        )


async def get_page(request: Request, settings: SettingsDep) -> Page:
    """The page context of this request."""
    return Page(request, settings)


PageDep = Annotated[Page, Depends(get_page)]


async def read_browser_session(
    request: Request, session: AsyncSession, settings: Settings
) -> BrowserSession | None:
    """The browser's session in any usable state (including half-signed-in), or None. Reads only."""
    token = request.cookies.get(session_cookie_name(settings))
    if not token:
        return None
    status = await get_session_state(session, token)
    return None if status.state == SessionState.INVALID else BrowserSession(token, status)


def state_of(browser: BrowserSession | None) -> SessionState:
    """The sign-in state of a browser (INVALID without a usable session)."""
    return browser.status.state if browser is not None else SessionState.INVALID


def destination(state: SessionState, next_url: str | None) -> str:
    """Where a browser in this sign-in state belongs; `next_url` must already be safe."""
    if state == SessionState.ACTIVE:
        return next_url or DEFAULT_AFTER_SIGN_IN
    if state == SessionState.NEEDS_SECOND_FACTOR:
        return with_next(SECOND_FACTOR_PATH, next_url)
    if state == SessionState.MUST_ENROLL_SECOND_FACTOR:
        return with_next(ENROLL_PATH, next_url)
    return with_next(LOGIN_PATH, next_url)


def _error_text(t: Translator, reason: PageErrorReason) -> tuple[str, str]:
    if reason == PageErrorReason.CSRF:
        return t.gettext("This form has expired"), t.gettext(
            "The form was sent without a valid security token, or from another site. "
            "Go back, reload the page and try again."
        )
    if reason == PageErrorReason.TOO_LARGE:
        return t.gettext("Too much data"), t.gettext("The form sent more data than this page accepts.")
    if reason == PageErrorReason.UNSUPPORTED:
        return t.gettext("Unsupported request"), t.gettext("This page only accepts its own forms.")
    return t.gettext("Bad request"), t.gettext("The form could not be read. Reload the page and try again.")


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    runtime: Runtime = request.app.state.runtime
    page = Page(request, runtime.settings)
    page.here = LOGIN_PATH
    title, message = _error_text(page.t, exc.reason)
    return page.render("error.html", status=exc.status, title=title, message=message)


def install_page_errors(app: FastAPI) -> None:
    """Render PageError as an HTML error page (after the request's transaction rolled back)."""
    app.add_exception_handler(PageError, _page_error)
