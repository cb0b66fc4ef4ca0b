"""The console's settings pages: who may open which, what they show, hostile content stays text."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.runtime import Runtime
from kefu.web.console import settings as settings_pages
from tests.factories import StaffMember, make_agent, make_team
from tests.web.console.conftest import assert_console_page, sign_in

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
SUPERVISOR_PAGES = ["triggers", "sla", "hours", "routing"]


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, with the settings pages mounted even before the lead wires them into the console."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    if not any(getattr(route, "path", "") == "/console/settings" for route in app.routes):
        app.include_router(settings_pages.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kefu.test") as c:
        yield c


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _items(page: httpx.Response) -> list[dict[str, Any]]:
    """The API representations the page hands to settings.js."""
    return [json.loads(unescape(raw)) for raw in re.findall(r'data-item="([^"]*)"', page.text)]


def _assert_text_only(page: httpx.Response) -> None:
    # No raw tag from the data; as text or inside a JSON attribute it is inert (and
    # assert_console_page checks that no element carries an event handler).
    assert "<script>alert(1)" not in page.text
    assert "<img src=x" not in page.text


async def _seed(browser: httpx.AsyncClient, boss: StaffMember, name: str) -> dict[str, str]:
    """One of everything the supervisor pages show, all named `name`."""
    headers = boss.headers
    macro = _ok(
        await browser.post(
            "/api/v1/macros",
            json={"name": name, "bodies": {"en": name + " {{customer.name}}"}, "shared": True},
            headers=headers,
        )
    )
    trigger = _ok(
        await browser.post(
            "/api/v1/triggers",
            json={
                "name": name,
                "on": "created",
                "conditions": [{"type": "subject_contains", "value": name}],
                "actions": [{"type": "add_note", "body": name}],
            },
            headers=headers,
        )
    )
    policy = _ok(
        await browser.post(
            "/api/v1/sla-policies",
            json={"name": name, "priorities": ["urgent"], "first_response_minutes": 30},
            headers=headers,
        )
    )
    schedule = _ok(
        await browser.post(
            "/api/v1/schedules",
            json={
                "name": name,
                "timezone": "Asia/Shanghai",
                "weekly_hours": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]]},
                "holiday_country": "CN",
                "is_default": True,
            },
            headers=headers,
        )
    )
    _ok(
        await browser.post(
            f"/api/v1/schedules/{schedule['id']}/exceptions",
            json={"date": "2026-10-10", "name": name, "kind": "working"},
            headers=headers,
        )
    )
    return {
        "macro": macro["id"],
        "trigger": trigger["id"],
        "policy": policy["id"],
        "schedule": schedule["id"],
    }


async def test_signed_out_browsers_are_sent_to_sign_in(browser: httpx.AsyncClient) -> None:
    for path in ["/console/settings", "/console/settings/macros", "/console/settings/routing"]:
        response = await browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_supervisors_see_every_page_with_existing_data(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    wallet = await make_team(runtime.sessionmaker, "Wallet")
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=(wallet,))
    ids = await _seed(browser, boss, "Deposit help")
    await sign_in(browser, "boss@example.com")

    index = await browser.get("/console/settings")
    assert index.status_code == 200
    assert_console_page(index)
    for section in ["macros", *SUPERVISOR_PAGES]:
        assert f'href="/console/settings/{section}"' in index.text

    for section, key in [
        ("macros", "macro"),
        ("triggers", "trigger"),
        ("sla", "policy"),
        ("hours", "schedule"),
    ]:
        page = await browser.get(f"/console/settings/{section}")
        assert page.status_code == 200, page.text
        assert_console_page(page)
        assert "Deposit help" in page.text
        assert ids[key] in [item["id"] for item in _items(page)]
        assert "/static/settings.js" in page.text

    triggers = _items(await browser.get("/console/settings/triggers"))
    assert triggers[0]["conditions"] == [
        {"type": "subject_contains", "value": "Deposit help", "negate": False}
    ]
    hours = await browser.get("/console/settings/hours")
    assert "13:00–18:00" in hours.text
    assert "2026-10-10" in hours.text
    assert "Asia/Shanghai" in hours.text

    routing = await browser.get("/console/settings/routing")
    assert routing.status_code == 200
    assert_console_page(routing)
    assert f"/api/v1/teams/{wallet}/routing" in routing.text
    assert f"/api/v1/agents/{boss.id}/routing-profile" in routing.text
    fragment = await browser.get("/console/settings/routing?fragment=presence")
    assert fragment.text.lstrip().startswith('<table id="presence-table"')
    assert "boss" in fragment.text


async def test_agents_use_macros_but_never_see_supervisor_pages(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    li = await make_agent(runtime.sessionmaker, "li@example.com")
    wang = await make_agent(runtime.sessionmaker, "wang@example.com")
    await _seed(browser, boss, "Shared answer")
    mine = _ok(
        await browser.post(
            "/api/v1/macros", json={"name": "Li's own", "bodies": {"en": "hi"}}, headers=li.headers
        )
    )
    _ok(
        await browser.post(
            "/api/v1/macros", json={"name": "Wang's own", "bodies": {"en": "yo"}}, headers=wang.headers
        )
    )
    await sign_in(browser, "li@example.com")

    index = await browser.get("/console/settings")
    assert index.status_code == 200
    assert 'href="/console/settings/macros"' in index.text
    for section in SUPERVISOR_PAGES:
        assert f'href="/console/settings/{section}"' not in index.text
        page = await browser.get(f"/console/settings/{section}")
        assert page.status_code == 404, section
        assert page.headers["content-type"].startswith("text/html")
        assert "Shared answer" not in page.text
    fragment = await browser.get("/console/settings/routing?fragment=presence")
    assert fragment.status_code == 404

    macros = await browser.get("/console/settings/macros")
    assert macros.status_code == 200
    assert_console_page(macros)
    assert "Li&#39;s own" in macros.text
    assert "Shared answer" in macros.text
    assert "Wang" not in macros.text  # another agent's personal macro
    assert 'name="shared"' not in macros.text  # agents cannot share
    # Edit buttons only on the agent's own macro: the shared one is read-only.
    rows = re.findall(r'<tr data-item="[^"]*" data-id="([^"]+)".*?</tr>', macros.text, re.S)
    editable = re.findall(r'data-id="([^"]+)"[^>]*>(?:(?!</tr>).)*data-action="edit"', macros.text, re.S)
    assert len(rows) == 2
    assert editable == [mine["id"]]
    assert "{{customer.name}}" in macros.text  # the variable list
    assert "{{form.tx_hash}}" in macros.text


async def test_hostile_names_and_bodies_render_as_text(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    hostile_team = await make_team(runtime.sessionmaker, HOSTILE[:40])
    boss = await make_agent(
        runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=(hostile_team,)
    )
    ids = await _seed(browser, boss, HOSTILE)
    _ok(
        await browser.put(
            f"/api/v1/macros/{ids['macro']}",
            json={"name": HOSTILE, "bodies": {"en": HOSTILE, "zh-CN": HOSTILE}, "shared": True},
            headers=boss.headers,
        ),
        200,
    )
    await sign_in(browser, "boss@example.com")
    for section in ["", "/macros", *[f"/{s}" for s in SUPERVISOR_PAGES]]:
        page = await browser.get(f"/console/settings{section}")
        assert page.status_code == 200, section
        _assert_text_only(page)
        assert_console_page(page)
    macros = _items(await browser.get("/console/settings/macros"))
    assert macros[0]["bodies"]["en"] == HOSTILE  # intact for the editor, escaped in the attribute


async def test_hostile_query_strings_never_break_the_pages(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    await sign_in(browser, "boss@example.com")
    for section in ["", "/macros", *[f"/{s}" for s in SUPERVISOR_PAGES]]:
        for query in [
            "fragment=%00",
            "fragment=" + "x" * 500,
            "fragment=../../etc",
            "x=%3Cscript%3E",
            "lang=%00",
        ]:
            page = await browser.get(f"/console/settings{section}?{query}")
            assert page.status_code in (200, 400, 422), (section, query, page.status_code)
            _assert_text_only(page)
    for path in ["/console/settings/%00", "/console/settings/../../etc", "/console/settings/macros/x"]:
        missing = await browser.get(path)
        assert missing.status_code in (400, 404), path


async def test_empty_pages_render_for_a_fresh_install(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    await sign_in(browser, "boss@example.com")
    for section in ["/macros", *[f"/{s}" for s in SUPERVISOR_PAGES]]:
        page = await browser.get(f"/console/settings{section}")
        assert page.status_code == 200, (section, page.status_code)
        assert_console_page(page)
        assert 'class="empty"' in page.text


async def test_pages_speak_chinese(browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    await sign_in(browser, "boss@example.com")
    page = await browser.get("/console/settings/routing?lang=zh-CN")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text
