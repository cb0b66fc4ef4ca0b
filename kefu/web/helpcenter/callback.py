"""The "Request a call back" form: a number, a topic and a window in the customer's time zone.

A plain urlencoded post (works without JavaScript), checked for same origin and the double-submit
CSRF token like the other help-center forms, and limited per address. The number is checked with
phonenumbers (kefu.conversations.forms.CallbackForm), and the window must lie in the business hours of
the official line that will call (the hours the contact page shows). Success opens a phone
conversation with a scheduled call back and emails the time and the number we will call from.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.contact import PhoneLine, contact_channel, phone_hours
from kefu.channels.models import OfficialKind
from kefu.channels.phone.callbacks import (
    MAX_DAYS_AHEAD,
    CallbackBooking,
    do_request_callback,
    find_callback_line,
    region_of,
    zone_of,
)
from kefu.channels.service import list_published
from kefu.contacts.identities import normalise_email
from kefu.conversations.forms import CallbackForm
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, PermissionDenied
from kefu.core.ratelimit import SlidingWindow
from kefu.db.uow import transaction
from kefu.request_forms.messages import field_message
from kefu.web.cookies import new_csrf_token, set_anonymous_csrf_cookie, usable_csrf_token
from kefu.web.deps import (
    DbSession,
    RuntimeDep,
    check_csrf_token,
    check_same_origin,
    client_ip,
    csrf_cookie_name,
)
from kefu.web.helpcenter.contact import PhoneView, Words
from kefu.web.helpcenter.context import HC_LOCALES, HC_PREFIX, HelpCenter, HelpCenterDep, HelpCenterNotFound
from kefu.web.helpcenter.requests import COMMON_TIME_ZONES, REFERENCE_PATTERN, region_choices
from kefu.web.pages.forms import CSRF_FIELD, PageError, PageErrorReason, read_form

router = APIRouter()

FIELDS: Final = (
    "email",
    "name",
    "phone_region",
    "phone",
    "topic",
    "date",
    "window_from",
    "window_to",
    "time_zone",
    "note",
)
TOPICS: Final = ("account", "deposit", "withdrawal", "trading", "security", "other")
NOTE_MAX: Final = 1000
SUBMISSIONS_PER_HOUR: Final = 10


def _limiter(request: Request) -> SlidingWindow:
    state = request.app.state
    limiter: SlidingWindow | None = getattr(state, "callback_submissions", None)
    if limiter is None:
        limiter = SlidingWindow(SUBMISSIONS_PER_HOUR, 3600)
        state.callback_submissions = limiter
    return limiter


def topic_labels(hc: HelpCenter) -> list[tuple[str, str]]:
    """The topics a customer may choose, in the page's language."""
    _ = hc.t.gettext
    names = {
        "account": _("My account or signing in"),
        "deposit": _("A deposit"),
        "withdrawal": _("A withdrawal"),
        "trading": _("Trading"),
        "security": _("Security, or reporting fraud"),
        "other": _("Something else"),
    }
    return [(topic, names[topic]) for topic in TOPICS]


async def _lines(session: AsyncSession, hc: HelpCenter) -> list[PhoneView]:
    now = utcnow()
    words = Words(hc)
    views = []
    for row in await list_published(session):
        if row.kind == OfficialKind.PHONE:
            hours = await phone_hours(session, row.team_id, now=now, locale=hc.locale)
            views.append(words.phone(PhoneLine(contact_channel(row, hc.locale), hours), now))
    return views


async def _render(
    request: Request,
    hc: HelpCenter,
    session: AsyncSession,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    existing = usable_csrf_token(request.cookies.get(csrf_cookie_name(hc.settings)))
    token = existing or new_csrf_token()
    values = values or {}
    response = hc.render(
        "hc/callback.html",
        status=status,
        public=False,
        csrf_token=token,
        values=values,
        errors=errors or {},
        lines=await _lines(session, hc),
        topics=topic_labels(hc),
        regions=region_choices(hc.locale),
        time_zones=COMMON_TIME_ZONES,
        note_max=NOTE_MAX,
    )
    if existing is None:
        set_anonymous_csrf_cookie(response, hc.settings, token)
    return response


@router.get(HC_PREFIX + "/{locale}/callback")
async def callback_form(request: Request, hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: the call-back form with the phone lines' hours."""
    return await _render(request, hc, session)


@router.get(HC_PREFIX + "/{locale}/callback/submitted")
async def callback_submitted(hc: HelpCenterDep, reference: Annotated[str | None, Query()] = None) -> Response:
    """Anyone: the confirmation with the request's `KF-` reference (shown only if well formed)."""
    shown = reference if reference and REFERENCE_PATTERN.fullmatch(reference) else None
    return hc.render("hc/callback_submitted.html", public=False, reference=shown)


def _booking(hc: HelpCenter, fields: dict[str, str]) -> CallbackBooking:
    """The checked fields; InvalidInput with a message per field otherwise."""
    t, _ = hc.t, hc.t.gettext
    errors: dict[str, str] = {}
    email = ""
    try:
        email = normalise_email(fields.get("email", ""))
    except InvalidInput:
        errors["email"] = _("Enter a valid email address.")
    raw = {
        "phone_region": fields.get("phone_region", "").strip() or None,
        "phone": fields.get("phone", ""),
        "preferred_date": fields.get("date", "").strip() or None,
        "window_from": fields.get("window_from", "").strip() or None,
        "window_to": fields.get("window_to", "").strip() or None,
        "time_zone": fields.get("time_zone", "").strip() or None,
    }
    form: CallbackForm | None = None
    try:
        form = CallbackForm.model_validate(raw)
    except ValidationError as exc:
        names = {"preferred_date": "date"}
        for item in exc.errors():
            name = str(item["loc"][0]) if item["loc"] else "form"
            errors.setdefault(names.get(name, name), field_message(t, name, item["type"], item.get("ctx")))
    for name in ("date", "window_from", "window_to", "time_zone"):
        if not fields.get(name, "").strip():
            errors.setdefault(name, _("This field is required."))
    topic = fields.get("topic", "")
    if topic not in TOPICS:
        errors["topic"] = _("Choose what the call is about.")
    note = fields.get("note", "").strip()
    if len(note) > NOTE_MAX or any(ord(c) < 0x20 and c not in "\n\r\t" for c in note):
        errors["note"] = _("Use at most %(num)d characters, without control characters.", num=NOTE_MAX)
    if errors or form is None:
        raise InvalidInput("check the form", fields=errors)
    day: date | None = form.preferred_date
    start_time: time | None = form.window_from
    end_time: time | None = form.window_to
    if day is None or start_time is None or end_time is None or form.time_zone is None:
        raise InvalidInput("check the form", fields={"form": _("Please check the fields marked below.")})
    zone = zone_of(form.time_zone)
    return CallbackBooking(
        email=email,
        name=fields.get("name", "").strip()[:200],
        number=form.phone,
        start=datetime.combine(day, start_time, zone),
        end=datetime.combine(day, end_time, zone),
        time_zone=form.time_zone,
        locale=hc.locale,
        topic=topic,
        note=note,
    )


def _window_message(hc: HelpCenter, code: str, hours: list[tuple[str, str]]) -> str:
    _ = hc.t.gettext
    if code == "past":
        return _("This time has passed. Choose a later time.")
    if code == "too_far":
        return _("Choose a day within the next %(num)d days.", num=MAX_DAYS_AHEAD)
    if code == "too_short":
        return _("Give us a window of at least 30 minutes.")
    if code == "too_long":
        return _("Choose a window of at most 8 hours.")
    opening = "; ".join(f"{days} {spans}" for days, spans in hours)
    return _("We can only call during our opening hours (%(hours)s). Choose another time.", hours=opening)


@router.post(HC_PREFIX + "/{locale}/callback")
async def submit_callback(request: Request, locale: str, runtime: RuntimeDep) -> Response:
    """Anyone, from our own page: book a call back; 303 to the confirmation, or the form with 4xx."""
    if locale not in HC_LOCALES:
        raise HelpCenterNotFound(locale[:20])
    hc = HelpCenter(request, runtime.settings, locale, None)
    try:
        check_same_origin(request, hc.settings)
    except PermissionDenied as exc:
        raise PageError(403, PageErrorReason.CSRF) from exc
    fields = await read_form(request)
    try:
        check_csrf_token(request, hc.settings, fields.get(CSRF_FIELD))
    except PermissionDenied as exc:
        raise PageError(403, PageErrorReason.CSRF) from exc
    values = {k: v[:NOTE_MAX] for k, v in fields.items() if k in FIELDS}
    if not _limiter(request).hit(client_ip(request)):
        message = hc.t.gettext("Too many requests from your network. Please try again in an hour.")
        async with runtime.sessionmaker() as session:
            return await _render(request, hc, session, status=429, values=values, errors={"form": message})
    try:
        booking = _booking(hc, fields)
        async with transaction(runtime.sessionmaker) as session:
            line = await find_callback_line(session, region_of(booking.number))
            if line is None:
                raise InvalidInput("no line", fields={"form": "no_line"})
            conversation, _callback = await do_request_callback(
                session, booking, line, settings=hc.settings, now=utcnow()
            )
            reference = conversation.reference
    except InvalidInput as exc:
        errors = dict(exc.fields or {"form": exc.message})
        async with runtime.sessionmaker() as session:
            if "window" in errors:
                line = await find_callback_line(session, region_of(values.get("phone", "")))
                words = Words(hc)
                hours = words.week(
                    await phone_hours(session, line.team_id if line else None, now=utcnow(), locale=locale)
                )
                errors["window"] = _window_message(hc, errors["window"], hours)
            if errors.get("form") == "no_line":
                errors["form"] = hc.t.gettext(
                    "Call backs are not available at the moment. Please contact us in another way."
                )
            return await _render(request, hc, session, status=422, values=values, errors=errors)
    return RedirectResponse(hc.url(f"/callback/submitted?reference={reference}"), status_code=303)
