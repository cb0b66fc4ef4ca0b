"""The help center in a real browser: search with suggestions → article → "helpful" vote, CSP-clean."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_kb(live_server: LiveServer) -> LiveServer:
    """The demo content (knowledge base included), loaded as `make run` loads it."""
    live_server.kefu("demo")
    return live_server


async def test_search_open_article_and_vote(browser: Browser, demo_kb: LiveServer) -> None:
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", watch)
    try:
        await page.goto(f"{demo_kb.url}/hc")
        await expect(page).to_have_url(f"{demo_kb.url}/hc/en")
        box = page.locator("#hc-q")
        await box.fill("account locked")
        suggestion = page.locator("#hc-suggestions a").first
        await expect(suggestion).to_be_visible()
        # Keyboard: the down arrow reaches the suggestions.
        await box.press("ArrowDown")
        await expect(suggestion).to_be_focused()
        await box.focus()
        async with page.expect_navigation():
            await box.press("Enter")
        assert "/hc/en/search?q=" in page.url
        result = page.locator(".hc-results a").first
        await expect(page.locator(".hc-results mark").first).to_be_visible()
        async with page.expect_navigation():
            await result.click()
        assert "/hc/en/articles/" in page.url
        await page.locator('#hc-vote button[data-helpful="true"]').click()
        await expect(page.locator('.hc-vote-thanks[data-for="true"]')).to_be_visible()
        await expect(page.locator(".hc-vote-buttons")).to_be_hidden()
        # The other locale's version is one click away.
        await expect(page.locator('.languages a[hreflang="zh-CN"]')).to_have_attribute(
            "href", page.url.removeprefix(demo_kb.url).replace("/hc/en/", "/hc/zh-CN/")
        )
        assert blocked == []
    finally:
        await context.close()
