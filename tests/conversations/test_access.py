"""The authorization matrix: who can reach which conversation, message and attachment (404 otherwise)."""

from __future__ import annotations

import httpx
import pytest

from kefu.auth.roles import Role, Scope
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import Customer, StaffMember, make_agent, make_customer, make_team, open_conversation

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e22a3a5b0000000049454e44ae426082"
)


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database, runtime: Runtime) -> dict[str, object]:
    maker = db.sessionmaker
    security = await make_team(maker, "Security", private=True)
    general = await make_team(maker, "General")
    people: dict[str, Customer | StaffMember] = {
        "alice": await make_customer(maker, runtime.settings, "alice@example.com"),
        "bob": await make_customer(maker, runtime.settings, "bob@example.com"),
        "insider": await make_agent(maker, "insider@kefu.test", teams=(security,)),
        "outsider": await make_agent(maker, "outsider@kefu.test", teams=(general,)),
        "supervisor": await make_agent(maker, "boss@kefu.test", role=Role.SUPERVISOR),
        "reviewer": await make_agent(maker, "kyc@kefu.test", role=Role.KYC_REVIEWER, teams=(security,)),
        "reader": await make_agent(
            maker, "ro@kefu.test", teams=(security,), scopes={Scope.CONVERSATIONS_READ}
        ),
    }
    alice_conv = await open_conversation(client, people["alice"], subject="alice's deposit")
    secret_conv = await open_conversation(
        client,
        people["insider"],
        subject="takeover report",
        team_id=str(security),
    )
    return {**people, "alice_conv": alice_conv, "secret_conv": secret_conv}


def _h(world: dict[str, object], who: str) -> dict[str, str]:
    headers: dict[str, str] = world[who].headers  # type: ignore[attr-defined]
    return headers


async def test_customer_cannot_reach_another_customers_conversation(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    conv = world["alice_conv"]
    assert isinstance(conv, dict)
    for path in (
        f"/api/v1/conversations/{conv['id']}",
        f"/api/v1/conversations/{conv['reference']}",
        f"/api/v1/conversations/{conv['id']}/messages",
    ):
        assert (await client.get(path, headers=_h(world, "alice"))).status_code == 200
        denied = await client.get(path, headers=_h(world, "bob"))
        assert denied.status_code == 404
        assert denied.json()["error"]["code"] == "not_found"
    post = await client.post(
        f"/api/v1/conversations/{conv['id']}/messages", json={"body": "hi"}, headers=_h(world, "bob")
    )
    assert post.status_code == 404
    listing = await client.get("/api/v1/conversations", headers=_h(world, "bob"))
    assert listing.json()["items"] == []
    search = await client.get("/api/v1/conversations", params={"q": "alice"}, headers=_h(world, "bob"))
    assert search.json()["items"] == []


async def test_private_team_conversations_are_hidden_from_outsiders(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    conv = world["secret_conv"]
    assert isinstance(conv, dict)
    path = f"/api/v1/conversations/{conv['id']}"
    for who, status in (("insider", 200), ("supervisor", 200), ("reviewer", 200), ("outsider", 404)):
        assert (await client.get(path, headers=_h(world, who))).status_code == status, who
        listed = await client.get("/api/v1/conversations", headers=_h(world, who))
        assert (conv["id"] in {c["id"] for c in listed.json()["items"]}) == (status == 200), who
    patch = await client.patch(path, json={"status": "open"}, headers=_h(world, "outsider"))
    assert patch.status_code == 404
    # Missing and forbidden are indistinguishable.
    missing = await client.get(
        "/api/v1/conversations/00000000-0000-7000-8000-000000000000", headers=_h(world, "outsider")
    )
    assert missing.json() == (await client.get(path, headers=_h(world, "outsider"))).json()


async def test_token_scopes_limit_what_an_agent_token_may_do(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    conv = world["secret_conv"]
    assert isinstance(conv, dict)
    path = f"/api/v1/conversations/{conv['id']}"
    assert (await client.get(path, headers=_h(world, "reader"))).status_code == 200
    write = await client.patch(path, json={"priority": "high"}, headers=_h(world, "reader"))
    assert write.status_code == 403
    reply = await client.post(f"{path}/messages", json={"body": "x"}, headers=_h(world, "reader"))
    assert reply.status_code == 403


async def test_attachments_follow_their_conversation(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    conv = world["alice_conv"]
    assert isinstance(conv, dict)
    response = await client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        data={"payload": '{"body": "screenshot attached"}'},
        files={"files": ("screen.png", PNG_1PX, "image/png")},
        headers=_h(world, "alice"),
    )
    assert response.status_code == 201, response.text
    attachment = response.json()["attachments"][0]
    url = attachment["url"]
    ok = await client.get(url, headers=_h(world, "alice"))
    assert ok.status_code == 200
    assert ok.headers["content-disposition"].startswith("attachment")
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert ok.content.startswith(b"\x89PNG")
    assert (await client.get(url, headers=_h(world, "bob"))).status_code == 404
    assert (await client.get(url, headers=_h(world, "outsider"))).status_code == 200  # not a private team
    assert (await client.get(url)).status_code == 401


async def test_attachments_on_internal_notes_are_staff_only(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    conv = world["alice_conv"]
    assert isinstance(conv, dict)
    note = await client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        data={"payload": '{"body": "internal evidence", "kind": "note"}'},
        files={"files": ("evidence.png", PNG_1PX, "image/png")},
        headers=_h(world, "outsider"),
    )
    assert note.status_code == 201, note.text
    url = note.json()["attachments"][0]["url"]
    assert (await client.get(url, headers=_h(world, "outsider"))).status_code == 200
    assert (await client.get(url, headers=_h(world, "alice"))).status_code == 404
