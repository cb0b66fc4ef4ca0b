"""Shared steps of the SLA tests: policies, schedules and conversation moves over the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from kefu.db.uow import transaction
from kefu.sla.models import ConversationSla
from tests.conftest import Database
from tests.factories import Customer, StaffMember

OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def cst(month: int, day: int, hour: int, minute: int = 0, year: int = 2025) -> datetime:
    """A Shanghai wall-clock time, in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


async def add_policy(api: httpx.AsyncClient, boss: StaffMember, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Standard"} | fields
    response = await api.post("/api/v1/sla-policies", json=body, headers=boss.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def add_schedule(api: httpx.AsyncClient, boss: StaffMember, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Shanghai",
        "timezone": "Asia/Shanghai",
        "weekly_hours": OFFICE,
        "holiday_country": "CN",
        "is_default": True,
    } | fields
    response = await api.post("/api/v1/schedules", json=body, headers=boss.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def say(
    api: httpx.AsyncClient, who: StaffMember | Customer, conversation_id: str, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"body": "hello"} | fields
    response = await api.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=who.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def patch(api: httpx.AsyncClient, who: StaffMember, conversation_id: str, **fields: Any) -> None:
    response = await api.patch(f"/api/v1/conversations/{conversation_id}", json=fields, headers=who.headers)
    assert response.status_code == 200, response.text


async def card(api: httpx.AsyncClient, who: StaffMember, conversation_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/conversations/{conversation_id}/sla", headers=who.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def sla_row(db: Database, conversation_id: str) -> ConversationSla:
    import uuid

    async with transaction(db.sessionmaker) as session:
        row = await session.get(ConversationSla, uuid.UUID(conversation_id))
        assert row is not None
        return row


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
