"""The whole chat journey in real browsers: a customer on an exchange's page asks, the bot offers an
article, the customer asks for a person, an agent answers from the console, the customer sees it live
and again after a reload, with nothing shown twice."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, BrowserContext, FrameLocator, Page, WebSocketRoute, expect

from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer, checked_page, run_server
from tests.e2e.exchange_site import ExchangeSite

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, exchange: ExchangeSite) -> Iterator[LiveServer]:
    """A server with the demo knowledge base, embeddable by the exchange's origin."""
    env = {"KEFU_CHAT_ORIGINS": exchange.origin}
    with run_server(tmp_path_factory.mktemp("chat-journey"), extra_env=env) as live:
        live.kefu("demo")
        exchange.kefu_url = live.url
        yield live


@pytest.fixture
async def customer(browser: Browser) -> AsyncIterator[Page]:
    async with checked_page(browser, timezone_id="Asia/Shanghai") as opened:
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        yield opened
        assert errors == []


@pytest.fixture
async def agent_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context()
    yield context
    await context.close()


async def open_widget(page: Page, exchange: ExchangeSite) -> FrameLocator:
    await page.goto(f"{exchange.origin}/wallet")
    await page.locator("kefu-chat >> .launcher").click()
    chat = page.frame_locator("kefu-chat >> iframe")
    await expect(chat.locator("#chat-availability")).not_to_be_empty()
    return chat


async def say(chat: FrameLocator, text: str) -> None:
    await chat.locator("#chat-input").fill(text)
    await chat.locator("#chat-input").press("Enter")
    bubble = chat.locator(".msg-customer", has_text=text).last
    await expect(bubble).to_be_visible()
    await expect(bubble).not_to_have_attribute("data-delivery", re.compile(".*"))


async def test_bot_article_handoff_agent_reply_and_reload(
    customer: Page, agent_context: BrowserContext, exchange: ExchangeSite, server: LiveServer
) -> None:
    chat = await open_widget(customer, exchange)
    # Articles are suggested while the question is typed, before anything is sent.
    await chat.locator("#chat-input").press_sequentially("deposit not credited", delay=10)
    await expect(chat.locator("#chat-suggestions")).to_be_visible()
    await expect(chat.locator("#chat-suggestions-list a").first).to_have_attribute(
        "href", re.compile(r"/hc/en/articles/")
    )
    await chat.locator("#chat-input").fill("")
    await say(chat, "My deposit has not arrived")
    await expect(chat.locator("#chat-suggestions")).to_be_hidden()

    # The bot answers from the knowledge base with an article and quick replies.
    offer = chat.locator(".msg-bot").first
    await expect(offer.locator(".msg-articles a").first).to_have_attribute(
        "href", re.compile(r"/hc/en/articles/")
    )
    await offer.locator('button.msg-choice[data-choice="human"]').click()
    # Asking for a person about a deposit: the bot first asks which coin.
    await expect(chat.locator(".msg-bot").last).to_contain_text("USDT")
    bots = await chat.locator(".msg-bot").count()
    await say(chat, "USDT")
    await expect(chat.locator(".msg-bot")).to_have_count(bots + 1)  # which network?
    await chat.locator(".msg-bot").last.locator('button.msg-choice[data-choice="human"]').click()
    await expect(chat.locator("#chat-queue")).to_contain_text("1")
    reference = (await chat.locator("#chat-reference-value").inner_text()).strip()
    assert reference.startswith("KF-")

    # The agent opens it in the console and answers.
    console = await agent_context.new_page()
    await console.goto(f"{server.url}/login?next=/console/conversations/{reference}")
    await console.fill("#email", AGENT_EMAIL)
    await console.fill("#password", AGENT_PASSWORD)
    async with console.expect_navigation():
        await console.click("button[type=submit]")
    await expect(console.locator("body[data-socket-ready=true]")).to_have_count(1)
    await expect(console.locator("#timeline")).to_contain_text("My deposit has not arrived")
    await expect(console.locator("#timeline")).to_contain_text("USDT")
    answer = "I can see your USDT deposit: it needs 2 more confirmations."
    await console.locator("#body").fill(answer)
    await console.locator("#body").press("Control+Enter")
    await expect(console.locator("#timeline")).to_contain_text(answer)

    # The customer sees it live, from the agent, with the agent's name.
    reply = chat.locator(".msg-agent", has_text=answer)
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".msg-author")).to_contain_text("Li Wei")

    # A reload resumes the same chat: everything once, nothing missing.
    await customer.reload()
    await customer.locator("kefu-chat >> .launcher").click()
    chat = customer.frame_locator("kefu-chat >> iframe")
    await expect(chat.locator(".msg-agent", has_text=answer)).to_have_count(1)
    await expect(chat.locator(".msg-customer", has_text="My deposit has not arrived")).to_have_count(1)
    seqs = await chat.locator(".msg[data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")
    assert len(seqs) == len(set(seqs))
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)


async def test_a_busy_server_gets_the_message_again_without_the_customer_seeing_a_failure(
    customer: Page, exchange: ExchangeSite, server: LiveServer
) -> None:
    """The widget's answer to `busy` (kefu.chat.admission): the same message again after the pause,
    still shown as sending, never as failed. The first send of each message is refused on its way."""
    refused: list[str] = []

    def route(page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "message" and frame["client_id"] not in refused:
                refused.append(frame["client_id"])
                busy = {"type": "error", "code": "busy", "message": "busy", "retry_after_ms": 300}
                page_side.send(json.dumps(busy | {"client_id": frame["client_id"]}))
                return
            server_side.send(message)

        page_side.on_message(from_page)

    await customer.route_web_socket(re.compile(r".*/chat/ws$"), route)
    chat = await open_widget(customer, exchange)
    await chat.locator("#chat-input").fill("Is anyone there?")
    await chat.locator("#chat-input").press("Enter")
    bubble = chat.locator(".msg-customer", has_text="Is anyone there?")
    await expect(bubble).to_have_attribute("data-delivery", "pending")
    await expect(bubble).not_to_have_attribute("data-delivery", re.compile(".*"))  # acked on the resend
    await expect(bubble).to_have_count(1)
    await expect(chat.locator(".msg-customer .msg-retry")).to_have_count(0)
    assert len(refused) == 1
