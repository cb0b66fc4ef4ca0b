"""The chat widget in a real browser: offline → email ticket, transcript, rating, screenshots, and
diagnostics shared (only on consent) from an exchange's page that embeds widget.js."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, FrameLocator, Page, WebSocket, expect

from tests.e2e.conftest import AGENT_EMAIL, LiveServer, checked_page, run_server
from tests.e2e.exchange_site import ExchangeSite

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, exchange: ExchangeSite) -> Iterator[LiveServer]:
    """A server that lets the exchange's origin embed the chat (no agent is online: chats are offline)."""
    env = {"KEFU_CHAT_ORIGINS": exchange.origin}
    with run_server(tmp_path_factory.mktemp("chat-ui"), extra_env=env) as live:
        exchange.kefu_url = live.url
        yield live


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page that fails the test on a CSP report or an uncaught script error (frames included)."""
    async with checked_page(browser, timezone_id="Asia/Shanghai") as opened:
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        yield opened
        assert errors == []


def _png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def _open_frame(page: Page, server: LiveServer) -> None:
    """The frame on its own (as a native integration might show it), connected and caught up."""
    await page.goto(f"{server.url}/chat/frame?locale=en")
    await expect(page.locator("#chat-availability")).not_to_be_empty()
    await expect(page.locator("#chat-connection")).to_be_hidden()


async def _say(chat: Page | FrameLocator, text: str) -> None:
    """Send `text` and wait for its ack (the bubble loses its pending state)."""
    await chat.locator("#chat-input").fill(text)
    await chat.locator("#chat-input").press("Enter")
    bubble = chat.locator(".msg-customer", has_text=text).last
    await expect(bubble).to_be_visible()
    await expect(bubble).not_to_have_attribute("data-delivery", re.compile(".*"))


async def test_an_offline_chat_becomes_an_email_ticket_and_the_transcript_follows(
    page: Page, server: LiveServer
) -> None:
    await _open_frame(page, server)
    await expect(page.locator("#chat-availability")).to_have_attribute("data-online", "false")
    await expect(page.locator("#chat-transcript")).to_be_hidden()
    await expect(page.locator("#chat-email")).to_be_hidden()

    await _say(page, "My deposit has not arrived")
    # After the first stored message: the address form, the transcript button and the consent prompt.
    await expect(page.locator("#chat-email")).to_be_visible()
    await expect(page.locator("#chat-email label")).to_have_text("Leave your email and we'll reply there")
    await expect(page.locator("#chat-transcript")).to_be_visible()
    await expect(page.locator("#chat-diagnostics")).to_be_visible()
    await page.locator("#chat-diagnostics-decline").click()
    await expect(page.locator("#chat-diagnostics")).to_be_hidden()

    # No address yet: the transcript asks for one.
    await page.locator("#chat-transcript").click()
    await expect(page.locator("#chat-email-input")).to_be_focused()
    await expect(page.locator(".msg-note", has_text="Transcript sent")).to_have_count(0)

    # Refused by the browser's own check, then by the server's (no dot in the domain).
    email = page.locator("#chat-email-input")
    for wrong in ("not an email", "trader@localhost"):
        await email.fill(wrong)
        await page.locator("#chat-email-send").click()
        await expect(page.locator("#chat-email-error")).to_have_text("Please enter a valid email address")
        await expect(email).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#chat-email-send")).to_be_enabled()

    await email.fill("  trader@example.com ")
    await email.press("Enter")
    ticket = page.locator(".msg-note", has_text="We'll reply to trader@example.com.")
    await expect(ticket).to_have_text(re.compile(r"Your reference: KF-\S+$"))
    await expect(page.locator("#chat-email")).to_be_hidden()
    await expect(page.locator("#chat-email-error")).to_be_hidden()

    await page.locator("#chat-transcript").click()
    await expect(page.locator(".msg-note", has_text="Transcript sent to trader@example.com")).to_be_visible()


async def _solve(server: LiveServer, reference: str) -> None:
    token = server.kefu("token", "create", "--agent", AGENT_EMAIL)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.patch(
            f"/api/v1/conversations/{reference}",
            json={"status": "solved"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text


async def test_a_solved_chat_is_rated_with_a_comment(page: Page, server: LiveServer) -> None:
    await _open_frame(page, server)
    await _say(page, "How do I enable 2FA?")
    await expect(page.locator("#chat-reference-value")).not_to_be_empty()
    assert (await page.locator("#chat-rating").is_hidden()) is True
    reference = await page.locator("#chat-reference-value").text_content()
    assert reference

    await _solve(server, reference)
    rating = page.locator("#chat-rating")
    await expect(rating).to_be_visible()
    stars = rating.locator(".chat-star")
    await expect(stars).to_have_count(5)
    await expect(stars.nth(3)).to_have_attribute("aria-label", "Rate 4 out of 5")
    await expect(page.locator("#chat-rating-send")).to_be_disabled()
    await stars.nth(3).click()
    await expect(stars.nth(3)).to_have_attribute("aria-pressed", "true")
    await expect(rating.locator(".chat-star-on")).to_have_count(4)
    await expect(page.locator("#chat-rating-comment")).to_have_attribute("maxlength", "1000")
    await page.locator("#chat-rating-comment").fill("Quick <b>and</b> clear")
    await page.locator("#chat-rating-send").click()
    await expect(page.locator(".msg-note", has_text="Thanks for your feedback")).to_be_visible()
    await expect(rating).to_be_hidden()

    # A reload remembers that this chat was rated.
    await page.reload()
    await expect(page.locator("#chat-connection")).to_be_hidden()
    await expect(page.locator("#chat-transcript")).to_be_visible()
    await expect(rating).to_be_hidden()


async def test_screenshots_are_attached_pasted_removed_and_sent(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    shot = tmp_path / "screen shot.png"
    shot.write_bytes(_png())
    await _open_frame(page, server)
    pending = page.locator("#chat-pending .chat-pending-item")

    await page.locator("#chat-file").set_input_files(str(shot))
    await expect(pending).to_have_count(1)
    await expect(pending.first).to_have_attribute("data-state", "ready")
    await expect(pending.first.locator("img")).to_have_attribute("alt", "screen shot.png")

    # A pasted screenshot (no file name) joins it.
    await page.locator("#chat-input").evaluate(
        """async (input, bytes) => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], "", { type: "image/png" }));
            const init = { clipboardData: data, bubbles: true, cancelable: true };
            input.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        list(_png(32, 32)),
    )
    await expect(pending).to_have_count(2)
    await expect(pending.nth(1).locator(".chat-pending-remove")).to_have_attribute(
        "aria-label", "Remove screenshot.png"
    )
    await expect(pending.nth(1)).to_have_attribute("data-state", "ready")
    await pending.nth(1).locator(".chat-pending-remove").click()
    await expect(pending).to_have_count(1)

    # Too large is refused before any upload.
    await page.locator("#chat-file").set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": b"\0" * (10 * 1024 * 1024 + 1)}
    )
    await expect(page.locator("#chat-notice")).to_have_text("This file is too large (max 10 MB)")
    await expect(pending).to_have_count(1)

    # A message of a screenshot alone: shown at once, then from the stored file's signed link.
    await page.locator("#chat-send").click()
    await expect(page.locator("#chat-pending")).to_be_hidden()
    image = page.locator(".msg-customer .msg-files img")
    await expect(image).to_have_count(1)
    await expect(image).to_have_attribute("src", re.compile("^" + re.escape(server.url) + "/chat/files/"))
    await expect(image).to_have_attribute("width", "64")
    await expect(image).to_have_attribute("height", "48")
    await expect(image).to_have_attribute("loading", "lazy")
    await page.wait_for_function(
        "() => document.querySelector('.msg-customer .msg-files img').naturalWidth === 64"
    )
    await expect(page.locator(".msg-customer .msg-body")).to_have_count(0)  # no empty text bubble


async def _sent(page: Page, sent: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The frames of `kind` the page sent, once there is at least one (5 s at most)."""
    for _ in range(50):
        found = [frame for frame in sent if frame["type"] == kind]
        if found:
            return found
        await page.wait_for_timeout(100)
    raise AssertionError(f"no {kind} frame was sent")


async def test_diagnostics_are_shared_only_on_consent_and_once_per_chat(
    page: Page, server: LiveServer, exchange: ExchangeSite
) -> None:
    host_page = f"{exchange.origin}/wallet?tab=deposit"
    sent: list[dict[str, Any]] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    await page.goto(host_page)
    await page.locator("kefu-chat .launcher").click()
    chat = page.frame_locator("kefu-chat iframe")
    # Welcomed (a missing element would count as hidden before the frame has loaded).
    await expect(chat.locator("#chat-availability")).not_to_be_empty()
    await expect(chat.locator("#chat-connection")).to_be_hidden()
    await _say(chat, "Withdrawal stuck, 2FA code rejected")
    await expect(chat.locator("#chat-diagnostics")).to_be_visible()
    assert not [frame for frame in sent if frame["type"] == "diagnostics"]

    await chat.locator("#chat-diagnostics-share").click()
    await expect(chat.locator("#chat-diagnostics")).to_be_hidden()
    [shared] = await _sent(page, sent, "diagnostics")
    assert shared["page_url"] == host_page
    assert shared["time_zone"] == "Asia/Shanghai"
    assert shared["language"] == "en-US"
    assert shared["os"] == "Linux"
    assert re.fullmatch(r"\S.* \d+(\.\d+)*", shared["browser"]), shared["browser"]
    assert isinstance(shared["rtt_ms"], int)
    assert 0 <= shared["rtt_ms"] < 10_000
    assert isinstance(shared["clock_offset_ms"], int)
    assert abs(shared["clock_offset_ms"]) < 10_000

    # The choice is remembered for this chat across a reload of the exchange's page.
    await page.reload()
    await page.locator("kefu-chat .launcher").click()
    await expect(chat.locator("#chat-availability")).not_to_be_empty()
    await expect(chat.locator("#chat-connection")).to_be_hidden()
    await _say(chat, "Still waiting")
    await expect(chat.locator("#chat-email")).to_be_visible()  # offline: the address is asked
    await expect(chat.locator("#chat-diagnostics")).to_be_hidden()
    assert len([frame for frame in sent if frame["type"] == "diagnostics"]) == 1
