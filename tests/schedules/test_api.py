"""The schedules API: agents read, supervisors write, bad input is a 422, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from kefu.auth.roles import Role
from kefu.db.uow import transaction
from kefu.schedules.service import get_calendar_for_team
from tests.conftest import Database
from tests.factories import make_agent, make_team

OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def schedule(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {"name": "Shanghai", "timezone": "Asia/Shanghai", "weekly_hours": OFFICE}
    body.update(fields)
    return body


async def test_supervisor_manages_schedules_and_agents_only_read(
    api: httpx.AsyncClient, db: Database
) -> None:
    team = await make_team(db.sessionmaker, "Wallets")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    agent = await make_agent(db.sessionmaker, "li@kefu.test")

    assert (await api.post("/api/v1/schedules", json=schedule(), headers=agent.headers)).status_code == 403
    created = await api.post(
        "/api/v1/schedules", json=schedule(team_id=str(team), holiday_country="CN"), headers=boss.headers
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["weekly_hours"]["sat"] == []
    default = await api.post(
        "/api/v1/schedules",
        json=schedule(name="Default", timezone="UTC", is_default=True),
        headers=boss.headers,
    )
    assert default.status_code == 201, default.text
    # One schedule per team and a single default.
    again = await api.post("/api/v1/schedules", json=schedule(team_id=str(team)), headers=boss.headers)
    assert again.status_code == 409
    second_default = await api.post("/api/v1/schedules", json=schedule(is_default=True), headers=boss.headers)
    assert second_default.status_code == 409

    listed = await api.get("/api/v1/schedules", headers=agent.headers)
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()] == ["Default", "Shanghai"]
    assert (await api.get(f"/api/v1/schedules/{sid}", headers=agent.headers)).status_code == 200

    for method, url, body in (
        ("PUT", f"/api/v1/schedules/{sid}", schedule()),
        ("DELETE", f"/api/v1/schedules/{sid}", None),
        ("POST", f"/api/v1/schedules/{sid}/exceptions", {"date": "2025-03-11", "kind": "closed"}),
    ):
        denied = await api.request(method, url, json=body, headers=agent.headers)
        assert denied.status_code == 403, (method, url)

    exception = await api.post(
        f"/api/v1/schedules/{sid}/exceptions",
        json={"date": "2025-03-11", "kind": "closed", "name": "Company day"},
        headers=boss.headers,
    )
    assert exception.status_code == 201, exception.text
    dup = await api.post(
        f"/api/v1/schedules/{sid}/exceptions",
        json={"date": "2025-03-11", "kind": "closed"},
        headers=boss.headers,
    )
    assert dup.status_code == 409
    working = await api.post(
        f"/api/v1/schedules/{sid}/exceptions",
        json={"date": "2025-03-15", "kind": "working", "intervals": [["10:00", "12:00"]]},
        headers=boss.headers,
    )
    assert working.status_code == 201, working.text
    listed_ex = await api.get(f"/api/v1/schedules/{sid}/exceptions", headers=agent.headers)
    assert [e["date"] for e in listed_ex.json()] == ["2025-03-11", "2025-03-15"]

    async with transaction(db.sessionmaker) as session:
        cal = await get_calendar_for_team(session, team)
    assert not cal.is_open(datetime(2025, 3, 11, 3, tzinfo=UTC))
    assert cal.is_open(datetime(2025, 3, 15, 3, tzinfo=UTC))
    assert not cal.is_open(datetime(2025, 3, 15, 5, tzinfo=UTC))

    # Deleting the exception is seen by the next calendar (the cache follows the version).
    deleted = await api.delete(
        f"/api/v1/schedules/{sid}/exceptions/{exception.json()['id']}", headers=boss.headers
    )
    assert deleted.status_code == 204
    async with transaction(db.sessionmaker) as session:
        cal = await get_calendar_for_team(session, team)
    assert cal.is_open(datetime(2025, 3, 11, 3, tzinfo=UTC))

    updated = await api.put(
        f"/api/v1/schedules/{sid}", json=schedule(name="Shanghai 2", team_id=str(team)), headers=boss.headers
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["holiday_country"] is None
    assert (await api.delete(f"/api/v1/schedules/{sid}", headers=boss.headers)).status_code == 204
    assert (await api.get(f"/api/v1/schedules/{sid}", headers=agent.headers)).status_code == 404
    # The team now falls back to the UTC default, open nowhere at weekends.
    async with transaction(db.sessionmaker) as session:
        cal = await get_calendar_for_team(session, team)
    assert cal.zone.key == "UTC"


async def test_without_any_schedule_a_team_is_always_open(db: Database) -> None:
    team = await make_team(db.sessionmaker, "Night")
    async with transaction(db.sessionmaker) as session:
        cal = await get_calendar_for_team(session, team)
    start = datetime(2025, 3, 8, 23, tzinfo=UTC)
    assert cal.add_business_time(start, timedelta(hours=30)) == start + timedelta(hours=30)


BAD_SCHEDULES = [
    schedule(timezone="Mars/Olympus"),
    schedule(timezone="../../etc/passwd"),
    schedule(timezone=""),
    schedule(weekly_hours={"mon": [["09:00", "25:00"]]}),
    schedule(weekly_hours={"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}),
    schedule(weekly_hours={"mon": [["12:00", "09:00"]]}),
    schedule(weekly_hours={"mon": [["09:00", "09:01"]] * 500}),
    schedule(weekly_hours={"holiday": []}),
    schedule(weekly_hours={"mon": [[9, 18]]}),
    schedule(weekly_hours="always"),
    schedule(weekly_hours={}),
    schedule(holiday_country="XX"),
    schedule(holiday_country="US", holiday_subdivision="ZZ"),
    schedule(holiday_subdivision="NY"),
    schedule(is_default=True, team_id="0190c2a4-0000-7000-8000-000000000000"),
    schedule(name=""),
    schedule(name="x" * 101),
    schedule(name="nul\x00"),
    schedule(unknown=1),
    schedule(team_id="0190c2a4-0000-7000-8000-000000000000"),
]


async def test_bad_schedules_are_422(api: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    sid = (await api.post("/api/v1/schedules", json=schedule(), headers=boss.headers)).json()["id"]
    for body in BAD_SCHEDULES:
        for method, url in (("POST", "/api/v1/schedules"), ("PUT", f"/api/v1/schedules/{sid}")):
            response = await api.request(method, url, json=body, headers=boss.headers)
            assert response.status_code == 422, (body, response.text)
            assert set(response.json()) == {"error"}


async def test_bad_exceptions_are_422(api: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    sid = (await api.post("/api/v1/schedules", json=schedule(), headers=boss.headers)).json()["id"]
    for body in (
        {"date": "2025-02-30", "kind": "closed"},
        {"date": "1900-01-01", "kind": "closed"},
        {"date": "2025-03-01", "kind": "vacation"},
        {"date": "2025-03-01", "kind": "closed", "intervals": [["09:00", "10:00"]]},
        {"date": "2025-03-01", "kind": "working", "intervals": [["09:00", "24:01"]]},
        {"date": "2025-03-01", "kind": "working", "intervals": [["09:00", "10:00"]] * 13},
        {"date": "2025-03-01", "kind": "closed", "extra": True},
    ):
        response = await api.post(f"/api/v1/schedules/{sid}/exceptions", json=body, headers=boss.headers)
        assert response.status_code == 422, (body, response.text)
    missing = "/api/v1/schedules/0190c2a4-0000-7000-8000-000000000000/exceptions"
    assert (await api.get(missing, headers=boss.headers)).status_code == 404
    assert (await api.get("/api/v1/schedules/not-a-uuid", headers=boss.headers)).status_code == 422
