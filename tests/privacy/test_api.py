"""Who may call the privacy routes (administrators only; refusals audited) and what bad input gets."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.privacy.models import PrivacyRequest
from kefu.runtime import Runtime
from tests.factories import make_agent, make_customer
from tests.web.api.v1.conftest import assert_error


def _routes(contact_id: uuid.UUID, request_id: uuid.UUID) -> list[tuple[str, str, object]]:
    return [
        ("POST", "/api/v1/privacy/exports", {"contact_id": str(contact_id)}),
        ("GET", f"/api/v1/privacy/exports/{request_id}", None),
        ("GET", f"/api/v1/privacy/exports/{request_id}/download", None),
        ("POST", "/api/v1/privacy/erasures", {"contact_id": str(contact_id), "reason": "r", "confirm": True}),
        ("GET", f"/api/v1/privacy/erasures/{request_id}", None),
        ("GET", f"/api/v1/privacy/requests?contact_id={contact_id}", None),
    ]


async def _count_requests(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(PrivacyRequest)) or 0)


async def test_only_administrators_may_call(client: httpx.AsyncClient, runtime: Runtime) -> None:
    customer = await make_customer(runtime.sessionmaker, runtime.settings, "alice@example.com")
    admin = await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    created = await client.post(
        "/api/v1/privacy/exports", json={"contact_id": str(customer.contact_id)}, headers=admin.headers
    )
    assert created.status_code == 202, created.text
    request_id = uuid.UUID(created.json()["id"])
    refused = {
        "agent": (await make_agent(runtime.sessionmaker, "agent@kefu.test")).headers,
        "supervisor": (
            await make_agent(runtime.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
        ).headers,
        "reviewer": (await make_agent(runtime.sessionmaker, "kyc@kefu.test", role=Role.KYC_REVIEWER)).headers,
        # An administrator's token without the admin scope is not enough.
        "admin without scope": (
            await make_agent(runtime.sessionmaker, "root@kefu.test", role=Role.ADMIN)
        ).headers,
        "customer": customer.headers,
    }
    for who, headers in refused.items():
        for method, path, body in _routes(customer.contact_id, request_id):
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (who, path)
            assert_error(response, 403, "permission_denied")
    for method, path, body in _routes(customer.contact_id, request_id):
        response = await client.request(method, path, json=body)
        assert_error(response, 401, "not_authenticated")
    assert await _count_requests(runtime) == 1
    async with runtime.sessionmaker() as session:
        denied = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access.denied")
        )
    assert denied == len(refused) * 6

    # The administrator: an export was created above; its status reads; an erasure is accepted.
    status = await client.get(f"/api/v1/privacy/exports/{request_id}", headers=admin.headers)
    assert status.status_code == 200
    assert status.json()["contact_id"] == str(customer.contact_id)
    assert status.json()["requested_by_agent_id"] == str(admin.id)
    erasure = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(customer.contact_id), "reason": "Art. 17", "confirm": True},
        headers=admin.headers,
    )
    assert erasure.status_code == 202, erasure.text
    listed = await client.get(
        f"/api/v1/privacy/requests?contact_id={customer.contact_id}", headers=admin.headers
    )
    assert listed.status_code == 200
    assert [r["kind"] for r in listed.json()] == ["erasure", "export"]
    only = await client.get("/api/v1/privacy/requests?kind=export", headers=admin.headers)
    assert [r["id"] for r in only.json()] == [str(request_id)]


async def test_missing_and_mismatched_requests_are_not_found(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_customer(runtime.sessionmaker, runtime.settings, "alice@example.com")
    admin = await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    export = await client.post(
        "/api/v1/privacy/exports", json={"contact_id": str(customer.contact_id)}, headers=admin.headers
    )
    export_id = export.json()["id"]
    for path in (
        f"/api/v1/privacy/exports/{uuid.uuid4()}",
        f"/api/v1/privacy/exports/{uuid.uuid4()}/download",
        f"/api/v1/privacy/erasures/{uuid.uuid4()}",
        f"/api/v1/privacy/erasures/{export_id}",  # an export is not an erasure
    ):
        assert_error(await client.get(path, headers=admin.headers), 404, "not_found")
    for path in ("/api/v1/privacy/exports", "/api/v1/privacy/erasures"):
        unknown = {"contact_id": str(uuid.uuid4()), "reason": "r", "confirm": True}
        if path.endswith("exports"):
            del unknown["confirm"]
        assert_error(await client.post(path, json=unknown, headers=admin.headers), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/privacy/exports", {}),
        ("/api/v1/privacy/exports", {"contact_id": "not-a-uuid"}),
        ("/api/v1/privacy/exports", {"contact_id": None}),
        ("/api/v1/privacy/exports", {"contact_id": "{cid}", "reason": "x" * 501}),
        ("/api/v1/privacy/exports", {"contact_id": "{cid}", "unexpected": 1}),
        ("/api/v1/privacy/exports", ["{cid}"]),
        ("/api/v1/privacy/erasures", {"contact_id": "{cid}", "reason": "r"}),
        ("/api/v1/privacy/erasures", {"contact_id": "{cid}", "reason": "r", "confirm": False}),
        ("/api/v1/privacy/erasures", {"contact_id": "{cid}", "reason": "r", "confirm": "yes"}),
        ("/api/v1/privacy/erasures", {"contact_id": "{cid}", "confirm": True}),
        ("/api/v1/privacy/erasures", {"contact_id": "{cid}", "reason": "", "confirm": True}),
        ("/api/v1/privacy/erasures", {"contact_id": "{cid}", "reason": "  ", "confirm": True}),
        ("/api/v1/privacy/erasures", {"contact_id": 12, "reason": "r", "confirm": True}),
    ],
)
async def test_invalid_bodies_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, path: str, body: object
) -> None:
    customer = await make_customer(runtime.sessionmaker, runtime.settings, "alice@example.com")
    admin = await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    if isinstance(body, dict):
        body = {k: (str(customer.contact_id) if v == "{cid}" else v) for k, v in body.items()}
    assert_error(await client.post(path, json=body, headers=admin.headers), 422, "invalid_input")
    assert await _count_requests(runtime) == 0


async def test_malformed_requests_are_4xx(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    headers = {**admin.headers, "content-type": "application/json"}
    for path in ("/api/v1/privacy/exports", "/api/v1/privacy/erasures"):
        broken = await client.post(path, content=b'{"contact_id": ', headers=headers)
        assert 400 <= broken.status_code < 500
        assert set(broken.json()) == {"error"}
        text = await client.post(
            path, content=b"contact_id=1", headers={**admin.headers, "content-type": "text/plain"}
        )
        assert 400 <= text.status_code < 500
    for path in (
        "/api/v1/privacy/exports/not-a-uuid",
        "/api/v1/privacy/exports/not-a-uuid/download",
        "/api/v1/privacy/erasures/%00",
        "/api/v1/privacy/requests?contact_id=nope",
        "/api/v1/privacy/requests?kind=everything",
        "/api/v1/privacy/requests?limit=0",
        "/api/v1/privacy/requests?limit=100000",
    ):
        response = await client.get(path, headers=admin.headers)
        assert 400 <= response.status_code < 500, path
        assert set(response.json()) == {"error"}
