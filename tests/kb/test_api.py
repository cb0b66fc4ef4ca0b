"""The knowledge-base API: public reading and voting, staff editing and who may publish."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_customer
from tests.kb.conftest import IndexCalls

STAFF = "/api/v1/kb/staff/articles"
ARTICLE = {
    "slug": "account-locked",
    "locale": "en",
    "title": "My account is locked",
    "body": "## Why\n\nRisk checks. <script>alert(1)</script> [x](javascript:alert(1))\n",
    "category": "account",
    "tags": ["locked"],
}


async def _create(client: httpx.AsyncClient, who: StaffMember, **overrides: Any) -> dict[str, Any]:
    response = await client.post(STAFF, json=ARTICLE | overrides, headers=who.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _staff(db: Database) -> tuple[StaffMember, StaffMember]:
    agent = await make_agent(db.sessionmaker, "agent@kefu.test")
    supervisor = await make_agent(db.sessionmaker, "lead@kefu.test", role=Role.SUPERVISOR)
    return agent, supervisor


async def test_agents_draft_and_supervisors_publish(
    kb_client: httpx.AsyncClient, db: Database, index_calls: IndexCalls
) -> None:
    agent, supervisor = await _staff(db)
    draft = await _create(kb_client, agent)
    assert (draft["status"], draft["revision"]) == ("draft", 1)
    url = f"{STAFF}/{draft['id']}"
    # Drafts are invisible to the public, exactly like missing articles.
    assert (await kb_client.get("/api/v1/kb/articles/en/account-locked")).status_code == 404
    assert (await kb_client.get("/api/v1/kb/articles?locale=en")).json() == []

    edited = await kb_client.put(url, json={"title": "Locked account"}, headers=agent.headers)
    assert edited.status_code == 200
    assert edited.json()["revision"] == 2
    assert (await kb_client.post(f"{url}/publish", headers=agent.headers)).status_code == 403
    assert (await kb_client.delete(url, headers=agent.headers)).status_code == 403
    published = await kb_client.post(f"{url}/publish", headers=supervisor.headers)
    assert published.status_code == 200
    assert published.json()["status"] == "published"

    # Published text changes what customers read: agents may no longer edit it.
    assert (await kb_client.put(url, json={"title": "x"}, headers=agent.headers)).status_code == 403
    assert (
        await kb_client.put(url, json={"title": "Locked!"}, headers=supervisor.headers)
    ).status_code == 200
    revisions = await kb_client.get(f"{url}/revisions", headers=agent.headers)
    assert [r["revision"] for r in revisions.json()] == [3, 2, 1]

    public = await kb_client.get("/api/v1/kb/articles/en/account-locked")
    assert public.status_code == 200
    body = public.json()
    assert body["title"] == "Locked!"
    assert "<script" not in body["html"]
    assert 'href="javascript:' not in body["html"]
    assert body["markdown"].startswith("## Why")
    assert body["url"] == "/hc/en/articles/account-locked"
    listed = await kb_client.get("/api/v1/kb/articles", params={"locale": "en", "category": "account"})
    assert [a["slug"] for a in listed.json()] == ["account-locked"]

    unpublished = await kb_client.post(f"{url}/unpublish", headers=supervisor.headers)
    assert unpublished.json()["status"] == "draft"
    assert (await kb_client.get("/api/v1/kb/articles/en/account-locked")).status_code == 404
    assert (await kb_client.delete(url, headers=supervisor.headers)).status_code == 204
    assert (await kb_client.get(url, headers=agent.headers)).status_code == 404
    assert index_calls.unindexed[-1] == uuid.UUID(draft["id"])


async def test_other_locale_and_related(
    kb_client: httpx.AsyncClient, db: Database, index_calls: IndexCalls
) -> None:
    _agent, supervisor = await _staff(db)
    for overrides in (
        {},
        {"locale": "zh-CN", "title": "账户被锁定", "tags": ["锁定"]},
        {"slug": "account-recovery", "title": "Recovery", "tags": ["locked", "recovery"]},
        {"slug": "trading-fees", "title": "Fees", "category": "trading", "tags": ["fees"]},
    ):
        created = await _create(kb_client, supervisor, **overrides)
        await kb_client.post(f"{STAFF}/{created['id']}/publish", headers=supervisor.headers)
    body = (await kb_client.get("/api/v1/kb/articles/en/account-locked")).json()
    assert body["other_locale"]["url"] == "/hc/zh-CN/articles/account-locked"
    assert [r["slug"] for r in body["related"]] == ["account-recovery"]


async def test_votes_are_once_per_visitor(
    kb_client: httpx.AsyncClient, db: Database, runtime: Runtime, index_calls: IndexCalls
) -> None:
    _agent, supervisor = await _staff(db)
    created = await _create(kb_client, supervisor)
    await kb_client.post(f"{STAFF}/{created['id']}/publish", headers=supervisor.headers)
    votes = "/api/v1/kb/articles/en/account-locked/votes"
    first = await kb_client.post(votes, json={"helpful": True})
    assert first.status_code == 200, first.text
    assert "kefu_kb_voter" in first.cookies
    again = await kb_client.post(votes, json={"helpful": True})  # same cookie jar: same visitor
    assert (again.json()["helpful_yes"], again.json()["helpful_no"]) == (1, 0)
    changed = await kb_client.post(votes, json={"helpful": False})
    assert (changed.json()["helpful_yes"], changed.json()["helpful_no"]) == (0, 1)

    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    for _ in range(2):
        by_customer = await kb_client.post(votes, json={"helpful": True}, headers=customer.headers)
    assert (by_customer.json()["helpful_yes"], by_customer.json()["helpful_no"]) == (1, 1)

    # A forged cookie is just a new visitor, never someone else's vote.
    kb_client.cookies.set("kefu_kb_voter", "forged.value")
    forged = await kb_client.post(votes, json={"helpful": True})
    assert (forged.json()["helpful_yes"], forged.json()["helpful_no"]) == (2, 1)


async def test_drafts_cannot_be_voted_on(
    kb_client: httpx.AsyncClient, db: Database, index_calls: IndexCalls
) -> None:
    agent, _ = await _staff(db)
    await _create(kb_client, agent)
    response = await kb_client.post("/api/v1/kb/articles/en/account-locked/votes", json={"helpful": True})
    assert response.status_code == 404


async def test_preview_is_sanitized(kb_client: httpx.AsyncClient, db: Database) -> None:
    agent, _ = await _staff(db)
    response = await kb_client.post(
        "/api/v1/kb/staff/preview",
        json={"body": "**hi** <img src=x onerror=alert(1)> [a](javascript:alert(1))"},
        headers=agent.headers,
    )
    assert response.status_code == 200
    html = response.json()["html"]
    assert "<strong>hi</strong>" in html
    assert "<img" not in html
    assert "href=" not in html


async def test_staff_routes_refuse_customers_and_strangers(
    kb_client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    for headers, status in (({}, 401), (customer.headers, 403)):
        assert (await kb_client.get(STAFF, headers=headers)).status_code == status
        assert (await kb_client.post(STAFF, json=ARTICLE, headers=headers)).status_code == status
        preview = await kb_client.post("/api/v1/kb/staff/preview", json={"body": "x"}, headers=headers)
        assert preview.status_code == status


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "../etc"}, "slug"),
        ({"slug": "a" * 101}, "slug"),
        ({"locale": "fr"}, "locale"),
        ({"category": "casino"}, "category"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 200_001}, "body"),
        ({"tags": ["x"] * 21}, "tags"),
        ({"tags": ["y" * 41]}, "tags"),
        ({"tags": "notalist"}, "tags"),
        ({"status": "published"}, "status"),
    ],
)
async def test_bad_article_input_is_refused(
    kb_client: httpx.AsyncClient, db: Database, change: dict[str, Any], field: str
) -> None:
    agent = await make_agent(db.sessionmaker, "agent@kefu.test")
    response = await kb_client.post(STAFF, json=ARTICLE | change, headers=agent.headers)
    assert response.status_code == 422, response.text
    assert field in str(response.json()["error"])


async def test_bad_public_and_staff_paths_are_4xx(
    kb_client: httpx.AsyncClient, db: Database, index_calls: IndexCalls
) -> None:
    agent = await make_agent(db.sessionmaker, "agent@kefu.test")
    created = await _create(kb_client, agent)
    for url in (
        "/api/v1/kb/articles/fr/account-locked",
        "/api/v1/kb/articles/en/Not%20A%20Slug",
        "/api/v1/kb/articles/en/" + "a" * 200,
        "/api/v1/kb/articles?locale=xx",
        "/api/v1/kb/articles",
    ):
        assert 400 <= (await kb_client.get(url)).status_code < 500, url
    for body in ({"helpful": "yes"}, {"helpful": 1}, {}, {"helpful": True, "x": 1}, [1]):
        response = await kb_client.post("/api/v1/kb/articles/en/account-locked/votes", json=body)
        assert response.status_code == 422, body
    malformed = await kb_client.post(
        "/api/v1/kb/articles/en/account-locked/votes",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert 400 <= malformed.status_code < 500
    missing = f"{STAFF}/{uuid.uuid4()}"
    assert (await kb_client.get(missing, headers=agent.headers)).status_code == 404
    assert (await kb_client.get(f"{STAFF}/not-a-uuid", headers=agent.headers)).status_code == 422
    assert (await kb_client.put(missing, json={"title": "x"}, headers=agent.headers)).status_code == 404
    duplicate = await kb_client.post(STAFF, json=ARTICLE, headers=agent.headers)
    assert duplicate.status_code == 409
    extra = await kb_client.put(f"{STAFF}/{created['id']}", json={"status": "x"}, headers=agent.headers)
    assert extra.status_code == 422
    big = await kb_client.post(
        "/api/v1/kb/staff/preview", json={"body": "x" * 200_001}, headers=agent.headers
    )
    assert big.status_code in (413, 422)
