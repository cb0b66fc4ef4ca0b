"""The public status page, incident pages and the Atom feed, in both locales, with hostile text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from kefu.auth.roles import Role
from kefu.core.clock import utcnow
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent
from tests.incidents.helpers import HOSTILE, create_incident, incident_client

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_status_pages_escape_and_speak_the_locale(db: Database, runtime: Runtime, locale: str) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with incident_client(runtime) as client:
        empty = await client.get(f"/hc/{locale}/status")
        assert empty.status_code == 200
        assert f'<html lang="{locale}">' in empty.text
        if locale == "en":
            assert "All services are operating normally." in empty.text
        assert empty.headers["content-language"] == locale
        incident = await create_incident(
            client,
            boss,
            title={"en": HOSTILE, "zh-CN": "充币" + HOSTILE},
            severity="major",
            components=["deposits:TRC20"],
            body={"en": "Update " + HOSTILE, "zh-CN": "更新 " + HOSTILE},
        )
        await create_incident(
            client,
            boss,
            kind="maintenance",
            title={"en": "Wallet upgrade", "zh-CN": "钱包升级"},
            components=["withdrawals:ERC20"],
            starts_at=utcnow() + timedelta(days=2),
        )
        old = await create_incident(client, boss, title={"en": "Old trouble", "zh-CN": "旧问题"})
        await client.post(f"/api/v1/incidents/{old['id']}/resolve", json={}, headers=boss.headers)

        page = await client.get(f"/hc/{locale}/status")
        assert page.status_code == 200
        html = page.text
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert" in html
        assert "]]> <![CDATA[" not in html
        assert ("充币&lt;script&gt;" in html) == (locale == "zh-CN")
        assert ("钱包升级" in html) == (locale == "zh-CN")
        assert ("旧问题" in html) == (locale == "zh-CN")
        assert 'data-component="deposits:TRC20" data-status="degraded"' in html
        assert f'href="/hc/{locale}/status/feed.atom"' in html
        assert f"/hc/{locale}/status/incidents/{incident['id']}" in html

        detail = await client.get(f"/hc/{locale}/status/incidents/{incident['id']}")
        assert detail.status_code == 200
        assert "&lt;script&gt;" in detail.text
        assert "<script>alert" not in detail.text
        assert ("更新 &lt;script&gt;" in detail.text) == (locale == "zh-CN")
        for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "%3Cscript%3E"):
            missing = await client.get(f"/hc/{locale}/status/incidents/{bad}")
            assert missing.status_code == 404
            assert "<script>" not in missing.text


async def test_unknown_locale_is_404(db: Database, runtime: Runtime) -> None:
    async with incident_client(runtime) as client:
        for path in ("/hc/fr/status", "/hc/fr/status/feed.atom", "/hc/%3Cb%3E/status"):
            assert (await client.get(path)).status_code == 404


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_atom_feed_is_valid_and_escaped(db: Database, runtime: Runtime, locale: str) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with incident_client(runtime) as client:
        empty = await client.get(f"/hc/{locale}/status/feed.atom")
        assert empty.status_code == 200
        assert empty.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(empty.content)  # noqa: S314 - our own output, in a test
        assert root.tag == f"{ATOM}feed"
        assert root.findall(f"{ATOM}entry") == []

        incident = await create_incident(
            client, boss, title={"en": HOSTILE, "zh-CN": "中文" + HOSTILE}, body={"en": "First " + HOSTILE}
        )
        await client.post(
            f"/api/v1/incidents/{incident['id']}/updates",
            json={"status": "identified", "body": {"en": "Second", "zh-CN": "第二"}},
            headers=boss.headers,
        )
        response = await client.get(f"/hc/{locale}/status/feed.atom")
        assert response.status_code == 200
        assert b"<script>" not in response.content
        assert b"\x01" not in response.content
        root = ET.fromstring(response.content)  # noqa: S314 - our own output, in a test
        assert root.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated", "author"):
            assert root.find(f"{ATOM}{required}") is not None, required
        entries = root.findall(f"{ATOM}entry")
        assert len(entries) == 2  # one per timed update
        for entry in entries:
            for required in ("id", "title", "updated", "link", "content"):
                assert entry.find(f"{ATOM}{required}") is not None, required
        newest, oldest = entries
        title = newest.findtext(f"{ATOM}title") or ""
        assert ("中文" in title) == (locale == "zh-CN")
        assert '<script>alert("x")</script>' in title  # escaped on the wire, intact once parsed
        assert newest.findtext(f"{ATOM}content") == ("第二" if locale == "zh-CN" else "Second")
        assert (oldest.findtext(f"{ATOM}content") or "").startswith("First <script>")
        link = newest.find(f"{ATOM}link")
        assert link is not None
        assert link.get("href") == f"http://kefu.test/hc/{locale}/status/incidents/{incident['id']}"
