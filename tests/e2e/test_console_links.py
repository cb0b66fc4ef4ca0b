"""The workspace's links in a real browser: a help-center article into the reply, an incident to the case."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer

pytestmark = pytest.mark.browser

BOSS_EMAIL = "links-boss@kefu.test"


async def test_agent_inserts_an_article_link_and_links_an_incident(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    article = tmp_path / "kb" / "en" / f"unlock-{marker}.md"
    article.parent.mkdir(parents=True)
    article.write_text(
        f"---\nslug: unlock-{marker}\nlocale: en\ntitle: Unlock {marker} account\ncategory: account\n"
        f"tags: [locked]\n---\nHow to unlock a locked {marker} account after too many attempts.\n",
        encoding="utf-8",
    )
    live_server.kefu("kb", "import", str(tmp_path / "kb"))
    live_server.kefu(
        "agent", "create", "--email", BOSS_EMAIL, "--name", "Boss", "--role", "supervisor",
        "--password", "links-boss-password-42",
    )  # fmt: skip
    boss_token = live_server.kefu("token", "create", "--agent", BOSS_EMAIL)
    agent_token = live_server.kefu("token", "create", "--agent", AGENT_EMAIL)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        incident = await http.post(
            "/api/v1/incidents",
            json={"title": {"en": f"Login outage {marker}"}, "severity": "major", "components": ["login"]},
            headers={"authorization": f"Bearer {boss_token}"},
        )
        assert incident.status_code == 201, incident.text
        conversation = await http.post(
            "/api/v1/conversations",
            json={
                "subject": "Locked out",
                "body": "I cannot log in",
                "customer": {"email": f"{marker}@example.com"},
            },
            headers={"authorization": f"Bearer {agent_token}"},
        )
        assert conversation.status_code == 201, conversation.text
    reference = conversation.json()["reference"]

    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server.url}/login?next=/console/conversations/{reference}")
    await page.fill("#email", AGENT_EMAIL)
    await page.fill("#password", AGENT_PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")

    await page.locator("#article-query").fill(f"unlock {marker}")
    suggestion = page.locator("#article-results button").first
    await expect(suggestion).to_contain_text(f"Unlock {marker} account")
    await suggestion.click()
    await expect(page.locator("#body")).to_have_value(
        f"Unlock {marker} account: {live_server.url}/hc/en/articles/unlock-{marker}"
    )

    card = page.locator("#incidents-card")
    await card.locator("select[name=incident]").select_option(label=f"Login outage {marker} (Investigating)")
    await card.locator("button[type=submit]").click()
    await expect(card.locator("[data-role=linked]")).to_contain_text(f"Login outage {marker}")
    await expect(page.locator("#timeline")).to_contain_text(f"Login outage {marker}")
    await context.close()
