"""Customer tokens minted by the exchange backend (an admin token) over HTTP."""

from __future__ import annotations

import httpx
import pytest

from kefu.auth.roles import Role, Scope
from kefu.contacts.models import Contact
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, open_conversation
from tests.web.api.v1.conftest import assert_error, count_rows

URL = "/api/v1/customers/tokens"


async def _admin(db: Database) -> StaffMember:
    return await make_agent(db.sessionmaker, "backend@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_customer_token_reads_that_customers_conversations_only(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await _admin(db)
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    mine = await open_conversation(client, agent, customer={"email": "alice@example.com"}, subject="mine")
    theirs = await open_conversation(client, agent, customer={"email": "bob@example.com"}, subject="theirs")

    issued = await client.post(URL, json={"email": "Alice@Example.com"}, headers=admin.headers)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["customer_token"].startswith("kfc_")
    assert body["contact_id"] == mine["contact_id"]
    assert body["expires_in"] == 90 * 24 * 3600
    customer = _bearer(body["customer_token"])

    assert (await client.get(f"/api/v1/conversations/{mine['id']}", headers=customer)).status_code == 200
    assert_error(
        await client.get(f"/api/v1/conversations/{theirs['id']}", headers=customer), 404, "not_found"
    )
    assert_error(
        await client.post(
            f"/api/v1/conversations/{theirs['id']}/messages", json={"body": "x"}, headers=customer
        ),
        404,
    )
    listed = await client.get("/api/v1/conversations", headers=customer)
    assert listed.status_code == 200
    assert mine["id"] in {c["id"] for c in listed.json()["items"]}
    assert theirs["id"] not in {c["id"] for c in listed.json()["items"]}

    # The same identity always maps to the same contact.
    again = await client.post(URL, json={"email": "alice@example.com"}, headers=admin.headers)
    assert again.json()["contact_id"] == body["contact_id"]

    # Customers cannot mint tokens or reach staff routes.
    for method, url in (("POST", URL), ("GET", "/api/v1/admin/audit"), ("GET", "/api/v1/agents")):
        response = await client.request(method, url, json={"email": "bob@example.com"}, headers=customer)
        assert_error(response, 403, "permission_denied")


async def test_tampered_customer_tokens_are_401(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    token = (await client.post(URL, json={"email": "alice@example.com"}, headers=admin.headers)).json()[
        "customer_token"
    ]
    flipped = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for forged in (flipped, "kfc_" + "x" * 600, "kfc_"):
        assert_error(await client.get("/api/v1/conversations", headers=_bearer(forged)), 401)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "customer"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "role": "admin"}, "role"),
        ({"email": 42}, "email"),
        ({"phone": "1" * 33}, "phone"),
        ({"exchange_uid": "9" * 65}, "exchange_uid"),
        ({"email": "a@example.com", "name": "x" * 201}, "name"),
        ({"email": "a@example.com", "name": ["x"]}, "name"),
    ],
)
async def test_bad_bodies_are_422_and_store_nothing(
    client: httpx.AsyncClient, db: Database, payload: dict[str, object], field: str
) -> None:
    admin = await _admin(db)
    response = await client.post(URL, json=payload, headers=admin.headers)
    error = assert_error(response, 422, "invalid_input")
    assert field in error.get("fields", {}), error
    assert await count_rows(db, Contact) == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "a@example.com", "name": "Al\x00ice"},
        {"phone": "+86\x00138"},
        {"exchange_uid": "1000\x000001"},
        {"email": "a\x00b@example.com"},
    ],
)
async def test_nul_bytes_are_refused_not_a_500(
    client: httpx.AsyncClient, db: Database, payload: dict[str, object]
) -> None:
    # PostgreSQL cannot store NUL in text: it must be refused before it reaches the database.
    admin = await _admin(db)
    response = await client.post(URL, json=payload, headers=admin.headers)
    assert_error(response, 422, "invalid_input")
    assert await count_rows(db, Contact) == 0
