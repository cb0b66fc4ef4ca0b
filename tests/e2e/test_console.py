"""The agent console in a real browser: live arrivals, replies, collision notices, catch-up, shortcuts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, WebSocketRoute, expect

from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer

pytestmark = pytest.mark.browser

SECOND_EMAIL = "wang@kefu.test"
SECOND_NAME = "Wang Fang"


@dataclass
class Staff:
    token: str
    second_password: str


@pytest.fixture(scope="module")
def staff(live_server: LiveServer) -> Staff:
    """A second agent and an API token for the first (conversations arrive through the API)."""
    password = "second-agent-password-42"
    live_server.kefu(
        "agent", "create", "--email", SECOND_EMAIL, "--name", SECOND_NAME, "--password", password
    )
    return Staff(live_server.kefu("token", "create", "--agent", AGENT_EMAIL), password)


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


async def console_page(
    browser: Browser, contexts: list[BrowserContext], live: LiveServer, email: str, password: str
) -> tuple[Page, list[str]]:
    """A signed-in console tab (and the CSP violations it reports)."""
    context = await browser.new_context()
    contexts.append(context)
    page = await context.new_page()
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", watch)
    await page.goto(f"{live.url}/login?next=/console%3Fview%3Dall_open")
    await page.fill("#email", email)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    await expect(page.locator("body[data-socket-ready=true]")).to_have_count(1)
    return page, blocked


async def open_conversation(live: LiveServer, token: str, subject: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=live.url) as http:
        response = await http.post(
            "/api/v1/conversations",
            json={
                "subject": subject,
                "body": "My USDT deposit is missing",
                "customer": {"email": "c@example.com"},
            },
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


async def test_new_conversation_arrives_live_and_colleagues_see_who_is_replying(
    browser: Browser, live_server: LiveServer, staff: Staff, contexts: list[BrowserContext]
) -> None:
    li, li_blocked = await console_page(browser, contexts, live_server, AGENT_EMAIL, AGENT_PASSWORD)
    subject = f"Deposit {uuid.uuid4().hex[:8]}"
    created = await open_conversation(live_server, staff.token, subject)
    await expect(li.locator("#list").get_by_text(subject)).to_be_visible()  # no reload

    await li.get_by_role("link", name=created["reference"]).click()
    await expect(li.locator("body[data-socket-ready=true]")).to_have_count(1)
    wang, wang_blocked = await console_page(
        browser, contexts, live_server, SECOND_EMAIL, staff.second_password
    )
    await wang.goto(f"{live_server.url}/console/conversations/{created['reference']}")
    await expect(wang.locator("body[data-socket-ready=true]")).to_have_count(1)

    await li.locator("#body").press_sequentially("Thanks, we are checking the deposit", delay=20)
    await expect(wang.locator("#collision")).to_contain_text("Li Wei")
    await li.locator("#body").press("Control+Enter")
    reply = "Thanks, we are checking the deposit"
    await expect(li.locator("#timeline")).to_contain_text(reply)
    await expect(wang.locator("#timeline")).to_contain_text(reply)  # arrived live on the other tab
    assert li_blocked == []
    assert wang_blocked == []


async def test_after_a_dropped_connection_the_console_catches_up(
    browser: Browser, live_server: LiveServer, staff: Staff, contexts: list[BrowserContext]
) -> None:
    context = await browser.new_context()
    contexts.append(context)
    routes: list[WebSocketRoute] = []
    release = asyncio.Event()

    async def relay(route: WebSocketRoute) -> None:
        routes.append(route)
        if len(routes) > 1:
            await release.wait()  # hold the reconnect until the missed events exist
        route.connect_to_server()

    await context.route_web_socket("**/console/ws", relay)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login?next=/console%3Fview%3Dall_open")
    await page.fill("#email", AGENT_EMAIL)
    await page.fill("#password", AGENT_PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    await expect(page.locator("#connection[data-state=live]")).to_have_count(1)

    await routes[0].close(code=1012, reason="server restart")
    await expect(page.locator("#connection[data-state=connecting]")).to_have_count(1)
    subject = f"Missed {uuid.uuid4().hex[:8]}"
    await open_conversation(live_server, staff.token, subject)
    await asyncio.sleep(0.5)
    assert await page.locator("#list").get_by_text(subject).count() == 0  # nothing live while down
    release.set()
    await expect(page.locator("#connection[data-state=live]")).to_have_count(1)
    await expect(page.locator("#list").get_by_text(subject)).to_be_visible()


async def test_keyboard_shortcuts(
    browser: Browser, live_server: LiveServer, staff: Staff, contexts: list[BrowserContext]
) -> None:
    await open_conversation(live_server, staff.token, f"Shortcut {uuid.uuid4().hex[:8]}")
    page, _ = await console_page(browser, contexts, live_server, AGENT_EMAIL, AGENT_PASSWORD)
    await page.keyboard.press("?")
    await expect(page.locator("#shortcuts")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#shortcuts")).to_be_hidden()
    await page.keyboard.press("/")
    await expect(page.locator("#search")).to_be_focused()
    await page.keyboard.press("Escape")
    await page.keyboard.press("j")
    await expect(page.locator("#list tbody tr.selected")).to_have_count(1)
    async with page.expect_navigation():
        await page.keyboard.press("o")
    assert "/console/conversations/KF-" in page.url
    await expect(page.locator("body[data-socket-ready=true]")).to_have_count(1)
    await page.keyboard.press("n")
    await expect(page.locator("#body")).to_be_focused()
    await expect(page.locator('#composer input[value="note"]')).to_be_checked()
