"""The social and phone channels settings page in Debian's chromium: an administrator adds a Telegram bot
through the page (a stand-in Bot API receives getMe and setWebhook), sees it listed with its webhook URL
and credentials as "set" (never their values), and renames it through the edit form."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.channels.telegram.standin import TOKEN, StandIn, running
from tests.e2e.conftest import LiveServer, checked_page, run_server
from tests.e2e.test_admin_settings import ADMIN_PASSWORD, _admin_signs_in

pytestmark = pytest.mark.browser

PATH = "/console/settings/channel-inboxes"


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with running(StandIn()) as served:
        yield served


@pytest.fixture
def live(standin: StandIn, tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(tmp_path, extra_env={"KEFU_TELEGRAM_API_URL": standin.url}) as server:
        yield server


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with checked_page(browser) as opened:
        yield opened


async def test_an_admin_adds_a_telegram_bot_through_the_page(
    page: Page, live: LiveServer, standin: StandIn
) -> None:
    email = f"root-{uuid.uuid4().hex[:6]}@kefu.test"
    live.kefu(
        "agent", "create", "--email", email, "--name", "Root Admin", "--password", ADMIN_PASSWORD,
        "--role", "admin",
    )  # fmt: skip
    await _admin_signs_in(page, live, email, PATH)
    await expect(page.locator(".channel-inboxes .empty")).to_be_visible()

    form = page.locator("#create-telegram")
    await form.locator('input[name="name"]').fill("Support bot")
    await form.locator('input[name="address"]').fill("@kefu_support_bot")
    await form.locator('select[name="mode"]').select_option("webhook")
    # A wrong token first: Telegram refuses it, the page says so and nothing is stored.
    await form.locator('input[name="bot_token"]').fill("999:wrong-token")
    await form.get_by_role("button", name="Generate").click()
    secret = await form.locator('input[name="webhook_secret"]').input_value()
    assert len(secret) >= 32
    await form.get_by_role("button", name="Add").click()
    await expect(form.locator(".form-error")).to_contain_text("check the credentials")
    assert standin.webhook is None

    await form.locator('input[name="bot_token"]').fill(TOKEN)
    async with page.expect_navigation():
        await form.get_by_role("button", name="Add").click()
    row = page.locator('tr[data-channel="telegram"]')
    await expect(row).to_contain_text("Support bot")
    await expect(row).to_contain_text("@kefu_support_bot")
    await expect(row.locator('[data-secret="bot_token"]')).to_have_text("set")
    await expect(row.locator('[data-secret="webhook_secret"]')).to_have_text("set")
    inbox_id = await row.get_attribute("data-inbox-id")
    webhook = f"{live.url}/channels/telegram/{inbox_id}/webhook"
    await expect(page.locator(f'[data-copy="{webhook}"]')).to_be_visible()
    assert standin.webhook is not None
    assert standin.webhook["url"] == webhook
    assert standin.webhook["secret_token"] == secret
    html = await page.content()
    assert TOKEN not in html
    assert secret not in html

    # Rename it; the credentials stay as they were (empty fields keep them).
    card = page.locator(f'section.channel-inbox[data-inbox-id="{inbox_id}"]')
    await card.locator("summary").click()
    await card.locator('input[name="name"]').fill("Telegram desk")
    async with page.expect_navigation():
        await card.get_by_role("button", name="Save").click()
    row = page.locator('tr[data-channel="telegram"]')
    await expect(row).to_contain_text("Telegram desk")
    await expect(row.locator('[data-secret="bot_token"]')).to_have_text("set")
