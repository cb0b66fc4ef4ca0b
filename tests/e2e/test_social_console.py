"""A Telegram conversation end to end with real processes: an admin adds the bot (the stand-in Bot API
receives setWebhook), a customer writes to the webhook, an agent answers in the console in Debian's
chromium, and `kefu serve`'s worker delivers the reply to the stand-in's sendMessage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.channels.telegram.payloads import USER_ID, text_update
from tests.channels.telegram.standin import TOKEN, StandIn, running
from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer, run_server
from tests.e2e.test_console import console_page

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "root@kefu.test"
WEBHOOK_SECRET = "e2e-webhook-secret-0123456789"


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with running(StandIn()) as served:
        yield served


@pytest.fixture
def live(standin: StandIn, tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(tmp_path, extra_env={"KEFU_TELEGRAM_API_URL": standin.url}, worker=True) as server:
        yield server


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


async def test_a_telegram_message_is_answered_from_the_console(
    browser: Browser, live: LiveServer, standin: StandIn, contexts: list[BrowserContext]
) -> None:
    live.kefu(
        "agent",
        "create",
        "--email",
        ADMIN_EMAIL,
        "--name",
        "Root",
        "--password",
        AGENT_PASSWORD,
        "--role",
        "admin",
    )
    token = live.kefu(
        "token", "create", "--agent", ADMIN_EMAIL, "--scope", "admin",
        "--scope", "conversations:read", "--scope", "conversations:write",
    )  # fmt: skip
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        created = await http.post(
            "/api/v1/channel-inboxes",
            json={
                "channel": "telegram",
                "name": "Support bot",
                "address": "@kefu_support_bot",
                "config": {"mode": "webhook"},
                "secrets": {"bot_token": TOKEN, "webhook_secret": WEBHOOK_SECRET},
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        inbox_id = created.json()["id"]
        assert standin.webhook is not None
        assert standin.webhook["url"] == f"{live.url}/channels/telegram/{inbox_id}/webhook"

        hook = f"/channels/telegram/{inbox_id}/webhook"
        forged = await http.post(
            hook, json=text_update(1, "hi"), headers={"x-telegram-bot-api-secret-token": "x"}
        )
        assert forged.status_code == 401
        sent = await http.post(
            hook,
            json=text_update(2, "充值没到账，订单 1234567890"),
            headers={"x-telegram-bot-api-secret-token": WEBHOOK_SECRET},
        )
        assert sent.status_code == 200, sent.text
        listed = (await http.get("/api/v1/conversations", headers=headers)).json()["items"]
        [conversation] = [c for c in listed if c["channel"] == "telegram"]

    page, blocked = await console_page(browser, contexts, live, AGENT_EMAIL, AGENT_PASSWORD)
    await page.goto(f"{live.url}/console/conversations/{conversation['reference']}")
    await expect(page.locator("body[data-socket-ready=true]")).to_have_count(1)
    await expect(page.locator("#timeline")).to_contain_text("充值没到账")
    reply = "Your deposit is credited now."
    await page.locator("#body").fill(reply)
    await page.locator("#body").press("Control+Enter")
    await expect(page.locator("#timeline")).to_contain_text(reply)

    for _ in range(100):  # the worker polls every 0.2 s
        if any(call.params.get("text") == reply for call in standin.sent("sendMessage")):
            break
        await asyncio.sleep(0.1)
    [delivered] = [call for call in standin.sent("sendMessage") if call.params.get("text") == reply]
    assert str(delivered.params["chat_id"]) == str(USER_ID)
    await page.reload()
    await expect(page.locator("#timeline")).to_contain_text("Sent on telegram")
    assert blocked == []
