"""Teams over HTTP: supervisors and admins list them; only admins create, change, delete teams and
manage members; a team still used by conversations, inboxes or rules is not deleted; all audited."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team, TeamMember
from kefu.routing.models import TeamRouting
from kefu.schedules.models import Schedule
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_team, open_conversation
from tests.web.api.v1.conftest import BrowserFactory, assert_error, count_rows, signed_in_admin


async def _admin(db: Database) -> StaffMember:
    return await make_agent(
        db.sessionmaker,
        "root@kefu.test",
        role=Role.ADMIN,
        scopes={Scope.ADMIN, Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE},
    )


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


async def _audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.sessionmaker() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.occurred_at)
            )
        )


def _writes(team: uuid.UUID, agent: uuid.UUID) -> list[tuple[str, str, object]]:
    return [
        ("POST", "/api/v1/teams", {"name": "Sneaky"}),
        ("PATCH", f"/api/v1/teams/{team}", {"name": "Renamed"}),
        ("DELETE", f"/api/v1/teams/{team}", None),
        ("POST", f"/api/v1/teams/{team}/members", {"agent_id": str(agent)}),
        ("DELETE", f"/api/v1/teams/{team}/members/{agent}", None),
    ]


@pytest.mark.parametrize("role", [Role.AGENT, Role.KYC_REVIEWER, Role.SUPERVISOR])
async def test_only_admins_change_teams(client: httpx.AsyncClient, db: Database, role: Role) -> None:
    team = await make_team(db.sessionmaker, "Funds")
    member = await make_agent(db.sessionmaker, "member@kefu.test", teams=(team,))
    caller = await make_agent(db.sessionmaker, "caller@kefu.test", role=role)
    teams, members = await count_rows(db, Team), await count_rows(db, TeamMember)
    for method, url, body in _writes(team, member.id):
        assert_error(await client.request(method, url, json=body, headers=caller.headers), 403)
    listed = await client.get("/api/v1/teams", headers=caller.headers)
    read = await client.get(f"/api/v1/teams/{team}", headers=caller.headers)
    if role == Role.SUPERVISOR:
        assert [t["name"] for t in _ok(listed)] == ["Funds"]
        assert _ok(read)["member_ids"] == [str(member.id)]
    else:
        assert_error(listed, 403)
        assert_error(read, 403)
    assert (await count_rows(db, Team), await count_rows(db, TeamMember)) == (teams, members)
    async with db.sessionmaker() as session:
        assert (await session.get(Team, team)).name == "Funds"  # type: ignore[union-attr]


async def test_signed_out_callers_get_401(client: httpx.AsyncClient, db: Database) -> None:
    team, agent = uuid.uuid4(), uuid.uuid4()
    for method, url, body in [*_writes(team, agent), ("GET", "/api/v1/teams", None)]:
        assert_error(await client.request(method, url, json=body), 401, "not_authenticated")


async def test_a_supervisor_session_reads_but_cannot_write(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    team = await make_team(db.sessionmaker, "Funds", private=True)
    await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    browser = await browsers()
    assert (await browser.login("boss@kefu.test")).json()["state"] == "active"
    assert [t["id"] for t in _ok(await browser.http.get("/api/v1/teams"))] == [str(team)]
    refused = await browser.http.patch(
        f"/api/v1/teams/{team}", json={"name": "Mine"}, headers=browser.unsafe_headers()
    )
    assert_error(refused, 403)


async def test_admins_manage_teams_and_members_through_a_session(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await _admin(db)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await signed_in_admin(browsers, clock, "root@kefu.test")
    headers = browser.unsafe_headers()
    http = browser.http

    created = _ok(await http.post("/api/v1/teams", json={"name": "  VIP Desk "}, headers=headers), 201)
    assert (created["name"], created["slug"], created["is_private"]) == ("VIP Desk", "vip-desk", False)
    assert created["member_ids"] == []
    team = created["id"]
    chinese = _ok(
        await http.post("/api/v1/teams", json={"name": "资金组", "is_private": True}, headers=headers), 201
    )
    assert chinese["slug"].startswith("team-")
    assert chinese["is_private"] is True

    assert_error(
        await http.post("/api/v1/teams", json={"name": "vip desk"}, headers=headers), 409, "conflict"
    )
    taken = await http.post("/api/v1/teams", json={"name": "Other", "slug": "vip-desk"}, headers=headers)
    assert assert_error(taken, 409)["fields"] == {"slug": "taken"}

    renamed = _ok(
        await http.patch(f"/api/v1/teams/{team}", json={"name": "VIP", "is_private": True}, headers=headers)
    )
    assert (renamed["name"], renamed["slug"], renamed["is_private"]) == ("VIP", "vip-desk", True)
    reslugged = _ok(await http.patch(f"/api/v1/teams/{team}", json={"slug": "vip"}, headers=headers))
    assert reslugged["slug"] == "vip"
    assert_error(
        await http.patch(f"/api/v1/teams/{team}", json={"name": "资金组"}, headers=headers), 409, "conflict"
    )

    added = _ok(
        await http.post(f"/api/v1/teams/{team}/members", json={"agent_id": str(li.id)}, headers=headers)
    )
    assert added["member_ids"] == [str(li.id)]
    again = _ok(
        await http.post(f"/api/v1/teams/{team}/members", json={"agent_id": str(li.id)}, headers=headers)
    )
    assert again["member_ids"] == [str(li.id)]
    unknown = await http.post(
        f"/api/v1/teams/{team}/members", json={"agent_id": str(uuid.uuid4())}, headers=headers
    )
    assert assert_error(unknown, 422)["fields"] == {"agent_id": "unknown agent"}
    # The membership is effective at once: the private team is visible to its new member.
    assert _ok(await http.get(f"/api/v1/teams/{team}"))["member_ids"] == [str(li.id)]
    routing = await http.get(f"/api/v1/teams/{team}/routing", headers={"authorization": f"Bearer {li.token}"})
    assert routing.status_code == 200, routing.text

    _ok(await http.delete(f"/api/v1/teams/{team}/members/{li.id}", headers=headers), 204)
    assert_error(await http.delete(f"/api/v1/teams/{team}/members/{li.id}", headers=headers), 404)
    hidden = await http.get(f"/api/v1/teams/{team}/routing", headers={"authorization": f"Bearer {li.token}"})
    assert_error(hidden, 404)

    _ok(await http.delete(f"/api/v1/teams/{team}", headers=headers), 204)
    assert_error(await http.delete(f"/api/v1/teams/{team}", headers=headers), 404)
    assert [t["name"] for t in _ok(await http.get("/api/v1/teams"))] == ["资金组"]

    actions = [e.action for e in await _audit(db, "team.created") + await _audit(db, "team.updated")]
    assert actions == ["team.created", "team.created", "team.updated", "team.updated"]
    (added_event,) = await _audit(db, "team.member_added")
    assert added_event.details == {"agent_id": str(li.id)}
    assert len(await _audit(db, "team.member_removed")) == 1
    (deleted,) = await _audit(db, "team.deleted")
    assert deleted.target_id == team
    assert deleted.details == {"name": "VIP", "slug": "vip", "member_count": 0, "had_schedule": False}


async def test_a_team_in_use_is_not_deleted(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    funds = await make_team(db.sessionmaker, "Funds")
    await open_conversation(client, admin, subject="Deposit", team_id=str(funds))
    refused = assert_error(await client.delete(f"/api/v1/teams/{funds}", headers=admin.headers), 409)
    assert refused["fields"] == {"conversations": "1"}
    assert "rename" in refused["message"]

    mailbox = await make_team(db.sessionmaker, "Mail")
    async with transaction(db.sessionmaker) as session:
        session.add(
            Inbox(name="Support", channel=ChannelKind.EMAIL, address="help@kefu.test", team_id=mailbox)
        )
    refused = assert_error(await client.delete(f"/api/v1/teams/{mailbox}", headers=admin.headers), 409)
    assert refused["fields"] == {"inboxes": "1"}

    ruled = await make_team(db.sessionmaker, "Ruled")
    trigger = await client.post(
        "/api/v1/triggers",
        json={
            "name": "To the ruled team",
            "on": "created",
            "conditions": [{"type": "subject_contains", "value": "x"}],
            "actions": [{"type": "set_team", "team_id": str(ruled)}],
        },
        headers=admin.headers,
    )
    assert trigger.status_code == 201, trigger.text
    refused = assert_error(await client.delete(f"/api/v1/teams/{ruled}", headers=admin.headers), 409)
    assert refused["fields"] == {"rules": "1"}
    assert "To the ruled team" in refused["message"]
    assert await count_rows(db, Team) == 3
    assert await _audit(db, "team.deleted") == []


async def test_deleting_an_unused_team_takes_members_routing_and_hours_with_it(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await _admin(db)
    gone = await make_team(db.sessionmaker, "Gone")
    await make_agent(db.sessionmaker, "li@kefu.test", teams=(gone,))
    routed = await client.put(
        f"/api/v1/teams/{gone}/routing", json={"mode": "round_robin", "language_match": "prefer"},
        headers=admin.headers,
    )  # fmt: skip
    assert routed.status_code == 200, routed.text
    hours = await client.post(
        "/api/v1/schedules",
        json={"name": "Gone hours", "timezone": "UTC", "weekly_hours": {"mon": [["09:00", "17:00"]]},
              "team_id": str(gone)},
        headers=admin.headers,
    )  # fmt: skip
    assert hours.status_code == 201, hours.text
    _ok(await client.delete(f"/api/v1/teams/{gone}", headers=admin.headers), 204)
    assert await count_rows(db, TeamMember) == 0
    assert await count_rows(db, TeamRouting) == 0
    assert await count_rows(db, Schedule) == 0
    (deleted,) = await _audit(db, "team.deleted")
    assert deleted.details["member_count"] == 1
    assert deleted.details["had_schedule"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "tab\there"},
        {"name": "line\nbreak"},
        {"name": 5},
        {"name": "Fine", "slug": "Not A Slug"},
        {"name": "Fine", "slug": "-dash"},
        {"name": "Fine", "slug": "x" * 61},
        {"name": "Fine", "is_private": "maybe"},
        {"name": "Fine", "extra": 1},
        [],
        "name",
    ],
)
async def test_malformed_team_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient, db: Database, body: object
) -> None:
    admin = await _admin(db)
    team = await make_team(db.sessionmaker, "Funds")
    teams = await count_rows(db, Team)
    assert_error(await client.post("/api/v1/teams", json=body, headers=admin.headers), 422)
    if isinstance(body, dict) and body:
        assert_error(await client.patch(f"/api/v1/teams/{team}", json=body, headers=admin.headers), 422)
    assert await count_rows(db, Team) == teams
    async with db.sessionmaker() as session:
        assert (await session.get(Team, team)).name == "Funds"  # type: ignore[union-attr]


async def test_malformed_ids_and_raw_bodies_are_4xx(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    team = await make_team(db.sessionmaker, "Funds")
    for method, url in [
        ("GET", "/api/v1/teams/not-a-uuid"),
        ("PATCH", "/api/v1/teams/1"),
        ("DELETE", "/api/v1/teams/%00"),
        ("DELETE", f"/api/v1/teams/{team}/members/nope"),
    ]:
        response = await client.request(method, url, json={"name": "x"}, headers=admin.headers)
        assert response.status_code in (400, 422), (method, url, response.text)
    assert_error(await client.get(f"/api/v1/teams/{uuid.uuid4()}", headers=admin.headers), 404)
    assert_error(
        await client.patch(f"/api/v1/teams/{uuid.uuid4()}", json={"name": "x"}, headers=admin.headers), 404
    )
    for raw in (b"{not json", b"\xff\xfe", b"[" * 10_000):
        response = await client.post(
            "/api/v1/teams", content=raw, headers=admin.headers | {"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, response.text
    bad_member = await client.post(
        f"/api/v1/teams/{team}/members", json={"agent_id": "someone"}, headers=admin.headers
    )
    assert_error(bad_member, 422)
    assert await count_rows(db, TeamMember) == 0
