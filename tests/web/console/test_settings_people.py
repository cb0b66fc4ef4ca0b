"""The settings index by role, and the people pages: teams (supervisors read, admins manage), agents and
roles (admins only), the official-channels address; hostile names stay text."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.runtime import Runtime
from tests.factories import PASSWORD, make_agent, make_team, open_conversation
from tests.web.console.conftest import assert_console_page, clock, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret

__all__ = ["clock"]

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
PEOPLE_PAGES = ["/console/settings/teams", "/console/settings/agents", "/console/settings/official-channels"]


def _items(page: httpx.Response) -> list[dict[str, Any]]:
    """The API representations the page hands to people_settings.js."""
    return [json.loads(unescape(raw)) for raw in re.findall(r'data-item="([^"]*)"', page.text)]


def _links(page: httpx.Response) -> set[str]:
    return set(re.findall(r'href="(/console/settings/[a-z-]+)"', page.text))


async def _signed_in_admin(client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    """An admin signed in through the pages, second factor enrolled."""
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    signed = await sign_in(client, "root@example.com")
    assert signed.headers["location"] == "/login/enroll"
    started = await post_form(client, "/login/enroll", {"action": "start"})
    secret = setup_secret(started)
    confirmed = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD}
    )
    assert confirmed.status_code == 303, confirmed.text


async def test_signed_out_browsers_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in PEOPLE_PAGES:
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_the_index_groups_what_each_role_may_use(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    await sign_in(client, "li@example.com")
    index = await client.get("/console/settings")
    assert index.status_code == 200
    assert_console_page(index)
    assert {link for link in _links(index) if "macros" not in link} == set()
    assert "Rules" in index.text
    assert "People" not in index.text
    for path in PEOPLE_PAGES:
        page = await client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")

    client.cookies.clear()
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    await sign_in(client, "boss@example.com")
    index = await client.get("/console/settings")
    supervisor_links = {
        f"/console/settings/{key}"
        for key in ["teams", "triggers", "sla", "hours", "routing", "macros", "forms", "search"]
    }
    assert _links(index) == supervisor_links
    for heading in ["People", "Rules", "Help center"]:
        assert f">{heading}</h2>" in index.text
    assert ">Inboxes</h2>" not in index.text
    for path in PEOPLE_PAGES[1:]:
        assert (await client.get(path)).status_code == 404

    client.cookies.clear()
    await _signed_in_admin(client, runtime, clock)
    index = await client.get("/console/settings")
    assert index.status_code == 200
    assert_console_page(index)
    assert _links(index) == supervisor_links | {
        f"/console/settings/{key}"
        for key in ["mailboxes", "channel-inboxes", "agents", "channels", "webhooks"]
    }
    for heading in ["Inboxes", "People", "Rules", "Help center", "Integrations"]:
        assert f">{heading}</h2>" in index.text
    assert 'href="/hc/en/verify"' in index.text
    # The navigation beside every settings page lists the same sections.
    teams = await client.get("/console/settings/teams")
    assert 'data-section="agents"' in teams.text
    assert 'data-section="webhooks"' in teams.text


async def test_supervisors_read_teams_without_controls(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    vault = await make_team(runtime.sessionmaker, HOSTILE, private=True)
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=(vault,))
    await open_conversation(client, boss, subject="Waiting", team_id=str(vault))
    await sign_in(client, "boss@example.com")
    page = await client.get("/console/settings/teams")
    assert page.status_code == 200
    assert_console_page(page)
    assert "<script>alert(1)" not in page.text
    (team,) = _items(page)
    assert (team["id"], team["name"], team["member_ids"]) == (str(vault), HOSTILE, [str(boss.id)])
    assert "1 unfinished conversation<" in page.text
    assert "private" in page.text
    assert "boss" in page.text
    assert 'id="team-form"' not in page.text
    assert 'data-people="' not in page.text
    assert "Only administrators change teams" in page.text


async def test_admins_manage_teams_and_agents(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    funds = await make_team(runtime.sessionmaker, "Funds")
    li = await make_agent(runtime.sessionmaker, "li@example.com", teams=(funds,))
    await make_agent(runtime.sessionmaker, "kyc@example.com", role=Role.KYC_REVIEWER)
    await _signed_in_admin(client, runtime, clock)

    teams = await client.get("/console/settings/teams")
    assert teams.status_code == 200
    assert_console_page(teams)
    assert 'id="team-form"' in teams.text
    assert 'data-api="/api/v1/teams"' in teams.text
    assert 'data-people="delete-team"' in teams.text
    assert 'data-people="remove-member"' in teams.text
    assert "/static/people_settings.js" in teams.text
    assert [t["member_ids"] for t in _items(teams)] == [[str(li.id)]]

    agents = await client.get("/console/settings/agents")
    assert agents.status_code == 200
    assert_console_page(agents)
    rows = {a["email"]: a for a in _items(agents)}
    assert set(rows) == {"root@example.com", "li@example.com", "kyc@example.com"}
    assert rows["li@example.com"]["team_ids"] == [str(funds)]
    assert rows["root@example.com"]["second_factor_enabled"] is True
    assert 'id="agent-form"' in agents.text
    assert 'name="password" type="password"' in agents.text
    assert f'name="team_ids" value="{funds}" checked' in agents.text
    assert "Must set up a second factor" in agents.text  # the KYC reviewer has not enrolled yet
    # Oneself: no role change, no deactivation, no reset.
    own = agents.text.split('data-email="root@example.com"')[1].split("</tr>")[0]
    assert "disabled" in own
    assert 'data-people="deactivate"' not in own
    assert 'data-people="deactivate"' in agents.text

    channels = await client.get("/console/settings/official-channels")
    assert channels.status_code == 303
    assert channels.headers["location"] == "/console/settings/channels"


async def test_hostile_agent_names_render_as_text(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_team(runtime.sessionmaker, HOSTILE)
    await _signed_in_admin(client, runtime, clock)
    created = await client.get("/console/settings/agents")
    assert created.status_code == 200
    assert "<script>alert(1)" not in created.text
    assert "<img src=x" not in created.text
    assert_console_page(created)


@pytest.mark.parametrize("query", ["lang=zh-CN", "x=%00", "page=../../etc"])
async def test_odd_query_strings_and_chinese(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, query: str
) -> None:
    await _signed_in_admin(client, runtime, clock)
    for path in ["/console/settings", "/console/settings/teams", "/console/settings/agents"]:
        page = await client.get(f"{path}?{query}")
        assert page.status_code in (200, 400), (path, page.status_code)
