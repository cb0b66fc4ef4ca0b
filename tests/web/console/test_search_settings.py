"""The search settings page: supervisors edit synonyms and see searches that found no good answer."""

from __future__ import annotations

import httpx

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.runtime import Runtime
from tests.factories import make_agent
from tests.web.console.conftest import assert_console_page, sign_in

HOSTILE = "<script>alert(1)</script>比特币明年"


async def test_supervisors_see_misses_and_synonyms_agents_do_not(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    await make_agent(runtime.sessionmaker, "li@example.com")
    for _ in range(2):
        searched = await client.get("/api/v1/kb/search", params={"q": HOSTILE, "locale": "zh-CN"})
        assert searched.status_code == 200
    saved = await client.put(
        "/api/v1/search/synonyms",
        json={"locale": "en", "groups": [["withdraw", "cash out"]]},
        headers=boss.headers,
    )
    assert saved.status_code == 200, saved.text

    await sign_in(client, "boss@example.com")
    page = await client.get("/console/settings/search")
    assert page.status_code == 200
    assert_console_page(page)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;比特币明年" in page.text
    assert "<td>2</td>" in page.text  # asked twice
    assert "withdraw, cash out" in page.text
    assert "提现" in page.text  # zh-CN still shows the built-in list
    client.cookies.clear()

    await sign_in(client, "li@example.com")
    refused = await client.get("/console/settings/search")
    assert refused.status_code == 404
    index = await client.get("/console/settings")
    assert "/console/settings/search" not in index.text
