"""What every help-center page needs: the locale from the URL, the incident banner, response rules.

Help-center pages are public and the same for every reader of a locale, so they may be cached briefly
by browsers and proxies: they never set cookies and carry nothing personal. A page with per-reader
content (forms with a CSRF token, "My requests") renders with `public=False` and is not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from kefu.i18n import LOCALE_COOKIE, Translator, get_translator, negotiate_locale, normalise_locale
from kefu.incidents.service import Banner, get_banner
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.web.deps import DbSession, SettingsDep, csrf_cookie_name
from kefu.web.pages.page import LANGUAGE_NAMES, LanguageLink
from kefu.web.templating import render_template

HC_LOCALES: Final = ("en", "zh-CN")
HC_PREFIX: Final = "/hc"
# Short enough that a published fix or a new banner shows within a minute.
PUBLIC_CACHE_CONTROL: Final = "public, max-age=60"
PRIVATE_CACHE_CONTROL: Final = "no-store"


class HelpCenterNotFound(Exception):
    """A help-center URL that leads nowhere (unknown locale, category, draft or missing article)."""


def hc_url(locale: str, path: str = "") -> str:
    """The help-center URL of `path` (starting with "/" or empty) in `locale`."""
    return f"{HC_PREFIX}/{locale}{path}"


def other_locales(locale: str) -> list[str]:
    """The help-center locales other than `locale`."""
    return [other for other in HC_LOCALES if other != locale]


@dataclass
class HelpCenter:
    """One help-center request: the URL's locale, its translator, the banner, language targets."""

    request: Request
    settings: Settings
    locale: str
    banner: Banner | None
    # Where the language switcher sends a reader of each other locale; pages may override.
    alternates: dict[str, str] = field(default_factory=dict)

    @property
    def t(self) -> Translator:
        """Messages in the page's locale."""
        return get_translator(self.locale)

    @property
    def home(self) -> str:
        """This locale's help-center home."""
        return hc_url(self.locale)

    def url(self, path: str = "") -> str:
        """A URL in this locale's help center."""
        return hc_url(self.locale, path)

    @property
    def csrf_cookie(self) -> str:
        """The CSRF cookie's name, for hc.js (a signed-in agent's vote needs the header)."""
        return csrf_cookie_name(self.settings)

    @property
    def language_links(self) -> list[LanguageLink]:
        """The switcher: this page in each locale (the current one marked)."""
        links = []
        for locale in HC_LOCALES:
            if locale == self.locale:
                url = self.request.url.path
            else:
                url = self.alternates.get(locale) or self._same_page_in(locale)
            links.append(LanguageLink(locale, LANGUAGE_NAMES[locale], url, locale == self.locale))
        return links

    def _same_page_in(self, locale: str) -> str:
        rest = self.request.url.path.removeprefix(self.home)
        query = self.request.url.query
        return hc_url(locale, rest) + (f"?{query}" if query and len(query) < 1000 else "")

    def render(self, template: str, /, *, status: int = 200, public: bool = True, **context: Any) -> Response:
        """A help-center page; `public=False` for pages with per-reader content (never stored)."""
        html = render_template(template, locale=self.locale, hc=self, **context)
        response = HTMLResponse(html, status_code=status)
        response.headers["cache-control"] = PUBLIC_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL
        response.headers["content-language"] = self.locale
        return response


async def get_help_center(
    request: Request, locale: str, session: DbSession, settings: SettingsDep
) -> HelpCenter:
    """The help center of the URL's locale; HelpCenterNotFound (a 404 page) for any other locale."""
    if locale not in HC_LOCALES:
        raise HelpCenterNotFound(locale[:20])
    return HelpCenter(request, settings, locale, await get_banner(session, locale))


HelpCenterDep = Annotated[HelpCenter, Depends(get_help_center)]


def negotiated_locale(request: Request) -> str:
    """The reader's language for URLs without one: remembered choice, then Accept-Language."""
    return negotiate_locale(
        explicit=None,
        cookie=normalise_locale(request.cookies.get(LOCALE_COOKIE)),
        accept_language=request.headers.get("accept-language"),
    )


def not_found_page(request: Request) -> Response:
    """The help center's 404 page, in the URL's locale when it has a valid one, else negotiated."""
    runtime: Runtime = request.app.state.runtime
    segment = request.url.path.removeprefix(HC_PREFIX + "/").split("/", 1)[0]
    locale = segment if segment in HC_LOCALES else negotiated_locale(request)
    # The request's transaction is over by now: the 404 page goes without the banner.
    hc = HelpCenter(request, runtime.settings, locale, None)
    hc.alternates = {other: hc_url(other) for other in other_locales(locale)}
    response = hc.render("hc/not_found.html", status=404)
    if segment not in HC_LOCALES:
        response.headers["vary"] = "Accept-Language, Cookie"
    return response


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HelpCenterNotFound)
    return not_found_page(request)


def install_help_center_errors(app: FastAPI) -> None:
    """Render HelpCenterNotFound as the help center's 404 page."""
    app.add_exception_handler(HelpCenterNotFound, _not_found)


def category_labels(t: Translator) -> dict[str, str]:
    """Article categories as customers read them."""
    return {
        "support": t.gettext("Contacting support"),
        "account": t.gettext("Account"),
        "security": t.gettext("Security"),
        "kyc": t.gettext("Identity verification"),
        "deposit": t.gettext("Deposits"),
        "withdrawal": t.gettext("Withdrawals"),
        "trading": t.gettext("Trading"),
        "margin": t.gettext("Margin trading"),
        "futures": t.gettext("Futures"),
        "p2p": t.gettext("P2P trading"),
        "earn": t.gettext("Earn"),
        "api": t.gettext("API"),
        "promotion": t.gettext("Promotions"),
        "general": t.gettext("General"),
    }
