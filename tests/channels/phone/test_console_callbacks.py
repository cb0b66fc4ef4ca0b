"""The call-back queue in the console: agents see promised calls with overdue flags and log outcomes
from the page (its script posts to the API with the session's CSRF header)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from kefu.core.clock import FrozenClock
from kefu.runtime import Runtime
from tests.channels.phone.conftest import Line
from tests.channels.phone.test_callbacks import GOOD, submit
from tests.factories import make_agent
from tests.web.console.conftest import assert_console_page, sign_in


async def test_agents_work_the_queue_in_the_console(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    assert (await submit(phone_client, GOOD)).status_code == 303
    assert (await phone_client.get("/console/callbacks")).status_code == 303  # signed out: to sign-in
    await make_agent(runtime.sessionmaker, "li@kefu.test")
    await sign_in(phone_client, "li@kefu.test")
    page = await phone_client.get("/console/callbacks")
    assert page.status_code == 200
    assert_console_page(page)
    assert "+8613800138000" in page.text
    assert "Overdue" not in page.text
    callback_id = re.search(r'data-callback="([0-9a-f-]{36})"', page.text)
    assert callback_id is not None

    clock.advance(datetime(2025, 3, 12, 3, 1, tzinfo=UTC) - clock.now())  # past the window's end
    await sign_in(phone_client, "li@kefu.test")  # days later: a new session
    page = await phone_client.get("/console/callbacks")
    assert "Overdue" in page.text
    csrf = re.search(r'<meta name="kefu-csrf" content="([^"]+)"', page.text)
    assert csrf is not None
    url = f"/api/v1/callbacks/{callback_id.group(1)}/outcome"
    assert (await phone_client.post(url, json={"outcome": "done"})).status_code == 403  # no CSRF header
    logged = await phone_client.post(
        url, json={"outcome": "done", "note": "credited"}, headers={"x-csrf-token": csrf.group(1)}
    )
    assert logged.status_code == 200, logged.text
    assert "No call backs here." in (await phone_client.get("/console/callbacks")).text
    done = await phone_client.get("/console/callbacks?status=done")
    assert "credited" in done.text
    assert (await phone_client.get("/console/callbacks?status=bogus")).status_code == 200  # open ones
