"""Refused calls to admin routes leave an audit trail with actor and target."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role
from tests.conftest import Database
from tests.factories import make_agent


async def test_refused_admin_calls_are_audited(client: httpx.AsyncClient, db: Database) -> None:
    supervisor = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    for method, path in (
        ("GET", "/api/v1/admin/jobs"),
        ("GET", "/api/v1/admin/audit"),
        ("POST", "/api/v1/customers/tokens"),
    ):
        response = await client.request(
            method, path, headers=supervisor.headers, json={"email": "a@example.com"}
        )
        assert response.status_code == 403, path
    async with db.sessionmaker() as session:
        rows = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")))
    assert {r.target_id for r in rows} == {
        "GET /api/v1/admin/jobs",
        "GET /api/v1/admin/audit",
        "POST /api/v1/customers/tokens",
    }
    assert all(r.actor_id == supervisor.id and r.target_type == "route" for r in rows)
