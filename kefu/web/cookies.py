"""The cookies Kefu sets on browsers: session, double-submit CSRF token, language preference.

Shared by the JSON sign-in API and the server-rendered pages so both set identical attributes.
"""

from __future__ import annotations

import re
from typing import Final

from fastapi import Response

from kefu.core.ids import new_token
from kefu.i18n import LOCALE_COOKIE
from kefu.settings import Settings
from kefu.web.deps import csrf_cookie_name, customer_cookie_name, session_cookie_name

CSRF_TOKEN_BYTES: Final = 24
LOCALE_COOKIE_MAX_AGE: Final = 365 * 24 * 3600
# What `new_token` produces; anything else in the cookie was not set by us and is replaced.
_CSRF_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")


def _set_csrf_cookie(response: Response, settings: Settings, token: str, max_age: int | None) -> None:
    response.set_cookie(
        csrf_cookie_name(settings),
        token,
        max_age=max_age,
        httponly=False,
        secure=settings.cookies_secure,
        samesite="strict",
        path="/",
    )


def _set_signed_in_cookies(
    response: Response, settings: Settings, name: str, token: str, max_age: int
) -> str:
    """A session cookie (HttpOnly, SameSite=Lax) and a fresh CSRF cookie; returns the CSRF token."""
    response.set_cookie(
        name, token, max_age=max_age, httponly=True, secure=settings.cookies_secure, samesite="lax", path="/"
    )
    csrf = new_csrf_token()
    _set_csrf_cookie(response, settings, csrf, max_age)
    return csrf


def set_session_cookies(response: Response, settings: Settings, token: str) -> str:
    """Set a staff session cookie and a fresh CSRF cookie; returns the CSRF token."""
    max_age = settings.session_max_age_hours * 3600
    return _set_signed_in_cookies(response, settings, session_cookie_name(settings), token, max_age)


def set_customer_cookies(response: Response, settings: Settings, token: str, max_age: int) -> str:
    """Set a signed-in customer's cookie and a fresh CSRF cookie; returns the CSRF token."""
    return _set_signed_in_cookies(response, settings, customer_cookie_name(settings), token, max_age)


def clear_customer_cookie(response: Response, settings: Settings) -> None:
    """Expire the customer's cookie (the CSRF cookie may still serve a staff session)."""
    response.delete_cookie(
        customer_cookie_name(settings), path="/", secure=settings.cookies_secure, httponly=True
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    """Expire the session and CSRF cookies."""
    for name in (session_cookie_name(settings), csrf_cookie_name(settings)):
        response.delete_cookie(name, path="/", secure=settings.cookies_secure, httponly=True)


def usable_csrf_token(value: str | None) -> str | None:
    """The CSRF cookie value if it has the shape of a token we issue, else None."""
    return value if value and _CSRF_TOKEN_RE.fullmatch(value) else None


def new_csrf_token() -> str:
    """A fresh double-submit token."""
    return new_token(CSRF_TOKEN_BYTES)


def set_anonymous_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    """The CSRF cookie for a browser without a session yet (the sign-in form).

    It lasts for the browser session only; signing in replaces it (`set_session_cookies`).
    """
    _set_csrf_cookie(response, settings, token, None)


def set_locale_cookie(response: Response, settings: Settings, locale: str) -> None:
    """Remember the reader's language choice (not a secret, but only our pages need it)."""
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=LOCALE_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/",
    )
