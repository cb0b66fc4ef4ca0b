"""Trust routes over HTTP: who may call each, hostile input, and codes and freezes end to end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mnemonic import Mnemonic
from sqlalchemy import select

from kefu.contacts.actions import do_add_identity
from kefu.contacts.models import IdentityKind
from kefu.db.uow import transaction
from kefu.integrations.exchange.demo_data import ALICE
from kefu.jobs.models import OutboxJob
from kefu.mail.outbox import MAIL_SEND
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import Customer, StaffMember, make_agent, make_customer, open_conversation

SEED = Mnemonic("english").to_mnemonic(bytes(range(16)))


@pytest.fixture
async def agent(db: Database) -> StaffMember:
    return await make_agent(db.sessionmaker, "li@kefu.test")


@pytest.fixture
async def customer(db: Database, runtime: Runtime) -> Customer:
    who = await make_customer(db.sessionmaker, runtime.settings, "alice@example.com")
    async with transaction(db.sessionmaker) as session:
        await do_add_identity(session, who.contact_id, IdentityKind.EXCHANGE_UID, ALICE)
    return who


async def test_preview_shows_what_would_be_removed(client: httpx.AsyncClient, agent: StaffMember) -> None:
    text = f"words: {SEED} tx 0x{'ab' * 32}"
    response = await client.post("/api/v1/redaction/preview", json={"text": text}, headers=agent.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == f"words: [redacted: seed phrase] tx 0x{'ab' * 32}"
    (finding,) = body["findings"]
    assert finding["kind"] == "seed_phrase"
    assert text[finding["start"] : finding["end"]] == SEED


@pytest.mark.parametrize(
    "payload",
    [{}, {"text": 5}, {"text": "x", "extra": 1}, {"text": "x" * 100_001}, [], "text"],
)
async def test_preview_refuses_malformed_input(
    client: httpx.AsyncClient, agent: StaffMember, payload: Any
) -> None:
    response = await client.post("/api/v1/redaction/preview", json=payload, headers=agent.headers)
    assert response.status_code == 422


async def test_preview_is_for_staff_only(client: httpx.AsyncClient, customer: Customer) -> None:
    assert (await client.post("/api/v1/redaction/preview", json={"text": "x"})).status_code == 401
    denied = await client.post("/api/v1/redaction/preview", json={"text": "x"}, headers=customer.headers)
    assert denied.status_code == 403


async def _code_sent(db: Database) -> str:
    async with db.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND)))
    codes = [j.payload["context"]["code"] for j in jobs if j.payload["template"] == "identity_code"]
    return str(codes[-1])


async def test_identity_code_then_freeze_end_to_end(
    client: httpx.AsyncClient, db: Database, agent: StaffMember, customer: Customer
) -> None:
    conversation = await open_conversation(client, customer)
    base = f"/api/v1/conversations/{conversation['id']}"
    # Not verified: a freeze is refused.
    refused = await client.post(
        f"{base}/account-actions", json={"action": "freeze"}, headers=customer.headers
    )
    assert refused.status_code == 403
    # Only agents send codes.
    assert (await client.post(f"{base}/identity/code", headers=customer.headers)).status_code == 403
    sent = await client.post(f"{base}/identity/code", headers=agent.headers)
    assert sent.status_code == 201
    assert sent.json()["destination"] == "a***@example.com"
    assert (await client.post(f"{base}/identity/code", headers=agent.headers)).status_code == 429
    state = await client.get(f"{base}/identity", headers=customer.headers)
    assert state.json()["verified"] is False
    assert state.json()["pending"]["destination"] == "a***@example.com"

    code = await _code_sent(db)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    bad = await client.post(f"{base}/identity/verify", json={"code": wrong}, headers=customer.headers)
    assert bad.status_code == 422
    assert "4 attempts left" in bad.text  # the failed attempt was committed
    again = await client.post(f"{base}/identity/verify", json={"code": wrong}, headers=customer.headers)
    assert "3 attempts left" in again.text
    # Agents cannot enter the customer's code for them.
    as_agent = await client.post(f"{base}/identity/verify", json={"code": code}, headers=agent.headers)
    assert as_agent.status_code == 403
    ok = await client.post(f"{base}/identity/verify", json={"code": code}, headers=customer.headers)
    assert ok.status_code == 200
    assert (await client.get(f"{base}/identity", headers=agent.headers)).json()["verified"] is True
    used = await client.post(f"{base}/identity/verify", json={"code": code}, headers=customer.headers)
    assert used.status_code == 409

    unlock = await client.post(f"{base}/account-actions", json={"action": "unlock"}, headers=customer.headers)
    assert unlock.status_code == 403
    frozen = await client.post(f"{base}/account-actions", json={"action": "freeze"}, headers=customer.headers)
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
    assert frozen.json()["uid"] == ALICE


async def test_another_customer_sees_nothing(
    client: httpx.AsyncClient, db: Database, runtime: Runtime, agent: StaffMember, customer: Customer
) -> None:
    conversation = await open_conversation(client, customer)
    base = f"/api/v1/conversations/{conversation['id']}"
    await client.post(f"{base}/identity/code", headers=agent.headers)
    mallory = await make_customer(db.sessionmaker, runtime.settings, "mallory@example.com")
    code = await _code_sent(db)
    for method, path, body in (
        ("GET", f"{base}/identity", None),
        ("POST", f"{base}/identity/verify", {"code": code}),
        ("POST", f"{base}/account-actions", {"action": "freeze"}),
    ):
        response = await client.request(method, path, json=body, headers=mallory.headers)
        assert response.status_code == 404, path


@pytest.mark.parametrize(
    "payload", [{}, {"code": 123456}, {"code": "1" * 65}, {"code": "123456", "x": 1}, None]
)
async def test_verify_refuses_malformed_bodies(
    client: httpx.AsyncClient, customer: Customer, payload: Any
) -> None:
    conversation = await open_conversation(client, customer)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/identity/verify", json=payload, headers=customer.headers
    )
    assert response.status_code == (415 if payload is None else 422)  # no body at all: not JSON


@pytest.mark.parametrize(
    "payload", [{"action": "delete"}, {"action": None}, {}, {"action": "freeze", "uid": "1"}]
)
async def test_account_actions_refuse_malformed_bodies(
    client: httpx.AsyncClient, agent: StaffMember, customer: Customer, payload: Any
) -> None:
    conversation = await open_conversation(client, customer)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/account-actions", json=payload, headers=agent.headers
    )
    assert response.status_code == 422


async def test_customer_anti_phishing_code(
    client: httpx.AsyncClient, db: Database, agent: StaffMember, customer: Customer
) -> None:
    path = "/api/v1/customer/anti-phishing-code"
    assert (await client.get(path, headers=customer.headers)).json() == {"code": None, "set_at": None}
    put = await client.put(path, json={"code": "Blue Otter 42"}, headers=customer.headers)
    assert put.status_code == 200
    assert put.json()["code"] == "Blue Otter 42"
    assert (await client.get(path, headers=customer.headers)).json()["code"] == "Blue Otter 42"
    for bad in ({"code": "<b>"}, {"code": "abc"}, {"code": 7}, {}, {"code": "x" * 201}):
        assert (await client.put(path, json=bad, headers=customer.headers)).status_code == 422
    assert (await client.get(path, headers=customer.headers)).json()["code"] == "Blue Otter 42"  # kept
    assert (await client.get(path, headers=agent.headers)).status_code == 403
    assert (await client.get(path)).status_code == 401
    assert (await client.delete(path, headers=customer.headers)).json()["code"] is None
    assert (await client.get(path, headers=customer.headers)).json()["code"] is None
