"""Everything the public "Contact us" page states, as data: channels, phone hours, chat, heat map.

Language-neutral except for names that come from data libraries (Babel's territory names, the
holidays package's holiday names) and the channels' own labels; the web layer words the rest.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from babel import Locale
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.heatmap import HeatMap, get_heatmap
from kefu.channels.hours import LineHours, closed_for_the_day, holiday_name, line_hours
from kefu.channels.links import channel_display, channel_url
from kefu.channels.live_chat import LiveChatStatus, get_live_chat_status
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.service import list_published
from kefu.db.cache import ConfigCache
from kefu.i18n import babel_identifier
from kefu.schedules.models import ExceptionKind
from kefu.schedules.service import find_schedule_for_team, get_calendar_for_team, list_exceptions

SOCIAL_KINDS: Final = (OfficialKind.TELEGRAM, OfficialKind.X, OfficialKind.FACEBOOK)
# A page lists at most this many channels of one kind (it must stay small on a phone).
PER_KIND_LIMIT: Final = 20
# Presence changes by the minute; a public page may lag it by half of one.
CHAT_CACHE_SECONDS: Final = 30.0


@dataclass(frozen=True)
class ContactChannel:
    """One published channel as a reader sees it."""

    id: uuid.UUID
    kind: OfficialKind
    value: str
    display: str
    url: str
    label: str  # in the page's language when the channel has one, else the English label
    region: str | None  # ISO code
    region_name: str | None  # in the page's language


@dataclass(frozen=True)
class PhoneLine:
    """A published number with its hours at the moment of the request."""

    channel: ContactChannel
    hours: LineHours


@dataclass(frozen=True)
class ContactFacts:
    """The contact page's content at one instant."""

    chat: LiveChatStatus
    emails: list[ContactChannel]
    socials: list[ContactChannel]
    domains: list[ContactChannel]
    phones: list[PhoneLine]
    heatmap: HeatMap


def region_name(code: str | None, locale: str) -> str | None:
    """The territory's name in `locale` ("SG" → "Singapore" / "新加坡"), None for no or unknown code."""
    if not code:
        return None
    names = Locale.parse(babel_identifier(locale)).territories
    name = names.get(code)
    return str(name) if name else None


def contact_channel(channel: OfficialChannel, locale: str) -> ContactChannel:
    """A stored channel with its display form, link, label and region name in `locale`."""
    kind = OfficialKind(channel.kind)
    label = channel.label_zh if locale.startswith("zh") and channel.label_zh else channel.label
    return ContactChannel(
        id=channel.id,
        kind=kind,
        value=channel.value,
        display=channel_display(kind, channel.value),
        url=channel_url(kind, channel.value),
        label=label,
        region=channel.region,
        region_name=region_name(channel.region, locale),
    )


async def phone_hours(
    session: AsyncSession, team_id: uuid.UUID | None, *, now: datetime, locale: str
) -> LineHours:
    """The hours of a line answered by `team_id` (its schedule, else the default, else 24/7)."""
    calendar = await get_calendar_for_team(session, team_id)
    today = now.astimezone(calendar.zone).date()
    holiday = None
    if closed_for_the_day(calendar, today):
        schedule = await find_schedule_for_team(session, team_id)
        closures = {
            item.date: item.name
            for item in (await list_exceptions(session, schedule.id) if schedule else [])
            if item.kind == ExceptionKind.CLOSED and item.date == today
        }
        holiday = holiday_name(calendar, today, locale=locale, closures=closures)
    return line_hours(calendar, now=now, holiday=holiday)


_CHAT: ConfigCache[LiveChatStatus] = ConfigCache("contact_live_chat", ttl=CHAT_CACHE_SECONDS, max_keys=4)


async def cached_live_chat_status(session: AsyncSession, *, now: datetime) -> LiveChatStatus:
    """`get_live_chat_status`, computed at most every 30 seconds per process."""

    async def load(session: AsyncSession) -> LiveChatStatus:
        return await get_live_chat_status(session, now=now)

    return await _CHAT.get(session, "status", load)


def forget_live_chat_status() -> None:
    """Drop the cached chat status (tests that change presence under a frozen clock)."""
    _CHAT.invalidate()


def _first_of_each_kind(rows: list[OfficialChannel]) -> list[OfficialChannel]:
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        seen[row.kind] = seen.get(row.kind, 0) + 1
        if seen[row.kind] <= PER_KIND_LIMIT:
            kept.append(row)
    return kept


async def get_contact_facts(session: AsyncSession, *, now: datetime, locale: str) -> ContactFacts:
    """What the contact page shows at `now` in `locale` (a supported locale)."""
    rows = _first_of_each_kind(await list_published(session))
    published = [contact_channel(row, locale) for row in rows]
    phones = [
        PhoneLine(item, await phone_hours(session, row.team_id, now=now, locale=locale))
        for item, row in zip(published, rows, strict=True)
        if item.kind == OfficialKind.PHONE
    ]
    return ContactFacts(
        chat=await cached_live_chat_status(session, now=now),
        emails=[c for c in published if c.kind == OfficialKind.EMAIL],
        socials=sorted(
            (c for c in published if c.kind in SOCIAL_KINDS), key=lambda c: SOCIAL_KINDS.index(c.kind)
        ),
        domains=[c for c in published if c.kind == OfficialKind.DOMAIN],
        phones=phones,
        heatmap=await get_heatmap(session, now=now),
    )
