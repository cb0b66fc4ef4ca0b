"""The conversation API end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from kefu.conversations.models import Conversation, Message
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent, make_customer, open_conversation


async def _count(db: Database, model: type[Conversation] | type[Message]) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_agent_opens_conversation_for_customer(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    created = await open_conversation(
        client,
        agent,
        category="trading",
        form_fields={"order_id": "8800000003", "pair": "btc-usdt"},
        tags=["VIP"],
    )
    assert str(created["reference"]).startswith("KF-")
    assert created["status"] == "new"
    assert created["form_fields"] == {"order_id": "8800000003", "pair": "BTC/USDT"}
    assert created["tags"] == ["vip"]
    assert created["customer_token"] is None
    by_ref = await client.get(f"/api/v1/conversations/{created['reference']}", headers=agent.headers)
    assert by_ref.status_code == 200
    assert by_ref.json()["id"] == created["id"]


async def test_anonymous_request_form_gets_a_token_for_that_conversation_only(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    # Someone else already has conversations under this email.
    owner = await make_customer(db.sessionmaker, runtime.settings, "victim@example.com")
    private = await open_conversation(client, owner, subject="my private matter")
    response = await client.post(
        "/api/v1/conversations",
        json={"subject": "hi", "body": "help", "customer": {"email": "Victim@Example.com"}},
    )
    assert response.status_code == 201, response.text
    token = response.json()["customer_token"]
    headers = {"authorization": f"Bearer {token}"}
    assert (
        await client.get(f"/api/v1/conversations/{response.json()['id']}", headers=headers)
    ).status_code == 200
    # The unproven email does not unlock the owner's history.
    assert (await client.get(f"/api/v1/conversations/{private['id']}", headers=headers)).status_code == 404
    listed = await client.get("/api/v1/conversations", headers=headers)
    assert [c["id"] for c in listed.json()["items"]] == [response.json()["id"]]


async def test_anonymous_caller_must_name_an_email(client: httpx.AsyncClient, db: Database) -> None:
    response = await client.post("/api/v1/conversations", json={"body": "help"})
    assert response.status_code == 422
    assert "customer.email" in response.json()["error"]["fields"]
    assert await _count(db, Conversation) == 0


async def test_create_is_idempotent_on_client_id(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    body = {"body": "x", "customer": {"email": "a@example.com"}, "client_id": "req-1"}
    first = await client.post("/api/v1/conversations", json=body, headers=agent.headers)
    again = await client.post("/api/v1/conversations", json=body, headers=agent.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert await _count(db, Conversation) == 1
    assert await _count(db, Message) == 1


async def test_messages_get_monotonic_seqs_and_are_idempotent(
    client: httpx.AsyncClient, db: Database
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conv = await open_conversation(client, agent)
    url = f"/api/v1/conversations/{conv['id']}/messages"

    async def post(i: int) -> httpx.Response:
        return await client.post(url, json={"body": f"m{i}", "client_id": f"c{i}"}, headers=agent.headers)

    responses = await asyncio.gather(*(post(i) for i in range(8)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    retry = await post(3)
    assert retry.status_code == 200
    assert retry.json()["id"] == responses[3].json()["id"]
    timeline = (await client.get(url, headers=agent.headers)).json()["items"]
    seqs = [m["seq"] for m in timeline]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sum(1 for m in timeline if m["kind"] == "reply") == 9  # first message + 8 replies


async def test_status_machine_and_timeline_events(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conv = await open_conversation(client, agent)
    url = f"/api/v1/conversations/{conv['id']}"
    assert (await client.patch(url, json={"status": "pending"}, headers=agent.headers)).json()[
        "status"
    ] == "pending"
    assert (await client.patch(url, json={"status": "on_hold"}, headers=agent.headers)).status_code == 200
    assert (await client.patch(url, json={"status": "solved"}, headers=agent.headers)).status_code == 200
    closed = await client.patch(url, json={"status": "closed"}, headers=agent.headers)
    assert closed.json()["status"] == "closed"
    reopen = await client.patch(url, json={"status": "open"}, headers=agent.headers)
    assert reopen.status_code == 409
    assert reopen.json()["error"]["code"] == "conflict"
    reply = await client.post(f"{url}/messages", json={"body": "again"}, headers=agent.headers)
    assert reply.status_code == 409
    events = [
        m
        for m in (await client.get(f"{url}/messages", headers=agent.headers)).json()["items"]
        if m["kind"] == "event"
    ]
    assert [e["data"]["to"] for e in events] == ["pending", "on_hold", "solved", "closed"]


async def test_customer_reply_reopens_and_customer_never_sees_notes(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    conv = await open_conversation(client, customer)
    url = f"/api/v1/conversations/{conv['id']}"
    note = await client.post(
        f"{url}/messages", json={"body": "VIP, be careful", "kind": "note"}, headers=agent.headers
    )
    assert note.status_code == 201
    await client.post(
        f"{url}/messages",
        json={"body": "Please send the tx hash", "status": "pending"},
        headers=agent.headers,
    )
    assert (await client.get(url, headers=customer.headers)).json()["status"] == "pending"
    reply = await client.post(f"{url}/messages", json={"body": "here it is"}, headers=customer.headers)
    assert reply.status_code == 201
    assert (await client.get(url, headers=customer.headers)).json()["status"] == "open"
    seen = (await client.get(f"{url}/messages", headers=customer.headers)).json()["items"]
    assert {m["kind"] for m in seen} == {"reply"}
    assert "VIP, be careful" not in str(seen)
    assert all(m["author_agent_id"] is None for m in seen)
    as_note = await client.post(
        f"{url}/messages", json={"body": "x", "kind": "note"}, headers=customer.headers
    )
    assert as_note.status_code == 403
    patch = await client.patch(url, json={"status": "solved"}, headers=customer.headers)
    assert patch.status_code == 403


async def test_list_filters_and_cursor_pagination(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    ids: list[str] = []
    for i in range(7):
        conv = await open_conversation(
            client,
            agent,
            subject=f"deposit {i}",
            category="deposit" if i % 2 else "general",
            tags=["odd"] if i % 2 else [],
        )
        ids.append(str(conv["id"]))
    await client.patch(
        f"/api/v1/conversations/{ids[0]}", json={"assignee_id": str(agent.id)}, headers=agent.headers
    )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/conversations", params=params, headers=agent.headers)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))

    async def ids_for(**params: str) -> set[str]:
        body = (await client.get("/api/v1/conversations", params=params, headers=agent.headers)).json()
        return {c["id"] for c in body["items"]}

    assert await ids_for(category="deposit") == set(ids[1::2])
    assert await ids_for(tag="odd") == set(ids[1::2])
    assert await ids_for(assignee_id=str(agent.id)) == {ids[0]}
    assert await ids_for(unassigned="true") == set(ids[1:])
    assert await ids_for(q="deposit 4") == {ids[4]}
    assert await ids_for(q="100%_") == set()
    assert await ids_for(status="open") == set()  # assignment alone does not open a conversation
    assert await ids_for(status="new") == set(ids)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x", "category": "nonsense"}, "category"),
        ({"body": "x", "category": "trading", "form_fields": {"pair": "BTCUSDT"}}, "form_fields.pair"),
        ({"body": "x", "category": "deposit", "form_fields": {"tx_hash": "<script>"}}, "form_fields.tx_hash"),
        ({"body": "x", "category": "deposit", "form_fields": {"amount": "-1"}}, "form_fields.amount"),
        ({"body": "x", "form_fields": {"password": "hunter2"}}, "form_fields.password"),
        ({"body": "x", "unexpected": 1}, "unexpected"),
        ({"body": "x", "tags": ["a b"]}, "tags.0"),
        ({"body": "x" * 20_001}, "body"),
        ({"body": "x", "customer": {"email": "not-an-email"}}, "customer.email"),
    ],
)
async def test_invalid_create_is_422_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, payload: dict[str, object], field: str
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    body = {"customer": {"email": "a@example.com"}} | payload
    response = await client.post("/api/v1/conversations", json=body, headers=agent.headers)
    assert response.status_code == 422, response.text
    assert any(key.startswith(field) for key in response.json()["error"]["fields"]), response.json()
    assert await _count(db, Conversation) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"body": "x"', "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b'{"body": "x"}', "text/plain", 415),
        (b"[1, 2, 3]", "application/json", 422),
        (b"null", "application/json", 422),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 422),
    ],
)
async def test_malformed_bodies_are_4xx_and_store_nothing(
    client: httpx.AsyncClient, db: Database, content: bytes, content_type: str, status: int
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conv = await open_conversation(client, agent)
    before = await _count(db, Message)
    for url in ("/api/v1/conversations", f"/api/v1/conversations/{conv['id']}/messages"):
        response = await client.post(
            url, content=content, headers=agent.headers | {"content-type": content_type}
        )
        assert response.status_code == status, (url, response.text)
        assert "error" in response.json()
    patch = await client.patch(
        f"/api/v1/conversations/{conv['id']}",
        content=content,
        headers=agent.headers | {"content-type": content_type},
    )
    assert 400 <= patch.status_code < 500
    assert await _count(db, Message) == before
    assert await _count(db, Conversation) == 1


async def test_bad_ids_and_params_are_4xx(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    for path in (
        "/api/v1/conversations/not-a-uuid",
        "/api/v1/conversations/KF-00000000",
        "/api/v1/conversations/00000000-0000-0000-0000-000000000000",
    ):
        assert (await client.get(path, headers=agent.headers)).status_code in (404, 422)
    for params in (
        {"limit": "0"},
        {"limit": "1000"},
        {"cursor": "!!!"},
        {"status": "bogus"},
        {"assignee_id": "x"},
        {"cursor": "WyJ4Il0"},
    ):
        response = await client.get("/api/v1/conversations", params=params, headers=agent.headers)
        assert response.status_code == 422, (params, response.text)


async def test_unauthenticated_and_bad_tokens_are_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/conversations")).status_code == 401
    for header in ("Bearer kefu_forged", "Bearer kfc_forged.sig", "Basic abc", "Bearer "):
        response = await client.get("/api/v1/conversations", headers={"authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "not_authenticated"


async def test_customers_never_see_tags_team_or_assignee(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    from tests.factories import make_team

    funds = await make_team(db.sessionmaker, "Funds")
    agent = await make_agent(db.sessionmaker, "li@kefu.test", teams=(funds,))
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    created = await open_conversation(client, customer)
    changed = await client.patch(
        f"/api/v1/conversations/{created['id']}",
        json={"tags": ["angry", "phishing-report"], "team_id": str(funds), "assignee_id": str(agent.id)},
        headers=agent.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["tags"] == ["angry", "phishing-report"]  # staff see them
    for response in [
        await client.get(f"/api/v1/conversations/{created['id']}", headers=customer.headers),
        await client.get("/api/v1/conversations", headers=customer.headers),
    ]:
        body = response.json()
        item = body["items"][0] if "items" in body else body
        assert item["tags"] == []
        assert item["team_id"] is None
        assert item["assignee_id"] is None
    assert created["tags"] == []
    assert created["assignee_id"] is None
