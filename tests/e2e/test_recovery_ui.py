"""Account recovery in real browsers: a locked-out customer sends the form with photos (after a refused
PDF), then a KYC reviewer enrols a second factor, views the watermarked photos and approves the case."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Dialog, Page, expect

from kefu.auth.totp import code_for
from kefu.core.clock import utcnow
from tests.e2e.conftest import LiveServer, checked_page

pytestmark = pytest.mark.browser

REVIEWER_PASSWORD = "reviewer-password-4242"


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with checked_page(browser) as opened:
        yield opened


def _photo(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Path:
    path = tmp_path / name
    Image.new("RGB", (320, 200), colour).save(path, format="JPEG")
    return path


async def _submit_recovery(page: Page, live: LiveServer, tmp_path: Path) -> str:
    await page.goto(f"{live.url}/hc/en/contact")
    async with page.expect_navigation():
        await page.locator("main a[data-recovery-link]").click()
    assert page.url == f"{live.url}/hc/en/recovery"
    await page.locator("#hc-r-email").fill("bob.trader@example.com")
    await page.locator("#hc-r-exchange_uid").fill("10000002")
    await page.get_by_label("I lost my 2FA device").check()
    await page.locator("#hc-r-description").fill("My phone with the authenticator was stolen yesterday.")
    not_a_photo = tmp_path / "passport.pdf"
    not_a_photo.write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    await page.locator("#hc-r-id_front").set_input_files(not_a_photo)
    await page.locator("#hc-r-selfie").set_input_files(_photo(tmp_path, "selfie.jpg", (30, 120, 200)))
    await page.locator('input[name="consent"]').check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send for review").click()
    # Refused by the server: the message sits at the field, the typed text is still there.
    await expect(page.locator("#hc-r-id_front-error")).to_have_text("Send a JPEG, PNG or WebP photo.")
    await expect(page.locator("#hc-r-email")).to_have_value("bob.trader@example.com")
    await expect(page.locator("#hc-r-exchange_uid")).to_have_value("10000002")

    await page.locator("#hc-r-id_front").set_input_files(_photo(tmp_path, "front.jpg", (220, 220, 210)))
    await page.locator("#hc-r-id_back").set_input_files(_photo(tmp_path, "back.jpg", (210, 200, 190)))
    await page.locator("#hc-r-selfie").set_input_files(_photo(tmp_path, "selfie.jpg", (30, 120, 200)))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send for review").click()
    assert "/hc/en/recovery/submitted?reference=KF-" in page.url
    reference = (await page.locator("#hc-reference").text_content() or "").strip()
    assert re.fullmatch(r"KF-\d{8}", reference)
    return reference


async def _reviewer_signs_in(page: Page, live: LiveServer, email: str) -> None:
    """Sign in; the role forces enrolment of a second factor first, then the console opens."""
    await page.goto(f"{live.url}/login?next=/console/recovery")
    await page.fill("#email", email)
    await page.fill("#password", REVIEWER_PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "/login/enroll" in page.url
    async with page.expect_navigation():
        await page.get_by_role("button", name="Show my setup key").click()
    secret = (await page.locator("code.secret").text_content() or "").replace(" ", "")
    await page.fill("#code", code_for(secret, at=utcnow()))
    await page.fill("#password", REVIEWER_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Confirm").click()
    assert page.url == f"{live.url}/console/recovery", page.url


async def test_customer_sends_documents_and_a_reviewer_approves(
    browser: Browser, page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    reference = await _submit_recovery(page, live_server, tmp_path)

    email = f"kyc-{uuid.uuid4().hex[:8]}@kefu.test"
    live_server.kefu(
        "agent", "create", "--email", email, "--name", "Wang Review", "--password", REVIEWER_PASSWORD,
        "--role", "kyc_reviewer",
    )  # fmt: skip
    async with checked_page(browser) as console:
        dialogs: list[str] = []

        async def accept(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.accept()

        console.on("dialog", accept)
        await _reviewer_signs_in(console, live_server, email)
        async with console.expect_navigation():
            await console.get_by_role("link", name=reference).click()
        await expect(console.locator("h1")).to_contain_text(reference)
        await expect(console.locator("#exchange-account")).to_contain_text("10000002")
        images = console.locator(".recovery-documents img")
        await expect(images).to_have_count(3)
        for index in range(3):
            image = images.nth(index)
            await image.scroll_into_view_if_needed()
            await expect(image).to_have_js_property("complete", True)
            assert await image.evaluate("img => img.naturalWidth") == 320  # decrypted, watermarked, shown

        async with console.expect_navigation():
            await console.get_by_role("button", name="Take this case").click()
        await expect(console.locator("#recovery-status")).to_have_text("In review")
        await console.locator("#approve-form select[name=template]").select_option("2fa_reset")
        await expect(console.locator("#approve-form input[name=uid]")).to_have_value("10000002")
        await console.locator("#approve-form textarea[name=note]").fill("Selfie matches the KYC photo.")
        async with console.expect_navigation():
            await console.locator("#approve-form button[type=submit]").click()
        assert dialogs
        assert "10000002" in dialogs[-1]
        await expect(console.locator("#recovery-status")).to_have_text("Approved")
        await expect(console.locator(".decision")).to_contain_text(
            "Withdrawals are locked for 24 hours after a 2FA reset."
        )
        await expect(console.locator("#approve-form")).to_have_count(0)

    # The customer's own view of the request shows no document.
    status = await page.goto(f"{live_server.url}/hc/en/recovery/submitted?reference={reference}")
    assert status is not None
    assert status.ok
