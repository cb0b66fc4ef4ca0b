"""Booking call backs: from the help-center form (announced by email) and from the phone menu.

A call back is only ever promised inside the business hours of the official line that will call,
and the email names that line's number: an exchange never calls unannounced, so a customer can tell
our call from an impostor's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_skeleton
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.channels.hours import line_hours
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.phone.ivr import TOPIC_CATEGORIES
from kefu.channels.phone.models import CallbackRequest, CallbackSource, CallbackStatus
from kefu.channels.service import list_published
from kefu.conversations.create import do_create_conversation, resolve_customer
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationCreate, CustomerIn
from kefu.core.errors import InvalidInput
from kefu.i18n import babel_identifier
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.mail.outbox import queue_email
from kefu.schedules.calendar import BusinessCalendar, NeverOpen
from kefu.schedules.service import get_calendar_for_team
from kefu.settings import Settings

# How far ahead, how short and how long a requested window may be.
MAX_DAYS_AHEAD: Final = 60
MIN_WINDOW: Final = timedelta(minutes=30)
MAX_WINDOW: Final = timedelta(hours=8)
# A call back promised on the phone: within this long of now (or of the next opening).
IVR_WINDOW: Final = timedelta(hours=2)


@dataclass(frozen=True)
class CallbackLine:
    """The official line that calls back: its number, the team answering and its hours."""

    number: str
    team_id: uuid.UUID | None
    inbox: Inbox | None
    calendar: BusinessCalendar


@dataclass(frozen=True)
class CallbackBooking:
    """A checked help-center request for a call back (times tz-aware)."""

    email: str
    name: str
    number: str  # E.164
    start: datetime
    end: datetime
    time_zone: str  # as the customer gave it: an IANA name or "+08:00"
    locale: str
    topic: str
    note: str = ""


def zone_of(name: str) -> tzinfo:
    """The tzinfo of a zone name normalised by kefu.conversations.forms ("Asia/Shanghai", "+08:00")."""
    if name[:1] in "+-" and len(name) == 6:
        sign = 1 if name[0] == "+" else -1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    return ZoneInfo(name)


def region_of(number: str) -> str | None:
    """The ISO region of an E.164 number ("+8613800138000" → "CN"), None if unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or None
    except phonenumbers.NumberParseException:
        return None


async def _phone_inbox(session: AsyncSession, number: str) -> Inbox | None:
    rows = await session.scalars(
        select(Inbox)
        .where(Inbox.channel == ChannelKind.PHONE, Inbox.is_active.is_(True))
        .order_by(Inbox.created_at, Inbox.id)
    )
    inboxes = list(rows)
    return next((i for i in inboxes if i.address == number), inboxes[0] if inboxes else None)


async def find_callback_line(session: AsyncSession, region: str | None) -> CallbackLine | None:
    """The published phone line for the customer's region (else the first one); None when none is."""
    phones = [row for row in await list_published(session) if row.kind == OfficialKind.PHONE]
    if not phones:
        return None
    line: OfficialChannel = next((row for row in phones if region and row.region == region), phones[0])
    inbox = await _phone_inbox(session, line.value)
    return CallbackLine(line.value, line.team_id, inbox, await get_calendar_for_team(session, line.team_id))


def check_window(calendar: BusinessCalendar, start: datetime, end: datetime, *, now: datetime) -> None:
    """InvalidInput (field `window`) unless [start, end) is ahead, sensibly long and all in open hours."""
    if start <= now:
        raise InvalidInput("the window has passed", fields={"window": "past"})
    if start > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput("the window is too far ahead", fields={"window": "too_far"})
    if end - start < MIN_WINDOW:
        raise InvalidInput("the window is too short", fields={"window": "too_short"})
    if end - start > MAX_WINDOW:
        raise InvalidInput("the window is too long", fields={"window": "too_long"})
    # Open for the whole window: business time inside it equals its length (holidays included).
    if calendar.business_time_between(start, end) != end - start:
        raise InvalidInput("the window is outside business hours", fields={"window": "outside_hours"})


def ivr_window(calendar: BusinessCalendar, now: datetime) -> tuple[datetime, datetime] | None:
    """When a caller asking for a call back will get it: from now (or the next opening) for up to
    two hours, ending at closing time; None when the line never opens. In the line's zone."""
    try:
        start = now if calendar.is_open(now) else calendar.next_open(now)
    except NeverOpen:
        return None
    closes = line_hours(calendar, now=start).closes_at
    end = start + IVR_WINDOW
    if closes is not None:
        end = min(end, closes)
    return start.astimezone(calendar.zone), end.astimezone(calendar.zone)


def word_window(start: datetime, end: datetime, time_zone: str, locale: str) -> str:
    """ "Tue, Mar 11, 2025 10:00–11:00 (Asia/Shanghai)" in the reader's language and zone."""
    zone = zone_of(time_zone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    babel_locale = babel_identifier(locale)
    day = format_skeleton("yMMMEd", local_start, locale=babel_locale)
    until = local_end.strftime("%H:%M")
    if local_end.date() != local_start.date():
        until = f"{format_skeleton('MMMEd', local_end, locale=babel_locale)} {until}"
    return f"{day} {local_start:%H:%M}–{until} ({time_zone})"


def _body(booking: CallbackBooking) -> str:
    # Agent-facing; the customer's own words (if any) come first.
    window = f"{booking.start.isoformat()} – {booking.end.isoformat()}"
    lines = [booking.note.strip()] if booking.note.strip() else []
    lines.append(f"Call back requested: {booking.number}, {window} (customer's zone {booking.time_zone}).")
    return "\n\n".join(lines)


async def do_request_callback(
    session: AsyncSession, booking: CallbackBooking, line: CallbackLine, *, settings: Settings, now: datetime
) -> tuple[Conversation, CallbackRequest]:
    """Open the phone conversation and its scheduled call back, and queue the announcing email.

    The window is checked against the line's hours first (InvalidInput, nothing stored).
    """
    check_window(line.calendar, booking.start, booking.end, now=now)
    contact_id = await resolve_customer(
        session, CustomerIn(email=booking.email, name=booking.name), booking.locale
    )
    data = ConversationCreate(
        subject="Call back request",
        body=_body(booking),
        category=TOPIC_CATEGORIES.get(booking.topic, TOPIC_CATEGORIES["other"]),
        locale=booking.locale,
    )
    # The email is unproven: like any help-center visitor, the caller is granted this conversation only.
    conversation, _created, first = await do_create_conversation(
        session,
        CustomerActor(contact_id=contact_id),
        data,
        channel=ChannelKind.PHONE,
        inbox_id=line.inbox.id if line.inbox else None,
        route_to_team=line.inbox.team_id if line.inbox and line.inbox.team_id else line.team_id,
    )
    callback = CallbackRequest(
        conversation_id=conversation.id,
        inbox_id=line.inbox.id if line.inbox else None,
        number=booking.number,
        official_number=line.number,
        window_start=booking.start,
        window_end=booking.end,
        time_zone=booking.time_zone,
        locale=booking.locale,
        topic=booking.topic,
        source=CallbackSource.FORM,
        status=CallbackStatus.SCHEDULED,
    )
    session.add(callback)
    await session.flush()
    if first is not None:
        first.data = {**first.data, "callback": callback_facts(callback)}
    await queue_callback_scheduled(session, callback, conversation, email=booking.email, settings=settings)
    return conversation, callback


async def do_book_ivr_callback(
    session: AsyncSession,
    conversation: Conversation,
    *,
    inbox: Inbox,
    number: str,
    window: tuple[datetime, datetime],
    topic: str,
    locale: str,
) -> CallbackRequest:
    """Queue the call back a caller asked for on the phone (they heard the time; no email is sent).

    One per conversation and window start: a replayed key press books nothing twice.
    """
    start, end = window
    existing = await session.scalar(
        select(CallbackRequest).where(
            CallbackRequest.conversation_id == conversation.id,
            CallbackRequest.source == CallbackSource.IVR,
            CallbackRequest.status == CallbackStatus.REQUESTED,
        )
    )
    if existing is not None:
        return existing
    callback = CallbackRequest(
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        number=number,
        official_number=inbox.address,
        window_start=start,
        window_end=end,
        time_zone=str(start.tzinfo),
        locale=locale,
        topic=topic,
        source=CallbackSource.IVR,
        status=CallbackStatus.REQUESTED,
    )
    session.add(callback)
    await session.flush()
    return callback


def callback_facts(callback: CallbackRequest) -> dict[str, object]:
    """What agents see about a call back on the timeline."""
    return {
        "id": str(callback.id),
        "number": callback.number,
        "official_number": callback.official_number,
        "window_start": callback.window_start.isoformat(),
        "window_end": callback.window_end.isoformat(),
        "time_zone": callback.time_zone,
        "topic": callback.topic,
        "source": str(callback.source),
    }


async def queue_callback_scheduled(
    session: AsyncSession,
    callback: CallbackRequest,
    conversation: Conversation,
    *,
    email: str,
    settings: Settings,
) -> bool:
    """Queue the email announcing the call: when, from which official number (once per call back)."""
    del settings  # the email links nowhere: the number to expect is the message
    return await queue_email(
        session,
        template="callback_scheduled",
        to=email,
        locale=callback.locale,
        context={
            "reference": conversation.reference,
            "window": word_window(
                callback.window_start, callback.window_end, callback.time_zone, callback.locale
            ),
            "official_number": callback.official_number,
            "number_ending": callback.number[-4:],
        },
        idempotency_key=f"callback-scheduled:{callback.id}",
        reference=conversation.reference,
    )
