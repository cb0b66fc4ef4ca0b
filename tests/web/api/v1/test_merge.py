"""Merging duplicate conversations through the API: what moves, what closes, and who may merge."""

from __future__ import annotations

import json

import httpx
import pytest

from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import Customer, StaffMember, make_agent, make_customer, make_team, open_conversation
from tests.storage.samples import png


async def _reply_with_file(client: httpx.AsyncClient, who: Customer, conversation: str, text: str) -> None:
    response = await client.post(
        f"/api/v1/conversations/{conversation}/messages",
        files={"payload": (None, json.dumps({"body": text})), "files": ("proof.png", png(), "image/png")},
        headers=who.headers,
    )
    assert response.status_code == 201, response.text


async def _merge(
    client: httpx.AsyncClient, who: StaffMember | Customer, source: str, into: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{source}/merge", json={"into": into}, headers=who.headers
    )


async def test_duplicate_closes_into_the_survivor_with_its_words_and_files(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    survivor = await open_conversation(client, alice, subject="Deposit missing")
    duplicate = await open_conversation(client, alice, subject="Deposit STILL missing", body="Hello??")
    await _reply_with_file(client, alice, str(duplicate["id"]), "Here is the screenshot")
    tagged = await client.patch(
        f"/api/v1/conversations/{duplicate['id']}", json={"tags": ["angry"]}, headers=li.headers
    )
    assert tagged.status_code == 200

    merged = await _merge(client, li, str(duplicate["id"]), str(survivor["reference"]))
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == survivor["id"]
    assert merged.json()["tags"] == ["angry"]

    closed = (await client.get(f"/api/v1/conversations/{duplicate['id']}", headers=li.headers)).json()
    assert closed["status"] == "closed"
    assert closed["merged_into_id"] == survivor["id"]
    timeline = (
        await client.get(f"/api/v1/conversations/{survivor['id']}/messages", headers=li.headers)
    ).json()
    note = timeline["items"][-1]
    assert note["kind"] == "note"
    assert str(duplicate["reference"]) in note["body"]
    assert "Hello??" in note["body"]
    assert "Here is the screenshot" in note["body"]
    assert [a["filename"] for a in note["attachments"]] == ["proof.png"]
    # The customer's own view of the survivor shows no internal note.
    theirs = (
        await client.get(f"/api/v1/conversations/{survivor['id']}/messages", headers=alice.headers)
    ).json()
    assert all(m["kind"] == "reply" for m in theirs["items"])


async def test_merges_that_must_not_happen(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    bob = await make_customer(db.sessionmaker, settings, "bob@example.com")
    first = await open_conversation(client, alice)
    second = await open_conversation(client, alice)
    bobs = await open_conversation(client, bob)

    other_customer = await _merge(client, li, str(first["id"]), str(bobs["reference"]))
    assert other_customer.status_code == 422
    itself = await _merge(client, li, str(first["id"]), str(first["reference"]))
    assert itself.status_code == 422
    by_customer = await _merge(client, alice, str(first["id"]), str(second["reference"]))
    assert by_customer.status_code == 403
    assert (await _merge(client, li, str(first["id"]), str(second["id"]))).status_code == 200
    again = await _merge(client, li, str(first["id"]), str(second["id"]))
    assert again.status_code == 409
    into_closed = await _merge(client, li, str(second["id"]), str(first["id"]))
    assert into_closed.status_code == 409


@pytest.mark.parametrize("into", ["", "KF-", "not-a-ref", "{" + "0" * 32 + "}", "x" * 41, "KF-1\x00"])
async def test_malformed_targets_are_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings, into: str
) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    source = await open_conversation(client, li)
    response = await _merge(client, li, str(source["id"]), into)
    assert response.status_code in (404, 422), response.text


async def test_outsiders_cannot_merge_private_conversations(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    vault = await make_team(db.sessionmaker, "Vault", private=True)
    insider = await make_agent(db.sessionmaker, "in@kefu.test", teams=(vault,))
    outsider = await make_agent(db.sessionmaker, "out@kefu.test")
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    public = await open_conversation(client, alice)
    secret = await open_conversation(
        client, insider, customer={"email": "alice@example.com"}, team_id=str(vault)
    )
    assert (await _merge(client, outsider, str(public["id"]), str(secret["reference"]))).status_code == 404
    assert (await _merge(client, outsider, str(secret["id"]), str(public["reference"]))).status_code == 404
