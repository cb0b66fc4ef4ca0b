"""Signing in through a real browser, and hostile input that must never run as script."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog

from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer

pytestmark = pytest.mark.browser

HOSTILE_EMAIL = '"><img src=x onerror="window.__pwned=1;alert(1)">@example.com'


async def test_hostile_email_is_shown_as_text_and_never_runs(
    browser: Browser, live_server: LiveServer
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    dialogs: list[Dialog] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog)

    page.on("dialog", record)
    await page.goto(f"{live_server.url}/login")
    await page.fill("#email", HOSTILE_EMAIL)
    await page.fill("#password", "not the password")
    # form.submit() skips the browser's own email validation, as an attacker's page would.
    async with page.expect_navigation():
        await page.eval_on_selector("form", "form => form.submit()")
    assert await page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert await page.input_value("#email") == HOSTILE_EMAIL  # echoed back as a value, escaped
    assert await page.locator("img[src=x]").count() == 0
    await context.close()


async def test_agent_signs_in_and_out(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", watch)
    await page.goto(f"{live_server.url}/login?next=//evil.example")
    await page.fill("#email", AGENT_EMAIL)
    await page.fill("#password", AGENT_PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert page.url == f"{live_server.url}/console"  # the foreign `next` was ignored
    assert "Li Wei" in await page.content()
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["kefu_session"]["httpOnly"]
    assert blocked == []  # our own pages never trip our CSP

    await page.goto(f"{live_server.url}/login?lang=zh-CN")
    assert await page.get_attribute("html", "lang") in ("zh-CN", "zh-Hans")
    await context.close()
