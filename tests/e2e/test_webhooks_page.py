"""The webhooks settings page in Debian's chromium: an administrator adds an endpoint, sees its signing
secret once, and a test ping from the page reaches a real receiver signed with that secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, checked_page, run_server
from tests.e2e.test_admin_settings import ADMIN_PASSWORD, _admin_signs_in

pytestmark = pytest.mark.browser

PATH = "/console/settings/webhooks"


class Receiver:
    """An integration's endpoint: records every POST with its headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                del args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kefu-events"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    # The receiver listens on 127.0.0.1, which the SSRF guard refuses unless private networks are allowed.
    # The worker runs in `kefu serve`, as `make run` has it: the ping goes through the outbox.
    env = {"KEFU_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    with run_server(tmp_path, extra_env=env, worker=True) as server:
        yield server


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with checked_page(browser) as opened:
        yield opened


async def test_an_admin_adds_a_webhook_and_pings_it_from_the_page(
    page: Page, live: LiveServer, receiver: Receiver
) -> None:
    email = f"root-{uuid.uuid4().hex[:6]}@kefu.test"
    live.kefu(
        "agent", "create", "--email", email, "--name", "Root Admin", "--password", ADMIN_PASSWORD,
        "--role", "admin",
    )  # fmt: skip
    await _admin_signs_in(page, live, email, PATH)
    await expect(page.locator(".webhooks .empty").first).to_be_visible()

    form = page.locator("#webhook-form")
    # A malformed address is refused by the API and the page says why; nothing is stored.
    await form.locator('input[name="url"]').fill("ftp://files.example.com/drop")
    await form.get_by_role("button", name="Add").click()
    await expect(form.locator(".form-error")).to_be_visible()

    await form.locator('input[name="url"]').fill(receiver.url)
    await form.locator('input[name="description"]').fill("CRM")
    await form.get_by_role("button", name="Add").click()
    shown = page.locator('[data-role="webhooks-secret"]')
    await expect(shown).to_contain_text("whsec_")
    found = re.search(r"whsec_[A-Za-z0-9_\-]+", await shown.text_content() or "")
    assert found is not None
    secret = found.group(0)

    # Shown once: after a reload the endpoint is listed and its secret is nowhere in the page.
    await page.reload()
    hook = page.locator("article[data-webhook-id]")
    await expect(hook).to_have_count(1)
    assert await hook.get_attribute("data-url") == receiver.url
    assert secret not in await page.content()

    await hook.get_by_role("button", name="Send a test ping").click()
    await expect(page.locator('[data-role="webhooks-status"]')).to_be_visible()
    deadline = time.monotonic() + 30
    while not receiver.requests and time.monotonic() < deadline:
        await page.wait_for_timeout(200)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert json.loads(body)["event"] == "webhook.ping"
    timestamp = headers["kefu-webhook-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["kefu-signature"] == f"v1={expected}"
