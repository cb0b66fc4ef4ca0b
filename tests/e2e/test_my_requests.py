"""My requests in a real browser: the code arrives by real SMTP, the customer signs in, replies, solves."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, checked_page, run_server
from tests.mail.sink import SmtpSink

pytestmark = pytest.mark.browser

CUSTOMER = "mei@example.com"


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[LiveServer]:
    """`kefu serve` with its outbox worker, sending mail over SMTP to the sink."""
    env = {"KEFU_MAIL_TRANSPORT": "smtp", "KEFU_SMTP_HOST": "127.0.0.1", "KEFU_SMTP_PORT": str(sink.port)}
    with run_server(tmp_path_factory.mktemp("e2e-mail"), extra_env=env, worker=True) as server:
        yield server


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh English page that fails the test on any Content Security Policy report."""
    async with checked_page(browser, timezone_id="Europe/London") as opened:
        yield opened


def wait_for_mail(sink: SmtpSink, subject_part: str, count: int = 1, timeout: float = 30) -> str:
    """The plain-text body of the `count`-th email whose subject contains `subject_part`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r.message() for r in sink.received if subject_part in str(r.message()["subject"])]
        if len(found) >= count:
            part = found[count - 1].get_body(("plain",))
            assert part is not None
            return str(part.get_content())
        time.sleep(0.2)
    raise AssertionError(f"no email with {subject_part!r} in its subject arrived")


async def test_sign_in_with_the_emailed_code_and_reply(
    page: Page, mail_server: LiveServer, sink: SmtpSink
) -> None:
    async with httpx.AsyncClient() as http:
        created = await http.post(
            f"{mail_server.url}/api/v1/conversations",
            json={
                "subject": "Withdrawal still pending",
                "body": "My USDT withdrawal has been pending for 3 hours.",
                "customer": {"email": CUSTOMER},
                "locale": "en",
            },
            timeout=10,
        )
    assert created.status_code == 201, created.text
    reference = created.json()["reference"]
    acknowledgement = wait_for_mail(sink, reference)
    assert reference in acknowledgement

    await page.goto(f"{mail_server.url}/hc/en/my/requests")
    await expect(page).to_have_url(re.compile(r"/hc/en/my/sign-in$"))
    await page.get_by_label("Email address").fill(CUSTOMER)
    await page.get_by_role("button", name="Email me a code").click()
    await expect(page.get_by_label("Sign-in code")).to_be_visible()
    text = wait_for_mail(sink, "sign", count=1)
    match = re.search(r"\b(\d{6})\b", text)
    assert match, text
    await page.get_by_label("Sign-in code").fill(match.group(1))
    await page.get_by_role("button", name="Sign in", exact=True).click()

    await expect(page).to_have_url(re.compile(r"/hc/en/my/requests$"))
    await page.get_by_role("link", name="Withdrawal still pending").click()
    await expect(page.get_by_role("heading", name="Withdrawal still pending")).to_be_visible()
    await page.get_by_label("Your message").fill("The tx hash is 0xabc, thank you.")
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.get_by_text("The tx hash is 0xabc, thank you.")).to_be_visible()

    await page.get_by_role("button", name="My problem is solved").click()
    await expect(page.locator("#hc-my-status")).to_have_text("Solved")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/hc/en/my/sign-in$"))
    await page.goto(f"{mail_server.url}/hc/en/my/requests/{reference}")
    await expect(page).to_have_url(re.compile(r"/hc/en/my/sign-in$"))
