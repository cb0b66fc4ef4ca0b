"""People settings in a real browser: an administrator enrols a second factor, creates a team, creates
an agent in it through the form and changes the agent's role in the list."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from kefu.auth.totp import code_for
from kefu.core.clock import utcnow
from tests.e2e.conftest import LiveServer, checked_page

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "administrator-password-42"


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with checked_page(browser) as opened:
        yield opened


async def _admin_signs_in(page: Page, live: LiveServer, email: str, path: str) -> None:
    """Sign in; the role forces enrolment of a second factor first, then `path` opens."""
    await page.goto(f"{live.url}/login?next={path}")
    await page.fill("#email", email)
    await page.fill("#password", ADMIN_PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "/login/enroll" in page.url
    async with page.expect_navigation():
        await page.get_by_role("button", name="Show my setup key").click()
    secret = (await page.locator("code.secret").text_content() or "").replace(" ", "")
    await page.fill("#code", code_for(secret, at=utcnow()))
    await page.fill("#password", ADMIN_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Confirm").click()
    assert page.url == f"{live.url}{path}", page.url


async def test_an_admin_creates_a_team_and_an_agent_and_changes_the_role(
    page: Page, live_server: LiveServer
) -> None:
    marker = uuid.uuid4().hex[:6]
    admin_email = f"root-{marker}@kefu.test"
    live_server.kefu(
        "agent", "create", "--email", admin_email, "--name", "Root Admin", "--password", ADMIN_PASSWORD,
        "--role", "admin",
    )  # fmt: skip
    dialogs: list[str] = []

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await _admin_signs_in(page, live_server, admin_email, "/console/settings")
    await expect(page.locator("main h2", has_text="People")).to_be_visible()
    async with page.expect_navigation():
        await page.locator("main").get_by_role("link", name="Teams").click()

    team_name = f"Desk {marker}"
    form = page.locator("#team-form")
    await form.locator('input[name="name"]').fill(team_name)
    async with page.expect_navigation():
        await form.get_by_role("button", name="Create team").click()
    team = page.locator("section.team", has_text=team_name)
    await expect(team.locator("h2")).to_have_text(team_name)
    await expect(team.locator('input[name="slug"]')).to_have_value(f"desk-{marker}")

    await page.goto(f"{live_server.url}/console/settings/agents")
    agent_email = f"wang-{marker}@kefu.test"
    form = page.locator("#agent-form")
    await form.locator('input[name="email"]').fill(agent_email)
    await form.locator('input[name="name"]').fill("Wang Fang")
    await form.locator('select[name="role"]').select_option("agent")
    # Too short first: the API's message appears at the field and nothing is created.
    await form.locator('input[name="password"]').fill("short")
    await form.get_by_role("button", name="Create agent").click()
    await expect(form.locator('.field-error[data-field="password"]')).to_be_visible()
    await form.locator('input[name="password"]').fill("a long enough initial password")
    await form.get_by_label(team_name).check()
    async with page.expect_navigation():
        await form.get_by_role("button", name="Create agent").click()

    row = page.locator(f'tr[data-email="{agent_email}"]')
    await expect(row.locator('select[name="role"]')).to_have_value("agent")
    await expect(row.get_by_label(team_name)).to_be_checked()
    await row.locator('select[name="role"]').select_option("supervisor")
    async with page.expect_navigation():
        await row.get_by_role("button", name="Save").click()
    row = page.locator(f'tr[data-email="{agent_email}"]')
    await expect(row.locator('select[name="role"]')).to_have_value("supervisor")

    # The admin's own row cannot demote itself; the team page lists the new member.
    own = page.locator(f'tr[data-email="{admin_email}"]')
    await expect(own.locator('select[name="role"]')).to_be_disabled()
    await page.goto(f"{live_server.url}/console/settings/teams")
    await expect(page.locator("section.team", has_text=team_name).locator("ul.members")).to_contain_text(
        "Wang Fang"
    )
    assert dialogs == []
