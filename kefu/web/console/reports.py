"""Report dashboards in the console (supervisors and admins): an index, one page per report, its CSV.

Every page reads only. Filters come from the query string, so a filtered dashboard is a link one can
share; a malformed filter answers 400 with the form and a message saying what to fix, never a 500.
Other agents get the console's 404 page (the dashboards show every team's figures), and signed-out
browsers are sent to sign in. The chart, the table and the CSV are drawn from the same `ReportTable`.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.conversations.states import Category
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, NotFound
from kefu.i18n import N_, Translator
from kefu.inboxes.models import ChannelKind, Team
from kefu.reports.charts import render_chart
from kefu.reports.csv_export import MEDIA_TYPE, export_csv, file_name
from kefu.reports.humanize import NUMERIC_KINDS, TextLabel, format_value
from kefu.reports.service import REPORT_CATALOG, run_report
from kefu.reports.types import MAX_RANGE_DAYS, Column, ReportFilters, ReportKey, ReportTable
from kefu.routing.service import access_team_by_id
from kefu.runtime import Runtime
from kefu.schedules.service import find_schedule_for_team
from kefu.storage.filenames import content_disposition
from kefu.web.console.context import Console, ConsoleDep, ConsoleNotFound
from kefu.web.console.inbox import category_label, channel_label, labels
from kefu.web.deps import DbSession

router = APIRouter()

REPORTS_PATH: Final = "/console/reports"
DEFAULT_DAYS: Final = 30
PRESET_DAYS: Final = (7, 30, 90)
MAX_VALUES: Final = 20  # per multi-valued filter; more is not a filter anyone means
MAX_VALUE_LENGTH: Final = 100
MAX_ECHO: Final = 64  # how much of a typed filter the form shows back
EARLIEST: Final = date(2000, 1, 1)
LATEST: Final = date(2099, 12, 31)
SUGGESTED_ZONES: Final = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
)
CSV_HEADERS: Final = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
# Column keys whose integer values are a weekday (Monday = 0, as Python's date.weekday) or an hour.
WEEKDAY_KEYS: Final = frozenset({"weekday", "day_of_week", "dow"})
HOUR_KEYS: Final = frozenset({"hour", "hour_of_day"})
WEEKDAY_NAMES: Final = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


@dataclass
class FilterForm:
    """The filters as typed (shown back in the form) and what was wrong with them."""

    start: str
    end: str
    time_zone: str
    teams: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def query(self, **override: str) -> str:
        """The query string of these filters (with `override` applied)."""
        pairs: list[tuple[str, str]] = [("start", self.start), ("end", self.end), ("tz", self.time_zone)]
        pairs += [("team", v) for v in self.teams]
        pairs += [("channel", v) for v in self.channels]
        pairs += [("category", v) for v in self.categories]
        kept = [(k, v) for k, v in pairs if k not in override] + list(override.items())
        return urlencode([(k, v) for k, v in kept if v])


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    description: str
    url: str
    current: bool


def require_reports(console: Console) -> None:
    """Dashboards are for supervisors and admins; anyone else gets the console's 404 page."""
    if not console.actor.is_supervisor_or_admin:
        raise ConsoleNotFound("report not found")


def cards(console: Console, current: str = "") -> list[Card]:
    """Every report of the catalogue, in the reader's language."""
    t = console.page.t
    return [
        Card(
            key.value, t.gettext(title), t.gettext(text), f"{REPORTS_PATH}/{key.value}", key.value == current
        )
        for key, title, text in REPORT_CATALOG
    ]


def _report_key(key: str) -> ReportKey:
    try:
        found = ReportKey(key)
    except ValueError:
        raise ConsoleNotFound("report not found") from None
    if found not in {k for k, _, _ in REPORT_CATALOG}:
        raise ConsoleNotFound("report not found")
    return found


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_time_zone(name: str) -> bool:
    """An IANA zone this system knows (looked up in the list, never opened from a typed path)."""
    return name in _zones()


async def default_time_zone(session: AsyncSession) -> str:
    """The organisation's: the default business-hours schedule's zone, else UTC."""
    schedule = await find_schedule_for_team(session, None)
    zone = schedule.timezone if schedule is not None else "UTC"
    return zone if valid_time_zone(zone) else "UTC"


def _values(request: Request, name: str, form: FilterForm, t: Translator) -> list[str]:
    values = [v.strip() for v in request.query_params.getlist(name) if v.strip()]
    if len(values) > MAX_VALUES or any(len(v) > MAX_VALUE_LENGTH for v in values):
        form.errors.append(t.gettext("Too many or too long filter values."))
        return []
    return values


def _date(raw: str | None, fallback: date, message: str, errors: list[str]) -> date:
    if raw is None or not raw.strip():
        return fallback
    try:
        if len(raw.strip()) != len("YYYY-MM-DD"):
            raise ValueError(raw)
        found = date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(message)
        return fallback
    if not EARLIEST <= found <= LATEST:
        # Far-off years overflow time-zone arithmetic; no support desk has data there anyway.
        errors.append(message)
        return fallback
    return found


async def parse_filters(
    console: Console, session: AsyncSession, request: Request
) -> tuple[ReportFilters | None, FilterForm]:
    """The filters of the query string, or None with the reasons in `form.errors`."""
    t = console.page.t
    params = request.query_params
    zone = (params.get("tz") or "").strip() or await default_time_zone(session)
    form = FilterForm(
        (params.get("start") or "")[:MAX_ECHO], (params.get("end") or "")[:MAX_ECHO], zone[:MAX_ECHO]
    )
    if len(zone) > 64 or not valid_time_zone(zone):
        form.errors.append(t.gettext("Unknown time zone: use an IANA name such as Asia/Shanghai."))
        zone = "UTC"
    today = utcnow().astimezone(zoneinfo.ZoneInfo(zone)).date()
    end = _date(params.get("end"), today, t.gettext("The end date is not a date (YYYY-MM-DD)."), form.errors)
    start = _date(
        params.get("start"),
        end - timedelta(days=DEFAULT_DAYS - 1),
        t.gettext("The start date is not a date (YYYY-MM-DD)."),
        form.errors,
    )
    form.start, form.end = form.start or start.isoformat(), form.end or end.isoformat()
    if end < start:
        form.errors.append(t.gettext("The end date is before the start date."))
    elif (end - start).days >= MAX_RANGE_DAYS:
        form.errors.append(
            t.gettext("A report covers at most %(days)d days: shorten the range.", days=MAX_RANGE_DAYS)
        )
    form.teams = _values(request, "team", form, t)
    form.channels = _values(request, "channel", form, t)
    form.categories = _values(request, "category", form, t)
    team_ids = await _team_ids(session, console.actor, form.teams, form.errors, t)
    channels = _enum_values(form.channels, {c.value for c in ChannelKind})
    categories = _enum_values(form.categories, {c.value for c in Category})
    if channels is None:
        form.errors.append(t.gettext("Unknown channel."))
    if categories is None:
        form.errors.append(t.gettext("Unknown category."))
    if form.errors or channels is None or categories is None:
        return None, form
    return ReportFilters(start, end, zone, team_ids, channels, categories), form


def _enum_values(values: list[str], allowed: set[str]) -> tuple[str, ...] | None:
    return tuple(values) if all(v in allowed for v in values) else None


async def _team_ids(
    session: AsyncSession, actor: AgentActor, raw: list[str], errors: list[str], t: Translator
) -> tuple[uuid.UUID, ...]:
    """The chosen teams, each one the viewer may see (unknown and hidden teams read the same)."""
    found: list[uuid.UUID] = []
    for value in raw:
        try:
            team = await access_team_by_id(session, actor, uuid.UUID(value))
        except (ValueError, NotFound):
            errors.append(t.gettext("Unknown team."))
            return ()
        found.append(team.id)
    return tuple(found)


async def visible_teams(session: AsyncSession, actor: AgentActor) -> list[Team]:
    """Teams the viewer may filter by (private teams: members, supervisors and admins)."""
    rows = await session.scalars(select(Team).order_by(Team.name, Team.id))
    return [
        team
        for team in rows
        if not team.is_private or actor.is_supervisor_or_admin or team.id in actor.team_ids
    ]


def text_label(console: Console) -> TextLabel:
    """Cells that read as names: channels, categories, statuses, weekdays (Monday = 0) and hours."""
    t = console.page.t
    channels = {c.value: channel_label(console, c) for c in ChannelKind}
    categories = {c.value: category_label(console, c) for c in Category}
    statuses: dict[str, str] = {str(k): v for k, v in labels(console).status.items()}
    weekdays = [t.gettext(name) for name in WEEKDAY_NAMES]
    by_key = {"channel": channels, "category": categories, "status": statuses}

    def label(column: Column, value: object) -> str | None:
        if column.key in WEEKDAY_KEYS and isinstance(value, int) and 0 <= value < 7:
            return weekdays[value]
        if column.key in HOUR_KEYS and isinstance(value, int) and 0 <= value < 24:
            return f"{value:02d}:00"
        if isinstance(value, str) and column.key in by_key:
            return by_key[column.key].get(value)
        return None

    return label


async def _read_report(
    console: Console, session: AsyncSession, request: Request, key: ReportKey
) -> tuple[ReportFilters | None, FilterForm, ReportTable | None]:
    filters, form = await parse_filters(console, session, request)
    if filters is None:
        return None, form, None
    runtime: Runtime = request.app.state.runtime
    try:
        if runtime.settings.reports_database_url:
            # The dashboards read from the replica when one is configured (docs/deployment.md).
            async with runtime.reports_sessionmaker() as replica:
                table = await run_report(replica, key, filters)
        else:
            table = await run_report(session, key, filters)
    except (InvalidInput, NotFound) as exc:
        form.errors.append(console.page.t.gettext(exc.message))
        return None, form, None
    return filters, form, table


@router.get(REPORTS_PATH)
async def reports_index(console: ConsoleDep) -> Response:
    """Supervisors and admins: a card for every dashboard."""
    require_reports(console)
    return console.render("console/reports/index.html", cards=cards(console))


@router.get(REPORTS_PATH + "/{key}.csv")
async def report_csv(key: str, console: ConsoleDep, session: DbSession, request: Request) -> Response:
    """Supervisors and admins: the report's rows as CSV (UTF-8 with BOM, formulas neutralised)."""
    require_reports(console)
    report = _report_key(key)
    filters, form, table = await _read_report(console, session, request, report)
    if filters is None or table is None:
        return _render(
            console, report, form, None, status=400, teams=await visible_teams(session, console.actor)
        )
    body = export_csv(table, console.page.t, text_label(console))
    headers = CSV_HEADERS | {"content-disposition": content_disposition(file_name(table, filters))}
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


@router.get(REPORTS_PATH + "/{key}")
async def report_page(key: str, console: ConsoleDep, session: DbSession, request: Request) -> Response:
    """Supervisors and admins: one dashboard with its filters, chart, table and CSV link."""
    require_reports(console)
    report = _report_key(key)
    filters, form, table = await _read_report(console, session, request, report)
    status = 400 if filters is None else 200
    return _render(
        console, report, form, table, status=status, teams=await visible_teams(session, console.actor)
    )


def presets(form: FilterForm, key: ReportKey, today: date) -> list[tuple[str, str]]:
    """Links to the last 7, 30 and 90 days (ending today in the chosen zone), keeping the other filters."""
    return [
        (
            str(days),
            f"{REPORTS_PATH}/{key.value}?"
            + form.query(start=(today - timedelta(days=days - 1)).isoformat(), end=today.isoformat()),
        )
        for days in PRESET_DAYS
    ]


def _chart(table: ReportTable, t: Translator, labeller: TextLabel) -> Markup | None:
    if table.chart is None:
        return None
    # render_chart escapes every text it draws (tests/reports_render hold it to that).
    return Markup(render_chart(table, t, labeller))  # noqa: S704


def _render(
    console: Console,
    key: ReportKey,
    form: FilterForm,
    table: ReportTable | None,
    *,
    status: int,
    teams: list[Team],
) -> Response:
    t = console.page.t
    labeller = text_label(console)
    card = next(c for c in cards(console, key.value) if c.current)
    zone = form.time_zone if valid_time_zone(form.time_zone) else "UTC"
    today = utcnow().astimezone(zoneinfo.ZoneInfo(zone)).date()
    context: dict[str, Any] = {
        "cards": cards(console, key.value),
        "card": card,
        "form": form,
        "presets": presets(form, key, today),
        "zones": sorted({*SUGGESTED_ZONES, zone}),
        "teams": teams,
        "channels": [(c.value, channel_label(console, c)) for c in ChannelKind],
        "categories": [(c.value, category_label(console, c)) for c in Category],
        "csv_url": f"{REPORTS_PATH}/{key.value}.csv?{form.query()}",
        "max_days": MAX_RANGE_DAYS,
        "table": None,
    }
    if table is not None:
        context |= {
            "table": table,
            "chart": _chart(table, t, labeller),
            "column_heads": [(t.gettext(c.label), c.kind in NUMERIC_KINDS) for c in table.columns],
            "rows": [
                [
                    (format_value(c, v, t, labeller), c.kind in NUMERIC_KINDS)
                    for c, v in zip(table.columns, row, strict=True)
                ]
                for row in table.rows
            ],
            "note": t.gettext(table.note) if table.note else "",
        }
    return console.page.render("console/reports/report.html", status=status, console=console, **context)


__all__ = ["router"]
