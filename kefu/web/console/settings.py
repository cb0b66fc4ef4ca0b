"""Console settings: the index of every section, macros (every agent), triggers, SLA, hours, routing.

Pages only read. Each item is rendered with its API representation in a `data-item` attribute and
kefu/web/static/settings.js sends every change to the JSON API (session cookie + CSRF header), so the
settings pages share the API's validation, permission checks, audit records and tests.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from kefu.auth.models import Agent
from kefu.automation.macros import allowed_variable, form_field_names
from kefu.automation.rules import TriggerOn
from kefu.automation.schemas import AutoCloseOut, MacroOut, TriggerOut
from kefu.automation.service import get_auto_close_policy, list_macros, list_triggers
from kefu.conversations.states import Category, Priority, Status
from kefu.inboxes.models import ChannelKind, Team
from kefu.routing.models import LanguageMatch, Presence, RoutingMode
from kefu.routing.service import count_queue, get_team_routing, list_agent_presence
from kefu.schedules.calendar import WEEKDAYS
from kefu.schedules.models import ExceptionKind
from kefu.schedules.schemas import ExceptionOut, ScheduleOut
from kefu.schedules.service import list_exceptions, list_schedules
from kefu.sla.schemas import SlaPolicyOut
from kefu.sla.service import list_policies
from kefu.web.console.context import Console, ConsoleDep, ConsoleNotFound
from kefu.web.console.inbox import category_label, channel_label, labels
from kefu.web.deps import DbSession
from kefu.web.helpcenter.context import HC_LOCALES, hc_url

router = APIRouter()

SETTINGS_PATH: Final = "/console/settings"
# The variables every macro may use besides {{form.<field>}} (checked against the allowlist below).
_MACRO_VARIABLES: Final = (
    "customer.name",
    "customer.email",
    "conversation.reference",
    "conversation.subject",
    "agent.name",
)
MACRO_LOCALES: Final = ("en", "zh-CN")
# Which pair of operator words a condition row shows ("is / is not" unless named here).
_WORDS: Final = {"tag": "tag", "changed": "changed"}
Fragment = Annotated[str | None, Query(max_length=20)]


@dataclass(frozen=True)
class SectionLink:
    key: str
    label: str
    url: str
    current: bool
    group: str = ""


@dataclass(frozen=True)
class SectionGroup:
    """A heading of the settings index and the sections under it."""

    key: str
    label: str
    links: list[SectionLink]


def require_supervisor(console: Console) -> None:
    """Supervisor-only sections are a 404 page for other agents (never a 403 that confirms them)."""
    if not console.actor.is_supervisor_or_admin:
        raise ConsoleNotFound("settings page not found")


def _section_names(console: Console) -> list[tuple[str, str, str]]:
    """(group, key, label) of every section the agent may use, in the order the index shows them."""
    t = console.page.t
    supervisor, admin = console.actor.is_supervisor_or_admin, console.actor.is_admin
    names: list[tuple[str, str, str]] = []
    if admin:
        names.append(("inboxes", "mailboxes", t.gettext("Support mailboxes")))
        names.append(("inboxes", "channel-inboxes", t.gettext("Social and phone channels")))
    if supervisor:
        names.append(("people", "teams", t.gettext("Teams")))
    if admin:
        names.append(("people", "agents", t.gettext("Agents and roles")))
    if supervisor:
        names += [
            ("rules", "triggers", t.gettext("Triggers")),
            ("rules", "sla", t.gettext("SLA policies")),
            ("rules", "hours", t.gettext("Business hours")),
            ("rules", "routing", t.gettext("Routing")),
        ]
    names.append(("rules", "macros", t.gettext("Macros")))
    if supervisor:
        names += [
            ("helpcenter", "forms", t.gettext("Request forms")),
            ("helpcenter", "search", t.gettext("Help-center search")),
        ]
    if admin:
        names.append(("helpcenter", "channels", t.gettext("Official channels")))
        names.append(("integrations", "webhooks", t.gettext("Webhooks")))
    return names


def sections(console: Console, current: str) -> list[SectionLink]:
    """The settings sections the agent may use (agents: macros only), grouped as the index shows them."""
    return [
        SectionLink(key, label, f"{SETTINGS_PATH}/{key}", key == current, group)
        for group, key, label in _section_names(console)
    ]


def section_groups(console: Console) -> list[SectionGroup]:
    """The index's headings with their sections; headings without a section the agent may use are left out."""
    t = console.page.t
    labels = {
        "inboxes": t.gettext("Inboxes"),
        "people": t.gettext("People"),
        "rules": t.gettext("Rules"),
        "helpcenter": t.gettext("Help center"),
        "integrations": t.gettext("Integrations"),
    }
    links = sections(console, "")
    return [
        SectionGroup(key, label, [link for link in links if link.group == key])
        for key, label in labels.items()
        if any(link.group == key for link in links)
    ]


def page(console: Console, template: str, current: str, **context: Any) -> Response:
    """A settings page with the section navigation (other settings modules use it too)."""
    return console.render(
        f"console/settings/{template}", sections=sections(console, current), current=current, **context
    )


def _options(console: Console) -> dict[str, list[tuple[str, str]]]:
    """Values and labels of the enumerations the forms offer."""
    names = labels(console)
    return {
        "priority": [(p.value, names.priority[p]) for p in Priority],
        "status": [(s.value, names.status[s]) for s in Status],
        "category": [(c.value, category_label(console, c)) for c in Category],
        "channel": [(c.value, channel_label(console, c)) for c in ChannelKind],
        "locale": [("en", "English"), ("zh-CN", "简体中文")],
    }


@router.get(SETTINGS_PATH)
async def settings_index(console: ConsoleDep) -> Response:
    """Signed-in agents: the settings sections they may use, grouped."""
    locale = console.page.locale if console.page.locale in HC_LOCALES else HC_LOCALES[0]
    return page(
        console, "index.html", "", groups=section_groups(console), verify_url=hc_url(locale, "/verify")
    )


def macro_variables() -> list[str]:
    """Every `{{variable}}` a macro body may use, as written in a body."""
    names = [v for v in _MACRO_VARIABLES if allowed_variable(v)]
    names += [f"form.{f}" for f in sorted(form_field_names()) if allowed_variable(f"form.{f}")]
    return ["{{" + name + "}}" for name in names]


@router.get(f"{SETTINGS_PATH}/macros")
async def macros_page(console: ConsoleDep, session: DbSession) -> Response:
    """Every agent: their personal macros (editable) and the shared ones (editable by supervisors)."""
    rows = [
        MacroOut.model_validate(m, from_attributes=True) for m in await list_macros(session, console.actor)
    ]
    supervisor = console.actor.is_supervisor_or_admin
    return page(
        console,
        "macros.html",
        "macros",
        personal=[m.model_dump(mode="json") for m in rows if not m.shared],
        shared=[m.model_dump(mode="json") for m in rows if m.shared],
        can_share=supervisor,
        locales=MACRO_LOCALES,
        variables=macro_variables(),
    )


def _trigger_choices(console: Console, teams: list[Team]) -> dict[str, Any]:
    """What the trigger form offers: condition and action types, their value lists, operator words."""
    t = console.page.t
    options = _options(console)
    team_options = [(str(team.id), team.name) for team in teams]
    conditions = {
        "category": (t.gettext("Category"), "select", options["category"]),
        "priority": (t.gettext("Priority"), "select", options["priority"]),
        "status": (t.gettext("Status"), "select", options["status"]),
        "channel": (t.gettext("Channel"), "select", options["channel"]),
        "team": (t.gettext("Team"), "select", [("", t.gettext("(no team)")), *team_options]),
        "locale": (t.gettext("Language"), "select", options["locale"]),
        "tag": (t.gettext("Tag"), "text", []),
        "subject_contains": (t.gettext("Subject"), "text", []),
        "first_message_contains": (t.gettext("First message"), "text", []),
        "text_contains": (t.gettext("Subject or first message"), "text", []),
        "message_contains": (t.gettext("This message"), "text", []),
        "form_field": (t.gettext("Form field"), "form", []),
        "changed": (
            t.gettext("Changed field (updates only)"),
            "select",
            [
                ("status", t.gettext("Status")),
                ("priority", t.gettext("Priority")),
                ("category", t.gettext("Category")),
                ("team", t.gettext("Team")),
                ("assignee", t.gettext("Assignee")),
                ("tags", t.gettext("Tags")),
            ],
        ),
    }
    actions = {
        "set_priority": (t.gettext("Set priority"), "select", options["priority"]),
        "set_status": (t.gettext("Set status"), "select", options["status"]),
        "set_category": (t.gettext("Set category"), "select", options["category"]),
        "set_team": (t.gettext("Move to team"), "select", team_options),
        "add_tags": (t.gettext("Add tags (comma-separated)"), "tags", []),
        "remove_tags": (t.gettext("Remove tags (comma-separated)"), "tags", []),
        "add_note": (t.gettext("Add an internal note"), "text", []),
    }
    operators = {
        "select": [t.gettext("is"), t.gettext("is not")],
        "text": [t.gettext("contains"), t.gettext("does not contain")],
        "tag": [t.gettext("has"), t.gettext("has not")],
        "form": [t.gettext("is filled in (or equals)"), t.gettext("is not filled in (or differs)")],
        "changed": [t.gettext("changed"), t.gettext("did not change")],
    }
    return {
        "conditions": {
            k: {"label": v[0], "input": v[1], "options": v[2], "words": _WORDS.get(k, v[1])}
            for k, v in conditions.items()
        },
        "actions": {k: {"label": v[0], "input": v[1], "options": v[2]} for k, v in actions.items()},
        "operators": operators,
    }


async def _teams(session: DbSession) -> list[Team]:
    return list(await session.scalars(select(Team).order_by(Team.name, Team.id)))


@router.get(f"{SETTINGS_PATH}/triggers")
async def triggers_page(console: ConsoleDep, session: DbSession) -> Response:
    """Supervisors: triggers in evaluation order, the structured editor, and the auto-close policy."""
    require_supervisor(console)
    t = console.page.t
    teams = await _teams(session)
    triggers = [TriggerOut.model_validate(row, from_attributes=True) for row in await list_triggers(session)]
    policy = AutoCloseOut.model_validate(await get_auto_close_policy(session), from_attributes=True)
    return page(
        console,
        "triggers.html",
        "triggers",
        triggers=[trigger.model_dump(mode="json") for trigger in triggers],
        on_labels={
            TriggerOn.CREATED.value: t.gettext("A conversation is created"),
            TriggerOn.UPDATED.value: t.gettext("A conversation is updated"),
            TriggerOn.CUSTOMER_MESSAGE.value: t.gettext("The customer writes"),
        },
        choices=_trigger_choices(console, teams),
        auto_close=policy,
        row_count=range(5),
    )


@router.get(f"{SETTINGS_PATH}/sla")
async def sla_page(console: ConsoleDep, session: DbSession) -> Response:
    """Supervisors: SLA policies in the order they are tried, and the editor."""
    require_supervisor(console)
    policies = [SlaPolicyOut.model_validate(p).model_dump(mode="json") for p in await list_policies(session)]
    return page(console, "sla.html", "sla", policies=policies, options=_options(console))


@cache
def _time_zones() -> list[str]:
    return sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone or zone == "UTC")


def _weekday_labels(console: Console) -> list[tuple[str, str]]:
    t = console.page.t
    names = [
        t.gettext("Monday"),
        t.gettext("Tuesday"),
        t.gettext("Wednesday"),
        t.gettext("Thursday"),
        t.gettext("Friday"),
        t.gettext("Saturday"),
        t.gettext("Sunday"),
    ]
    return list(zip(WEEKDAYS, names, strict=True))


@router.get(f"{SETTINGS_PATH}/hours")
async def hours_page(console: ConsoleDep, session: DbSession) -> Response:
    """Supervisors: business-hours schedules, their closed days and make-up working days."""
    require_supervisor(console)
    t = console.page.t
    teams = await _teams(session)
    schedules = []
    for row in await list_schedules(session):
        exceptions = [
            ExceptionOut.model_validate(e).model_dump(mode="json")
            for e in await list_exceptions(session, row.id)
        ]
        schedules.append((ScheduleOut.model_validate(row).model_dump(mode="json"), exceptions))
    return page(
        console,
        "hours.html",
        "hours",
        schedules=schedules,
        teams=teams,
        team_names={str(team.id): team.name for team in teams},
        weekdays=_weekday_labels(console),
        time_zones=_time_zones(),
        kinds={
            ExceptionKind.CLOSED.value: t.gettext("Closed"),
            ExceptionKind.WORKING.value: t.gettext("Make-up working day"),
        },
    )


@router.get(f"{SETTINGS_PATH}/routing")
async def routing_page(console: ConsoleDep, session: DbSession, fragment: Fragment = None) -> Response:
    """Supervisors: each team's routing mode and language rule, agents' capacity and languages, presence."""
    require_supervisor(console)
    t = console.page.t
    presence = await list_agent_presence(session)
    presence_labels = {
        Presence.ONLINE.value: t.gettext("Online"),
        Presence.AWAY.value: t.gettext("Away"),
        Presence.OFFLINE.value: t.gettext("Offline"),
    }
    if fragment == "presence":
        return console.render(
            "console/settings/_presence.html", presence=presence, presence_labels=presence_labels
        )
    teams = []
    for team in await _teams(session):
        routing = await get_team_routing(session, team.id)
        teams.append((team, routing, await count_queue(session, team.id)))
    agents = list(
        await session.scalars(select(Agent).where(Agent.is_active.is_(True)).order_by(Agent.name, Agent.id))
    )
    return page(
        console,
        "routing.html",
        "routing",
        teams=teams,
        agents=agents,
        presence=presence,
        presence_labels=presence_labels,
        modes={
            RoutingMode.MANUAL.value: t.gettext("Manual"),
            RoutingMode.ROUND_ROBIN.value: t.gettext("Round robin"),
            RoutingMode.LEAST_LOADED.value: t.gettext("Least loaded"),
        },
        language_rules={
            LanguageMatch.PREFER.value: t.gettext("Prefer speakers of the customer's language"),
            LanguageMatch.REQUIRE.value: t.gettext("Only speakers of the customer's language"),
            LanguageMatch.IGNORE.value: t.gettext("Ignore language"),
        },
    )
