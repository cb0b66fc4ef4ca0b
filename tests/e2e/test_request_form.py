"""The "Submit a request" form in a real browser: a trading problem, field errors, a call back in Chinese."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Request, Response, expect

from kefu.i18n import get_translator
from tests.e2e.conftest import LiveServer, checked_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_kb(live_server: LiveServer) -> LiveServer:
    """The demo content (knowledge base included), for the suggested articles."""
    live_server.kefu("demo")
    return live_server


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh English page that fails the test on any Content Security Policy report."""
    async with checked_page(browser, timezone_id="Asia/Shanghai") as opened:
        yield opened


def _deflection(kind: str) -> Callable[[Response], bool]:
    """Matches the accepted deflection event of `kind`."""

    def match(response: Response) -> bool:
        request = response.request
        return (
            response.url.endswith("/api/v1/request-forms/deflection")
            and response.status == 204
            and json.loads(request.post_data or "{}").get("kind") == kind
        )

    return match


def _deflection_request(kind: str) -> Callable[[Request], bool]:
    """Matches the deflection event of `kind` as sent (the page may be gone before the answer)."""

    def match(request: Request) -> bool:
        return request.url.endswith("/api/v1/request-forms/deflection") and (
            json.loads(request.post_data or "{}").get("kind") == kind
        )

    return match


def _screenshot(tmp_path: Path) -> Path:
    path = tmp_path / "screenshot.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path, format="PNG")
    return path


async def test_trading_problem_with_a_screenshot(page: Page, demo_kb: LiveServer, tmp_path: Path) -> None:
    await page.goto(f"{demo_kb.url}/hc/en/requests/new")
    async with page.expect_navigation():
        await page.locator('a[data-category="trading"]').click()
    assert page.url.endswith("/hc/en/requests/new?category=trading")
    # The browser's own offset is preselected next to the date and time.
    await expect(page.locator("#hc-f-occurred_at-tz")).to_have_value("+08:00")
    await page.locator("#hc-f-email").fill("trader@example.com")
    # Suggestions while the subject is typed are reported for the deflection counts, and so is
    # opening one (in a new tab, keeping this form).
    async with page.expect_response(_deflection("suggested")):
        await page.locator("#hc-f-subject").fill("account locked")
    suggestion = page.locator("#hc-request-suggestions a").first
    await expect(suggestion).to_be_visible()
    async with page.expect_response(_deflection("opened")), page.context.expect_page() as opened:
        await suggestion.click()
    await (await opened.value).close()
    await page.locator("#hc-f-subject").fill("My limit order did not fill")
    await page.locator("#hc-f-body").fill("The price crossed my limit but the order stayed open.")
    await page.locator("#hc-f-pair").fill("btc/usdt")
    await page.locator("#hc-f-order_id").fill("ord-123456")
    await page.locator("#hc-f-side").select_option("buy")
    await page.locator("#hc-f-occurred_at").fill("2026-01-31T12:30")
    await page.locator("#hc-f-error_message").fill("Order failed <b>E42</b>")
    await page.locator("#hc-f-files").set_input_files(str(_screenshot(tmp_path)))
    async with (
        page.expect_request(_deflection_request("submitted")),
        page.expect_navigation(url=re.compile(r"/hc/en/requests/submitted\?reference=KF-\d{8}$")),
    ):
        await page.locator('#hc-request-form button[type="submit"]').click()
    await expect(page.locator("#hc-reference")).to_have_text(re.compile(r"^KF-\d{8}$"))
    reference = await page.locator("#hc-reference").inner_text()
    assert page.url.endswith(reference)


async def test_a_bad_field_shows_its_message(page: Page, live_server: LiveServer) -> None:
    await page.goto(f"{live_server.url}/hc/en/requests/new?category=deposit")
    await page.locator("#hc-f-email").fill("holder@example.com")
    await page.locator("#hc-f-body").fill("My deposit has not arrived.")
    await page.locator("#hc-f-tx_hash").fill("not a hash!")
    await page.locator('#hc-request-form button[type="submit"]').click()
    message = page.locator("#hc-f-tx_hash-error")
    await expect(message).to_be_visible()
    # The server's own message for that field, in the page's language.
    await expect(message).to_have_text(
        "Enter the transaction hash (TxID) as your wallet shows it: 32 to 100 letters and digits."
    )
    await expect(page.locator("#hc-f-tx_hash")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#hc-f-body-error")).to_be_hidden()
    assert "/requests/new" in page.url
    # Fixing it and leaving out the email: the message moves to the email input.
    await page.locator("#hc-f-tx_hash").fill("0x" + "ab" * 32)
    await page.locator("#hc-f-email").fill("")
    await page.locator('#hc-request-form button[type="submit"]').click()
    await expect(page.locator("#hc-f-email-error")).to_be_visible()
    await expect(page.locator("#hc-f-tx_hash-error")).to_be_hidden()


async def test_a_call_back_in_chinese(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = await context.new_page()
    try:
        await page.goto(f"{live_server.url}/hc/zh-CN/requests/new?category=callback")
        # The browser's own time zone is filled in.
        await expect(page.locator("#hc-f-time_zone")).to_have_value("Asia/Shanghai")
        await page.locator("#hc-f-email").fill("caller@example.com")
        await page.locator("#hc-f-body").fill("请给我回电")
        await page.locator("#hc-f-phone").fill("138 0013 8000")
        await page.locator("#hc-f-window_from").fill("10:00")
        await page.locator("#hc-f-window_to").fill("09:00")
        await page.locator('#hc-request-form button[type="submit"]').click()
        zh = get_translator("zh-CN")
        await expect(page.locator("#hc-f-phone-error")).to_have_text(
            zh.gettext("Start the number with + and the country code, or choose your country or region.")
        )
        await expect(page.locator("#hc-f-window_to-error")).to_have_text(
            zh.gettext("The end of the time window must be after its start.")
        )
        await page.locator("#hc-f-phone_region").select_option("CN")
        await page.locator("#hc-f-window_to").fill("12:00")
        async with page.expect_navigation(
            url=re.compile(r"/hc/zh-CN/requests/submitted\?reference=KF-\d{8}$")
        ):
            await page.locator('#hc-request-form button[type="submit"]').click()
    finally:
        await context.close()
