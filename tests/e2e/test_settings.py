"""The console's settings pages in a real browser: a shared macro and a trigger made through the forms."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer

pytestmark = pytest.mark.browser

BOSS_EMAIL = "boss@kefu.test"
BOSS_PASSWORD = "supervisor-password-42"
ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class Staff:
    token: str  # the agent's API token (conversations arrive through the API)


@pytest.fixture(scope="module")
def staff(live_server: LiveServer) -> Staff:
    """A supervisor next to the live server's agent."""
    live_server.kefu(
        "agent", "create", "--email", BOSS_EMAIL, "--name", "Zhang Boss", "--password", BOSS_PASSWORD,
        "--role", "supervisor",
    )  # fmt: skip
    return Staff(live_server.kefu("token", "create", "--agent", AGENT_EMAIL))


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


async def signed_in(
    browser: Browser, contexts: list[BrowserContext], live: LiveServer, email: str, password: str, path: str
) -> tuple[Page, list[str]]:
    """A signed-in tab on `path` and the CSP violations it reports."""
    context = await browser.new_context()
    contexts.append(context)
    page = await context.new_page()
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", watch)
    await page.goto(f"{live.url}/login?next={path}")
    await page.fill("#email", email)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert page.url.endswith(path), page.url
    return page, blocked


async def open_conversation(live: LiveServer, token: str, subject: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.url) as http:
        response = await http.post(
            "/api/v1/conversations",
            json={
                "subject": subject,
                "body": "Where is my deposit?",
                "customer": {"email": f"chen-{uuid.uuid4().hex[:8]}@example.com", "name": "Chen"},
            },
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


async def test_a_shared_macro_made_in_settings_is_inserted_by_an_agent(
    browser: Browser, live_server: LiveServer, staff: Staff, contexts: list[BrowserContext]
) -> None:
    name = f"Deposit reply {uuid.uuid4().hex[:6]}"
    boss, boss_blocked = await signed_in(
        browser, contexts, live_server, BOSS_EMAIL, BOSS_PASSWORD, "/console/settings/macros"
    )
    form = boss.locator("#macro-form")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('textarea[name="body-en"]').fill("Hello {{password}}")
    await form.locator('input[name="shared"]').check()
    await form.locator('button[type="submit"]').click()
    await expect(form.locator('[data-field="bodies.en"]')).to_contain_text("unknown variables: password")

    body = form.locator('textarea[name="body-en"]')
    await body.fill("Hello ")
    await body.press("End")
    await boss.locator('button.variable[data-variable="{{customer.name}}"]').click()
    await body.press_sequentially(", we are checking your deposit.")
    await form.locator('button[type="submit"]').click()
    await expect(boss.locator("table.macros").get_by_text(name)).to_be_visible()
    await expect(boss.locator(".notice")).to_be_visible()

    created = await open_conversation(live_server, staff.token, f"Macro {uuid.uuid4().hex[:6]}")
    li, li_blocked = await signed_in(
        browser,
        contexts,
        live_server,
        AGENT_EMAIL,
        AGENT_PASSWORD,
        f"/console/conversations/{created['reference']}",
    )
    await li.locator("#macro").select_option(label=name)
    await expect(li.locator("#body")).to_have_value("Hello Chen, we are checking your deposit.")
    assert boss_blocked == []
    assert li_blocked == []


async def test_a_trigger_made_in_the_form_acts_on_new_conversations(
    browser: Browser, live_server: LiveServer, staff: Staff, contexts: list[BrowserContext]
) -> None:
    marker = f"VIP-{uuid.uuid4().hex[:6]}"
    boss, blocked = await signed_in(
        browser, contexts, live_server, BOSS_EMAIL, BOSS_PASSWORD, "/console/settings/triggers"
    )
    form = boss.locator("#trigger-form")
    await form.locator('input[name="name"]').fill(f"{marker} is urgent")
    await form.locator('select[name="on"]').select_option("created")
    condition = form.locator(".rule-row.condition").nth(0)
    await condition.locator('select[name="type"]').select_option("subject_contains")
    await condition.locator('input[name="value-text"]').fill(marker.lower())
    priority = form.locator(".rule-row.action").nth(0)
    await priority.locator('select[name="type"]').select_option("set_priority")
    await priority.locator('select[name="value-select"]').select_option("urgent")
    tags = form.locator(".rule-row.action").nth(1)
    await tags.locator('select[name="type"]').select_option("add_tags")
    await tags.locator('input[name="value-text"]').fill("vip, fast-lane")
    await form.locator('button[type="submit"]').click()
    await expect(boss.locator("table.triggers").get_by_text(f"{marker} is urgent")).to_be_visible()

    hit = await open_conversation(live_server, staff.token, f"Account {marker} question")
    miss = await open_conversation(live_server, staff.token, "Just a question")
    assert hit["priority"] == "urgent"
    assert {"vip", "fast-lane"} <= set(hit["tags"])
    assert miss["priority"] != "urgent"

    # Switching it off through the list keeps it but stops it acting.
    row = boss.locator("table.triggers tr", has_text=f"{marker} is urgent")
    await row.locator('input[data-action="toggle"]').uncheck()
    await expect(boss.locator(".notice")).to_be_visible()
    await expect(
        boss.locator("table.triggers tr", has_text=f"{marker} is urgent").locator("input[data-action=toggle]")
    ).not_to_be_checked()
    later = await open_conversation(live_server, staff.token, f"Another {marker}")
    assert later["priority"] != "urgent"
    assert blocked == []
