"""My requests: customers sign in with an emailed code or link, then follow, answer and close requests.

The pages render; `hc_my.js` calls the JSON API (`/api/v1/customer-auth/*`, the conversation routes)
with the customer's cookie and CSRF header. The magic link is a plain form post, so it works without
script, and it asks for one click because mail scanners follow links but do not submit forms.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from kefu.auth.actors import CustomerActor
from kefu.auth.customer_login import MAX_LINK_TOKEN_LENGTH, do_redeem_sign_in_link
from kefu.auth.customer_sessions import CUSTOMER_SESSION_TTL, create_customer_session, get_customer_session
from kefu.auth.models import CustomerSession
from kefu.contacts.models import Contact
from kefu.conversations.access import access_conversation_by_reference
from kefu.conversations.service import ConversationFilters, list_conversations, list_messages
from kefu.conversations.states import AuthorKind, Status
from kefu.core.errors import InvalidInput, NotFound, PermissionDenied
from kefu.i18n import Translator
from kefu.trust.anti_phishing import read_code
from kefu.trust.identity import pending_challenge, verification_of
from kefu.trust.keys import keyring_from_settings
from kefu.web.cookies import (
    new_csrf_token,
    set_anonymous_csrf_cookie,
    set_customer_cookies,
    usable_csrf_token,
)
from kefu.web.deps import (
    DbSession,
    check_csrf_token,
    check_same_origin,
    client_ip,
    csrf_cookie_name,
    customer_cookie_name,
)
from kefu.web.helpcenter.context import HelpCenter, HelpCenterDep, HelpCenterNotFound
from kefu.web.helpcenter.requests import REFERENCE_PATTERN
from kefu.web.pages.forms import CSRF_FIELD, PageError, PageErrorReason, read_form

router = APIRouter()

PAGE_SIZE: Final = 20
# Replies shown on one page; a longer thread offers "earlier messages".
THREAD_LIMIT: Final = 200


def status_labels(t: Translator) -> dict[str, str]:
    """Request states as a customer reads them (pending means we wait for them)."""
    _ = t.gettext
    return {
        Status.NEW: _("Received"),
        Status.OPEN: _("In progress"),
        Status.PENDING: _("Awaiting your reply"),
        Status.ON_HOLD: _("In progress"),
        Status.SOLVED: _("Solved"),
        Status.CLOSED: _("Closed"),
    }


async def _signed_in(request: Request, hc: HelpCenter, session: DbSession) -> CustomerSession | None:
    token = request.cookies.get(customer_cookie_name(hc.settings))
    return await get_customer_session(session, token) if token else None


def _to_sign_in(hc: HelpCenter) -> Response:
    return RedirectResponse(hc.url("/my/sign-in"), status_code=303)


def _csrf_for(request: Request, hc: HelpCenter) -> tuple[str, bool]:
    """The browser's CSRF token for a form field, and whether the page must set it as a cookie."""
    existing = usable_csrf_token(request.cookies.get(csrf_cookie_name(hc.settings)))
    return (existing, False) if existing else (new_csrf_token(), True)


@router.get("/hc/{locale}/my")
async def my_home(hc: HelpCenterDep) -> Response:
    """Anyone: My requests lives at /my/requests."""
    return RedirectResponse(hc.url("/my/requests"), status_code=303)


@router.get("/hc/{locale}/my/sign-in")
async def sign_in_page(request: Request, hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: ask for a code by email, then enter it (hc_my.js). Signed-in customers go to their list."""
    if await _signed_in(request, hc, session) is not None:
        return RedirectResponse(hc.url("/my/requests"), status_code=303)
    return hc.render("hc/my_sign_in.html", public=False)


@router.get("/hc/{locale}/my/sign-in/link")
async def magic_link_page(
    request: Request,
    hc: HelpCenterDep,
    token: Annotated[str, Query(max_length=4096)] = "",
) -> Response:
    """Anyone holding a link: one button that signs this browser in (the token is checked on post)."""
    if len(token) > MAX_LINK_TOKEN_LENGTH:
        token = ""  # not a token we issued: the page says the link is incomplete
    csrf, issue = _csrf_for(request, hc)
    response = hc.render("hc/my_link.html", public=False, token=token, csrf_token=csrf, error=None)
    response.headers["referrer-policy"] = "no-referrer"
    if issue:
        set_anonymous_csrf_cookie(response, hc.settings, csrf)
    return response


@router.post("/hc/{locale}/my/sign-in/link")
async def redeem_magic_link(request: Request, hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone holding a link, from our own page: a valid unused link starts a customer session."""
    try:
        check_same_origin(request, hc.settings)
    except PermissionDenied as exc:
        raise PageError(403, PageErrorReason.CSRF) from exc
    fields = await read_form(request)
    try:
        check_csrf_token(request, hc.settings, fields.get(CSRF_FIELD))
    except PermissionDenied as exc:
        raise PageError(403, PageErrorReason.CSRF) from exc
    signed_in = await do_redeem_sign_in_link(session, fields.get("token", ""))
    if signed_in is None:
        csrf, _issue = _csrf_for(request, hc)
        error = hc.t.gettext("This link has expired or was already used. Ask for a new code.")
        return hc.render("hc/my_link.html", status=401, public=False, token="", csrf_token=csrf, error=error)
    _row, token = await create_customer_session(
        session, signed_in, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    response = RedirectResponse(hc.url("/my/requests"), status_code=303)
    set_customer_cookies(response, hc.settings, token, int(CUSTOMER_SESSION_TTL.total_seconds()))
    return response


@router.get("/hc/{locale}/my/requests")
async def my_requests(
    request: Request,
    hc: HelpCenterDep,
    session: DbSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Signed-in customers: their own requests, most recently active first."""
    customer = await _signed_in(request, hc, session)
    if customer is None:
        return _to_sign_in(hc)
    actor = CustomerActor(contact_id=customer.contact_id)
    try:
        rows, next_cursor = await list_conversations(
            session, actor, ConversationFilters(), limit=PAGE_SIZE, cursor=cursor
        )
    except InvalidInput:
        raise HelpCenterNotFound("cursor") from None
    contact = await session.get(Contact, customer.contact_id)
    return hc.render(
        "hc/my_requests.html",
        public=False,
        email=customer.email,
        anti_phishing_code=read_code(contact, keyring_from_settings(hc.settings)) if contact else None,
        conversations=rows,
        next_cursor=next_cursor,
        statuses=status_labels(hc.t),
    )


@router.get("/hc/{locale}/my/requests/{reference}")
async def my_request(
    request: Request,
    hc: HelpCenterDep,
    session: DbSession,
    reference: str,
    after: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    """Signed-in customers: one of their requests with its replies, a reply box and "mark solved"."""
    customer = await _signed_in(request, hc, session)
    if customer is None:
        return _to_sign_in(hc)
    if not REFERENCE_PATTERN.fullmatch(reference):
        raise HelpCenterNotFound(reference[:20])
    actor = CustomerActor(contact_id=customer.contact_id)
    try:
        conversation = await access_conversation_by_reference(session, actor, reference)
    except NotFound:
        raise HelpCenterNotFound(reference) from None
    messages = await list_messages(session, actor, conversation, after_seq=after, limit=THREAD_LIMIT)
    later = messages[-1].seq if len(messages) == THREAD_LIMIT else None
    return hc.render(
        "hc/my_request.html",
        public=False,
        email=customer.email,
        conversation=conversation,
        messages=messages,
        later=later,
        earlier=after > 0,
        customer_kind=AuthorKind.CUSTOMER,
        status_label=status_labels(hc.t)[Status(conversation.status)],
        can_reply=conversation.status != Status.CLOSED,
        verification=await verification_of(session, conversation, hc.settings),
        pending_code=await pending_challenge(session, conversation),
        can_solve=conversation.status not in (Status.SOLVED, Status.CLOSED),
    )
