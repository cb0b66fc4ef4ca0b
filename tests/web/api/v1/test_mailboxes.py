"""`/api/v1/mailboxes`: administrators manage the support mailboxes; the listener follows at once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock, utcnow
from kefu.core.ids import new_reference
from kefu.db.uow import transaction
from kefu.inboxes.mailbox_actions import MAX_MAILBOXES
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.mail.mailboxes import resolve_recipient
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_team
from tests.web.api.v1.conftest import BrowserFactory, assert_error, count_rows, signed_in_admin

URL = "/api/v1/mailboxes"


async def _admin(db: Database) -> StaffMember:
    return await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})


async def _create(
    client: httpx.AsyncClient,
    admin: StaffMember,
    team: uuid.UUID,
    address: str = "vip@kefu.test",
    **extra: object,
) -> dict[str, object]:
    body: dict[str, object] = {"address": address, "name": "VIP", "team_id": str(team)} | extra
    response = await client.post(URL, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def _conversations(db: Database, inbox_id: object, *, recent: int, old: int = 0) -> None:
    """`recent` conversations opened through the inbox today, `old` ones three weeks ago."""
    async with transaction(db.sessionmaker) as session:
        contact = Contact(name="Alice")
        session.add(contact)
        await session.flush()
        for index in range(recent + old):
            created = utcnow() - (timedelta(days=21) if index >= recent else timedelta(hours=1))
            session.add(
                Conversation(
                    reference=new_reference(),
                    contact_id=contact.id,
                    inbox_id=uuid.UUID(str(inbox_id)),
                    channel=ChannelKind.EMAIL,
                    created_at=created,
                )
            )


async def _audit_actions(db: Database) -> list[str]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "mailbox")
            .order_by(AuditEvent.occurred_at)
        )
        return list(rows)


async def test_only_administrators_may_use_it(client: httpx.AsyncClient, db: Database) -> None:
    team = await make_team(db.sessionmaker, "General")
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    # An admin's token without the admin scope is a plain agent's token.
    limited = await make_agent(db.sessionmaker, "root2@kefu.test", role=Role.ADMIN)
    admin = await _admin(db)
    existing = await _create(client, admin, team)
    body = {"address": "other@kefu.test", "name": "Other", "team_id": str(team)}
    calls = [
        ("GET", URL, None),
        ("GET", f"{URL}/{existing['id']}", None),
        ("POST", URL, body),
        ("PATCH", f"{URL}/{existing['id']}", {"is_active": False}),
        ("DELETE", f"{URL}/{existing['id']}", None),
    ]
    for method, url, payload in calls:
        assert_error(await client.request(method, url, json=payload), 401, "not_authenticated")
        for who in (agent, boss, limited):
            refused = await client.request(method, url, json=payload, headers=who.headers)
            assert_error(refused, 403, "permission_denied")
    async with db.sessionmaker() as session:
        [row] = (await session.scalars(select(Inbox))).all()
        denied = await session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied"))
        assert len(list(denied)) == 15
    assert (row.address, row.is_active) == ("vip@kefu.test", True)


async def test_admins_add_list_edit_and_remove_mailboxes(client: httpx.AsyncClient, db: Database) -> None:
    general = await make_team(db.sessionmaker, "General")
    vip = await make_team(db.sessionmaker, "VIP desk")
    admin = await _admin(db)
    created = await _create(client, admin, general, "  VIP.Support@Example.COM ", name="  VIP  ")
    assert created["address"] == "vip.support@example.com"
    assert created["name"] == "VIP"
    assert created["team_id"] == str(general)
    assert created["is_active"] is True
    assert created["recent_conversations"] == 0
    idn = await _create(client, admin, general, "support@bücher.example", name="Books", is_active=False)
    assert idn["address"] == "support@xn--bcher-kva.example"
    assert idn["is_active"] is False

    listed = await client.get(URL, headers=admin.headers)
    assert listed.status_code == 200
    assert [row["address"] for row in listed.json()] == [
        "support@xn--bcher-kva.example",
        "vip.support@example.com",
    ]
    one = await client.get(f"{URL}/{created['id']}", headers=admin.headers)
    assert one.json()["address"] == "vip.support@example.com"

    changed = await client.patch(
        f"{URL}/{created['id']}", json={"name": "VIP mail", "team_id": str(vip)}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["team_id"], changed.json()["is_active"]) == (
        "VIP mail",
        str(vip),
        True,
    )
    # null leaves a field as it is; an empty change is a no-op.
    kept = await client.patch(f"{URL}/{created['id']}", json={"team_id": None}, headers=admin.headers)
    assert kept.json()["team_id"] == str(vip)
    assert (await client.patch(f"{URL}/{created['id']}", json={}, headers=admin.headers)).status_code == 200

    removed = await client.delete(f"{URL}/{created['id']}", headers=admin.headers)
    assert removed.status_code == 200
    assert removed.json() == {"outcome": "deleted", "conversations": 0, "mailbox": None}
    assert_error(await client.delete(f"{URL}/{created['id']}", headers=admin.headers), 404, "not_found")
    assert_error(await client.get(f"{URL}/{created['id']}", headers=admin.headers), 404, "not_found")
    assert_error(await client.patch(f"{URL}/{created['id']}", json={}, headers=admin.headers), 404)
    assert_error(await client.get(f"{URL}/not-a-uuid", headers=admin.headers), 422)
    # Changes that change nothing are not audited.
    assert await _audit_actions(db) == [
        "mailbox.created",
        "mailbox.created",
        "mailbox.updated",
        "mailbox.deleted",
    ]
    async with db.sessionmaker() as session:
        trail = list(await session.scalars(select(AuditEvent).where(AuditEvent.target_type == "mailbox")))
    assert all(event.actor_id == admin.id for event in trail)
    first_change = next(e for e in trail if e.action == "mailbox.updated")
    assert first_change.details["changed"] == ["name", "team_id"]


async def test_other_channels_inboxes_are_not_mailboxes(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    async with transaction(db.sessionmaker) as session:
        widget = Inbox(name="Help center", channel=ChannelKind.WEB, address="help-center")
        session.add(widget)
    assert (await client.get(URL, headers=admin.headers)).json() == []
    for method, body in (("GET", None), ("PATCH", {"is_active": False}), ("DELETE", None)):
        response = await client.request(method, f"{URL}/{widget.id}", json=body, headers=admin.headers)
        assert_error(response, 404, "not_found")
    async with db.sessionmaker() as session:
        stored = await session.get(Inbox, widget.id)
        assert stored is not None
        assert stored.is_active


async def test_a_duplicate_address_is_409_whatever_its_case_or_state(
    client: httpx.AsyncClient, db: Database
) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    first = await _create(client, admin, team, "support@kefu.test")
    for spelling in ("support@kefu.test", "SUPPORT@Kefu.Test", " support@kefu.test "):
        again = await client.post(
            URL, json={"address": spelling, "name": "Again", "team_id": str(team)}, headers=admin.headers
        )
        assert_error(again, 409, "conflict")
    # A switched-off mailbox still owns its address: reactivate it rather than adding it twice.
    await client.patch(f"{URL}/{first['id']}", json={"is_active": False}, headers=admin.headers)
    again = await client.post(
        URL,
        json={"address": "support@kefu.test", "name": "Again", "team_id": str(team)},
        headers=admin.headers,
    )
    assert_error(again, 409, "conflict")
    # A row stored in another case (demo data, older releases) counts too.
    async with transaction(db.sessionmaker) as session:
        session.add(Inbox(name="Legacy", channel=ChannelKind.EMAIL, address="Legacy@Kefu.Test", team_id=team))
    legacy = await client.post(
        URL, json={"address": "legacy@kefu.test", "name": "New", "team_id": str(team)}, headers=admin.headers
    )
    assert_error(legacy, 409, "conflict")
    assert await count_rows(db, Inbox) == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"address": "support+vip@kefu.test"},
        {"address": "support+@kefu.test"},
        {"address": "Support <support@kefu.test>"},
        {"address": "<support@kefu.test>"},
        {"address": "support@kefu.test>"},
        {"address": "a@kefu.test, b@kefu.test"},
        {"address": "support@kefu.test\r\nBcc: victim@example.com"},
        {"address": "support@kefu.test\x00"},
        {"address": "support@kefu.test\u2028"},
        {"address": "support@kefu.test\n"},
        {"address": "ｓupport@kefu.test"},
        {"address": "support@[127.0.0.1]"},
        {"address": "sup port@kefu.test"},
        {"address": "user%evil.example@kefu.test"},
        {"address": "evil!user@kefu.test"},
        {"address": '"quoted"@kefu.test'},
        {"address": "客服@kefu.test"},
        {"address": "no-at-sign"},
        {"address": "@kefu.test"},
        {"address": "support@"},
        {"address": ""},
        {"address": "a" * 100_000 + "@kefu.test"},
        {"address": None},
        {"address": ["support@kefu.test"]},
        {"address": 42},
        {"name": ""},
        {"name": "   "},
        {"name": "VIP\nX-Header: 1"},
        {"name": "x" * 101},
        {"team_id": str(uuid.uuid4())},
        {"team_id": "general"},
        {"team_id": None},
        {"is_active": "maybe"},
        {"channel": "web"},
    ],
)
async def test_invalid_input_is_422_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, changes: dict[str, object]
) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    body: dict[str, object] = {"address": "vip@kefu.test", "name": "VIP", "team_id": str(team)} | changes
    error = assert_error(await client.post(URL, json=body, headers=admin.headers), 422, "invalid_input")
    assert error.get("fields")
    assert await count_rows(db, Inbox) == 0


async def test_plus_addresses_and_unknown_teams_are_named(client: httpx.AsyncClient, db: Database) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    tagged = {"address": "support+vip@kefu.test", "name": "VIP", "team_id": str(team)}
    fields = assert_error(await client.post(URL, json=tagged, headers=admin.headers), 422)["fields"]
    assert "+tag" in fields["address"]
    unknown = tagged | {"address": "vip@kefu.test", "team_id": str(uuid.uuid4())}
    fields = assert_error(await client.post(URL, json=unknown, headers=admin.headers), 422)["fields"]
    assert fields == {"team_id": "no such team"}


@pytest.mark.parametrize(
    "changes",
    [
        {"address": "other@kefu.test"},
        {"name": ""},
        {"name": "a\u2028b"},
        {"team_id": str(uuid.uuid4())},
        {"is_active": None, "extra": True},
    ],
)
async def test_invalid_changes_are_422_and_change_nothing(
    client: httpx.AsyncClient, db: Database, changes: dict[str, object]
) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    created = await _create(client, admin, team)
    response = await client.patch(f"{URL}/{created['id']}", json=changes, headers=admin.headers)
    assert_error(response, 422, "invalid_input")
    stored = (await client.get(f"{URL}/{created['id']}", headers=admin.headers)).json()
    assert (stored["address"], stored["name"], stored["team_id"]) == ("vip@kefu.test", "VIP", str(team))


async def test_malformed_bodies_are_4xx(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    broken = await client.post(
        URL, content=b'{"address": ', headers=admin.headers | {"content-type": "application/json"}
    )
    assert_error(broken, 400, "malformed_json")
    as_text = await client.post(
        URL, content=b'{"address": "a@kefu.test"}', headers=admin.headers | {"content-type": "text/plain"}
    )
    assert_error(as_text, 415, "unsupported_media_type")
    not_object = await client.post(URL, json=["a@kefu.test"], headers=admin.headers)
    assert_error(not_object, 422)
    assert await count_rows(db, Inbox) == 0


async def test_a_mailbox_with_conversations_is_deactivated_not_deleted(
    client: httpx.AsyncClient, db: Database
) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    created = await _create(client, admin, team)
    await _conversations(db, created["id"], recent=2, old=1)
    listed = (await client.get(URL, headers=admin.headers)).json()
    assert listed[0]["recent_conversations"] == 2

    removed = await client.delete(f"{URL}/{created['id']}", headers=admin.headers)
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert body["outcome"] == "deactivated"
    assert body["conversations"] == 3
    assert body["mailbox"]["is_active"] is False
    assert body["mailbox"]["recent_conversations"] == 2
    async with db.sessionmaker() as session:
        inbox = await session.get(Inbox, uuid.UUID(str(created["id"])))
        assert inbox is not None
        assert inbox.is_active is False
        kept = await session.scalars(select(Conversation.inbox_id))
        assert {str(inbox_id) for inbox_id in kept} == {created["id"]}
    # Removing it again changes nothing more and says so again.
    again = await client.delete(f"{URL}/{created['id']}", headers=admin.headers)
    assert again.json()["outcome"] == "deactivated"
    actions = await _audit_actions(db)
    assert actions == ["mailbox.created", "mailbox.deactivated", "mailbox.deactivated"]


async def test_the_number_of_mailboxes_is_bounded(client: httpx.AsyncClient, db: Database) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    async with transaction(db.sessionmaker) as session:
        session.add_all(
            Inbox(name=f"Box {i}", channel=ChannelKind.EMAIL, address=f"box{i}@kefu.test", team_id=team)
            for i in range(MAX_MAILBOXES)
        )
    response = await client.post(
        URL,
        json={"address": "one-more@kefu.test", "name": "More", "team_id": str(team)},
        headers=admin.headers,
    )
    assert_error(response, 422, "invalid_input")
    assert len((await client.get(URL, headers=admin.headers)).json()) == MAX_MAILBOXES


async def test_every_change_reaches_the_listener_right_after_commit(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    general = await make_team(db.sessionmaker, "General")
    vip = await make_team(db.sessionmaker, "VIP")
    admin = await _admin(db)
    settings = runtime.settings

    async def resolve(address: str) -> tuple[uuid.UUID | None, uuid.UUID | None] | None:
        async with db.sessionmaker() as session:
            found = await resolve_recipient(session, settings, address)
        return None if found is None else (found.mailbox.inbox_id, found.mailbox.team_id)

    # Cached now (the cache keeps a value a few seconds): every change below must drop it.
    assert await resolve("vip@kefu.test") is None
    created = await _create(client, admin, general)
    inbox_id = uuid.UUID(str(created["id"]))
    assert await resolve("VIP+KF-12345678@kefu.test") == (inbox_id, general)
    await client.patch(f"{URL}/{inbox_id}", json={"team_id": str(vip)}, headers=admin.headers)
    assert await resolve("vip@kefu.test") == (inbox_id, vip)
    await client.patch(f"{URL}/{inbox_id}", json={"is_active": False}, headers=admin.headers)
    assert await resolve("vip@kefu.test") is None
    await client.patch(f"{URL}/{inbox_id}", json={"is_active": True}, headers=admin.headers)
    assert await resolve("vip@kefu.test") == (inbox_id, vip)
    await client.delete(f"{URL}/{inbox_id}", headers=admin.headers)
    assert await resolve("vip@kefu.test") is None


async def test_a_refused_change_leaves_the_listener_as_it_was(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    team = await make_team(db.sessionmaker, "General")
    admin = await _admin(db)
    created = await _create(client, admin, team)
    inbox_id = uuid.UUID(str(created["id"]))
    bad = await client.patch(
        f"{URL}/{inbox_id}", json={"is_active": False, "team_id": str(uuid.uuid4())}, headers=admin.headers
    )
    assert_error(bad, 422)
    async with db.sessionmaker() as session:
        found = await resolve_recipient(session, runtime.settings, "vip@kefu.test")
    assert found is not None
    assert found.mailbox.inbox_id == inbox_id


async def test_a_signed_in_admin_needs_the_csrf_header(
    browsers: BrowserFactory, clock: FrozenClock, db: Database
) -> None:
    team = await make_team(db.sessionmaker, "General")
    await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN)
    browser = await signed_in_admin(browsers, clock, "root@kefu.test")
    body = {"address": "vip@kefu.test", "name": "VIP", "team_id": str(team)}
    without = await browser.http.post(URL, json=body, headers={"origin": "http://kefu.test"})
    assert_error(without, 403)
    foreign = await browser.http.post(
        URL, json=body, headers=browser.unsafe_headers(origin="https://evil.example")
    )
    assert_error(foreign, 403)
    assert await count_rows(db, Inbox) == 0
    created = await browser.post(URL, body)
    assert created.status_code == 201, created.text
    listed = await browser.http.get(URL)
    assert [row["address"] for row in listed.json()] == ["vip@kefu.test"]
