"""The public "Contact us" page: every official channel with live facts, and how to stay safe.

Facts come from kefu.channels.contact (chat status and the heat map are cached there); this module
only words them in the page's language: opening states, day and time formats, the heat map's cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_day_names, get_timezone_name
from fastapi import APIRouter
from fastapi.responses import Response

from kefu.channels.contact import ContactFacts, PhoneLine, get_contact_facts
from kefu.channels.heatmap import Cell, HeatMap
from kefu.channels.hours import DayGroup, LineHours
from kefu.channels.live_chat import LiveChatStatus
from kefu.core.clock import utcnow
from kefu.i18n import Translator, babel_identifier
from kefu.schedules.calendar import format_time
from kefu.web.deps import DbSession
from kefu.web.helpcenter.context import HC_PREFIX, HelpCenter, HelpCenterDep

router = APIRouter()

# Seven days ahead a weekday name is unambiguous; further out the page names the date.
_WEEKDAY_HORIZON = timedelta(days=6)


@dataclass(frozen=True)
class Moment:
    """A local instant as the page prints it, with its ISO form (the state's `data-when`)."""

    iso: str
    text: str


@dataclass(frozen=True)
class PhoneView:
    """One phone line as the page words it."""

    line: PhoneLine
    open_now: bool
    status: str
    when: Moment | None
    week: list[tuple[str, str]]
    zone: str


@dataclass(frozen=True)
class ChatView:
    """The live-chat state and wait, worded."""

    online: bool
    status: str
    wait: str | None


@dataclass(frozen=True)
class CellView:
    """One heat-map cell with its title and visible mark."""

    cell: Cell
    title: str
    mark: str  # what the cell shows besides its colour: ★ for quiet, else the level digit


class Words:
    """Locale-aware wording of times, days and states for one page."""

    def __init__(self, hc: HelpCenter) -> None:
        self.t: Translator = hc.t
        self.babel = babel_identifier(hc.locale)
        self.wide = get_day_names("wide", locale=self.babel)
        self.short = get_day_names("abbreviated", locale=self.babel)

    def zone(self, zone_name: str, at: datetime) -> str:
        """ "China Time (UTC+08:00)" for the zone at instant `at`."""
        local = at.astimezone(ZoneInfo(zone_name))
        offset = local.strftime("%z")
        name = get_timezone_name(local.tzinfo, width="long", locale=self.babel)
        return f"{name} (UTC{offset[:3]}:{offset[3:]})" if offset else str(name)

    def moment(self, when: datetime, now: datetime) -> Moment:
        """A local instant: "09:00" today, "Monday 09:00" within a week, else "May 1 09:00"."""
        clock = when.strftime("%H:%M")
        local_now = now.astimezone(when.tzinfo)
        if when.date() == local_now.date():
            text = clock
        elif when.date() - local_now.date() <= _WEEKDAY_HORIZON:
            text = f"{self.wide[when.weekday()]} {clock}"
        else:
            text = f"{format_skeleton('MMMd', when, locale=self.babel)} {clock}"
        return Moment(when.isoformat(), text)

    def days(self, group: DayGroup) -> str:
        if group.first == group.last:
            return str(self.short[group.first])
        return f"{self.short[group.first]}–{self.short[group.last]}"

    def week(self, hours: LineHours) -> list[tuple[str, str]]:
        """The regular hours as (days, hours) rows: ("Mon–Fri", "09:00–18:00"), ("Sat–Sun", "Closed")."""
        if hours.always_open:
            return [(self.t.gettext("Every day"), self.t.gettext("Open 24 hours"))]
        rows = []
        for group in hours.week:
            spans = ", ".join(f"{format_time(s)}–{format_time(e)}" for s, e in group.intervals)
            rows.append((self.days(group), spans or self.t.gettext("Closed")))
        return rows

    def phone(self, line: PhoneLine, now: datetime) -> PhoneView:
        """The line's state sentence: open until when, or closed (for which holiday) until when."""
        hours, t = line.hours, self.t
        when = None
        if hours.always_open:
            status = t.gettext("Open 24 hours")
        elif hours.open_now and hours.closes_at is not None:
            when = self.moment(hours.closes_at, now)
            status = t.gettext("Open now · closes %(when)s", when=when.text)
        elif hours.open_now:
            status = t.gettext("Open now")
        elif hours.opens_at is None:
            status = t.gettext("Closed · no opening hours are scheduled")
        else:
            when = self.moment(hours.opens_at, now)
            if hours.holiday:
                status = t.gettext(
                    "Closed for %(holiday)s · opens %(when)s", holiday=hours.holiday, when=when.text
                )
            elif hours.holiday is not None:
                status = t.gettext("Closed today (holiday) · opens %(when)s", when=when.text)
            else:
                status = t.gettext("Closed · opens %(when)s", when=when.text)
        return PhoneView(line, hours.open_now, status, when, self.week(hours), self.zone(hours.timezone, now))

    def chat(self, chat: LiveChatStatus) -> ChatView:
        t = self.t
        if not chat.online:
            return ChatView(False, t.gettext("Offline — leave a message and we reply by email"), None)
        minutes = chat.wait.minutes
        if minutes is None:
            wait = t.gettext("An agent will answer as soon as one is free.")
        else:
            wait = t.ngettext(
                "Estimated wait: about %(num)d minute", "Estimated wait: about %(num)d minutes", minutes
            )
        return ChatView(True, t.gettext("Online"), wait)

    def response(self, cell: Cell) -> str:
        minutes = cell.response_minutes
        if cell.response_class is None:
            return self.t.gettext("no replies to learn from yet")
        if minutes is None:
            return self.t.gettext("first reply usually after more than a day")
        if minutes < 60:
            return self.t.ngettext(
                "first reply usually within %(num)d minute",
                "first reply usually within %(num)d minutes",
                minutes,
            )
        return self.t.ngettext(
            "first reply usually within %(num)d hour",
            "first reply usually within %(num)d hours",
            minutes // 60,
        )

    def cell(self, cell: Cell) -> CellView:
        """The cell's title (every fact in words) and its visible mark."""
        t = self.t
        slot = f"{self.wide[cell.weekday]} {cell.hour:02d}:00–{cell.hour + 1:02d}:00"
        volume = t.gettext("about %(count)s conversations a week", count=f"{cell.per_week:.1f}")
        parts = [slot, volume, self.response(cell)]
        if not cell.open:
            parts.append(t.gettext("outside business hours"))
        if cell.quiet:
            parts.append(t.gettext("one of the quietest open hours"))
        mark = "★" if cell.quiet else (str(cell.level) if cell.level else "")
        return CellView(cell, " · ".join(parts), mark)

    def heatmap(self, heatmap: HeatMap) -> list[tuple[str, str, list[CellView]]]:
        """Rows of (short day, wide day, cells)."""
        return [
            (str(self.short[day]), str(self.wide[day]), [self.cell(cell) for cell in row])
            for day, row in enumerate(heatmap.rows)
        ]

    def quiet(self, heatmap: HeatMap) -> list[str]:
        """The quietest open hours in words: "Tuesday 10:00–11:00"."""
        return [f"{self.wide[c.weekday]} {c.hour:02d}:00–{c.hour + 1:02d}:00" for c in heatmap.quiet]


def _labels(t: Translator) -> dict[str, str]:
    """Default names of channels whose label is empty."""
    return {
        "domain": t.gettext("Website"),
        "email": t.gettext("Email"),
        "phone": t.gettext("Phone"),
        "telegram": "Telegram",
        "x": "X",
        "facebook": "Facebook",
    }


def render_contact(hc: HelpCenter, facts: ContactFacts, now: datetime) -> Response:
    """The page for `facts` at `now` (split from the route so tests can render fixed facts)."""
    words = Words(hc)
    heatmap = facts.heatmap
    return hc.render(
        "hc/contact.html",
        facts=facts,
        chat=words.chat(facts.chat),
        phones=[words.phone(line, now) for line in facts.phones],
        default_labels=_labels(hc.t),
        heat_rows=words.heatmap(heatmap),
        heat_zone=words.zone(heatmap.timezone, now),
        quiet=words.quiet(heatmap),
        hours=[f"{h:02d}" for h in range(24)],
        callback_url=hc.url("/callback"),
        request_url=hc.url("/requests/new"),
        verify_url=hc.url("/verify"),
    )


@router.get(HC_PREFIX + "/{locale}/contact")
async def contact_page(hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: live chat, email, social accounts, phone lines with hours, quiet hours, safety advice."""
    now = utcnow()
    facts = await get_contact_facts(session, now=now, locale=hc.locale)
    return render_contact(hc, facts, now)
