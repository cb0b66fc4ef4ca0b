"""Customer sign-in for "My requests": ask for a code by email, then trade it for a session cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from kefu.auth.customer_login import do_check_sign_in_code, do_request_sign_in
from kefu.auth.customer_sessions import CUSTOMER_SESSION_TTL, create_customer_session, do_end_customer_session
from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.web.cookies import clear_customer_cookie, set_customer_cookies
from kefu.web.deps import Customer, DbSession, SettingsDep, client_ip, customer_cookie_name
from kefu.web.errors import error_response

router = APIRouter(prefix="/customer-auth", tags=["customer sign-in"])

Email = Annotated[str, StringConstraints(min_length=3, max_length=320)]


class SignInCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    locale: Annotated[str, StringConstraints(max_length=10)] | None = None


class SignInCodeCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class SignInAccepted(BaseModel):
    status: str = "sent"
    message: str = "If this address has requests with us, a sign-in code is on its way."


class SignedInOut(BaseModel):
    email: str


def magic_link_url(base_url: str, locale: str, token: str) -> str:
    """The link an email carries: a page that asks for one click (mail scanners only follow GETs)."""
    return f"{base_url.rstrip('/')}/hc/{locale}/my/sign-in/link?token={quote(token)}"


@router.post("/code", status_code=202, response_model=SignInAccepted)
async def request_code(
    body: SignInCodeRequest, request: Request, session: DbSession, settings: SettingsDep
) -> SignInAccepted:
    """Anyone: email a sign-in code and link. The answer never says whether the address is known."""
    locale = normalise_locale(body.locale) or DEFAULT_LOCALE
    await do_request_sign_in(
        session,
        email=body.email,
        locale=locale,
        ip=client_ip(request),
        secret=settings.secret_key,
        link_url=lambda token: magic_link_url(settings.base_url, locale, token),
    )
    return SignInAccepted()


@router.post("/verify", response_model=SignedInOut, responses={401: {"description": "wrong or expired code"}})
async def verify_code(
    body: SignInCodeCheck, request: Request, session: DbSession, settings: SettingsDep
) -> Response:
    """Anyone: a correct code signs the browser in (cookie); a wrong one counts against the code."""
    signed_in = await do_check_sign_in_code(
        session, email=body.email, code=body.code, secret=settings.secret_key
    )
    if signed_in is None:
        # Returned, not raised: the counted attempt must commit with this request.
        return error_response(401, "not_authenticated", "the code is wrong or has expired; ask for a new one")
    _row, token = await create_customer_session(
        session, signed_in, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    response = JSONResponse(SignedInOut(email=signed_in.email).model_dump())
    set_customer_cookies(response, settings, token, int(CUSTOMER_SESSION_TTL.total_seconds()))
    return response


@router.post("/sign-out", status_code=204)
async def sign_out(request: Request, actor: Customer, session: DbSession, settings: SettingsDep) -> Response:
    """Customers signed in with a cookie: end this browser's session."""
    del actor
    token = request.cookies.get(customer_cookie_name(settings), "")
    await do_end_customer_session(session, token)
    response = Response(status_code=204)
    clear_customer_cookie(response, settings)
    return response
