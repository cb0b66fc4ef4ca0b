"""The request-forms API: who may manage added fields, how they reach requests, deflection events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.db.uow import transaction
from kefu.kb.demo import load_demo_kb
from kefu.runtime import Runtime
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import make_agent, make_customer
from tests.request_forms.conftest import demo_exchange  # noqa: F401 - fixture

FIELDS = "/api/v1/request-forms/fields"
DEFLECTION = "/api/v1/request-forms/deflection"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
SESSION = "hc-" + "0123456789abcdef" * 2


def new_field(**extra: Any) -> dict[str, Any]:
    return {"category": "trading", "name": "account_type", "kind": "text", "label_en": "Account"} | extra


async def test_only_supervisors_and_admins_manage_fields(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    root = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN)
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    reader = await make_agent(
        db.sessionmaker, "ro@kefu.test", role=Role.SUPERVISOR, scopes={Scope.CONVERSATIONS_READ}
    )
    customer = await make_customer(db.sessionmaker, settings, "c@example.com")
    created = await client.post(FIELDS, json=new_field(), headers=boss.headers)
    assert created.status_code == 201, created.text
    field_id = created.json()["id"]
    calls = [
        ("GET", FIELDS, None),
        ("POST", FIELDS, new_field(name="other")),
        ("PATCH", f"{FIELDS}/{field_id}", {"label_en": "Changed"}),
        ("GET", DEFLECTION, None),
        ("DELETE", f"{FIELDS}/{field_id}", None),
    ]
    for who, expected in ((None, 401), (customer.headers, 403), (agent.headers, 403), (reader.headers, 403)):
        for method, url, body in calls:
            response = await client.request(method, url, json=body, headers=who or {})
            assert response.status_code == expected, (method, url, who, response.text)
    for n, staff in enumerate((root, boss)):
        for method, url, body in calls[:4]:
            if method == "POST":
                body = new_field(name=f"other_{n}")
            response = await client.request(method, url, json=body, headers=staff.headers)
            assert response.status_code in (200, 201), (method, url, response.text)
    deleted = await client.delete(f"{FIELDS}/{field_id}", headers=boss.headers)
    assert deleted.status_code == 204
    assert (await client.delete(f"{FIELDS}/{field_id}", headers=boss.headers)).status_code == 404
    async with db.sessionmaker() as session:
        actions = set(
            await session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("request_forms.%")))
        )
    assert actions == {
        "request_forms.field_created",
        "request_forms.field_updated",
        "request_forms.field_deleted",
    }


async def test_fields_round_trip_and_refusals(client: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    body = new_field(
        kind="select",
        label_en=HOSTILE,
        label_zh="账户类型",
        help_en="Which account",
        required=True,
        position=3,
        choices=[
            {"value": "spot", "label_en": "Spot", "label_zh": "现货"},
            {"value": "futures", "label_en": HOSTILE},
        ],
    )
    created = await client.post(FIELDS, json=body, headers=boss.headers)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["label_en"] == HOSTILE  # stored as written; pages escape it
    assert out["choices"][0] == {"value": "spot", "label_en": "Spot", "label_zh": "现货"}
    assert out["active"] is True
    listed = (await client.get(FIELDS, params={"category": "trading"}, headers=boss.headers)).json()
    assert [f["name"] for f in listed["items"]] == ["account_type"]
    assert (await client.get(FIELDS, params={"category": "kyc"}, headers=boss.headers)).json()["items"] == []
    patched = await client.patch(
        f"{FIELDS}/{out['id']}", json={"active": False, "position": 1}, headers=boss.headers
    )
    assert patched.status_code == 200
    assert (patched.json()["active"], patched.json()["position"], patched.json()["label_zh"]) == (
        False,
        1,
        "账户类型",
    )

    select_a_b = new_field(name="ok_name", kind="select", choices=[{"value": "a b", "label_en": "A"}])
    too_many = [{"value": f"v{i}", "label_en": "V"} for i in range(51)]
    refusals: list[tuple[str, str, Any, int]] = [
        ("POST", FIELDS, new_field(), 409),  # taken in this category
        ("POST", FIELDS, new_field(name="pair"), 422),  # a built-in field of trading
        ("POST", FIELDS, new_field(name="Pair"), 422),
        ("POST", FIELDS, new_field(name="a"), 422),
        ("POST", FIELDS, new_field(name="x" * 41), 422),
        ("POST", FIELDS, new_field(name="no-dash"), 422),
        ("POST", FIELDS, new_field(name="ok_name", kind="file"), 422),
        ("POST", FIELDS, new_field(name="ok_name", category="nope"), 422),
        ("POST", FIELDS, new_field(name="ok_name", label_en="x" * 101), 422),
        ("POST", FIELDS, new_field(name="ok_name", label_en="two\nlines"), 422),
        ("POST", FIELDS, new_field(name="ok_name", help_en="h" * 301), 422),
        ("POST", FIELDS, new_field(name="ok_name", max_length=0), 422),
        ("POST", FIELDS, new_field(name="ok_name", max_length=10**9), 422),
        ("POST", FIELDS, select_a_b, 422),
        ("POST", FIELDS, new_field(name="ok_name", kind="select", choices=[{"value": "a"}]), 422),
        ("POST", FIELDS, new_field(name="ok_name", kind="select", choices=too_many), 422),
        ("POST", FIELDS, new_field(name="ok_name", position=-1), 422),
        ("POST", FIELDS, new_field(name="ok_name", extra="x"), 422),
        ("POST", FIELDS, [new_field(name="ok_name")], 422),
        ("PATCH", f"{FIELDS}/{out['id']}", {"name": "renamed"}, 422),
        ("PATCH", f"{FIELDS}/{out['id']}", {"kind": "text"}, 422),
        ("PATCH", f"{FIELDS}/{out['id']}", {"choices": []}, 422),
        ("PATCH", f"{FIELDS}/{out['id']}", {"max_length": 10}, 422),
        ("PATCH", f"{FIELDS}/{uuid.uuid4()}", {"active": True}, 404),
        ("PATCH", f"{FIELDS}/not-a-uuid", {"active": True}, 422),
        ("DELETE", f"{FIELDS}/not-a-uuid", None, 422),
        ("GET", FIELDS + "?category=<b>", None, 422),
        ("GET", DEFLECTION + "?days=0", None, 422),
        ("GET", DEFLECTION + "?days=99999999999999999999", None, 422),
    ]  # fmt: skip
    for method, url, payload, status in refusals:
        response = await client.request(method, url, json=payload, headers=boss.headers)
        assert response.status_code == status, (method, url, payload, response.text[:300])
        assert response.json()["error"]["code"]
    clash = await client.post(FIELDS, json=new_field(name="order_id"), headers=boss.headers)
    assert clash.json()["error"]["fields"] == {"name": "clashes with a built-in field of this category"}
    for raw, content_type, status in (
        (b"{not json", "application/json", 400),
        (b'{"category": "trading"}', "text/plain", 415),
        (b'{"label_en": "' + b"A" * (2 * 1024 * 1024) + b'"}', "application/json", 422),
    ):
        response = await client.post(
            FIELDS, content=raw, headers=boss.headers | {"content-type": content_type}
        )
        assert response.status_code in (status, 413), (raw[:30], response.status_code)


async def test_added_fields_reach_requests_and_stored_values_survive_deactivation(
    client: httpx.AsyncClient,
    db: Database,
    demo_exchange: Any,  # noqa: F811
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    field = await client.post(
        FIELDS,
        json=new_field(
            kind="select", label_zh="账户", required=True,
            choices=[{"value": "spot", "label_en": "Spot"}, {"value": "futures", "label_en": "Futures"}],
        ),
        headers=boss.headers,
    )  # fmt: skip
    assert field.status_code == 201
    request = {
        "customer": {"email": "trader@example.com"},
        "category": "trading",
        "body": "my order",
        "form_fields": {"pair": "doge/usdt", "account_type": "margin"},
        "locale": "zh-CN",
    }
    refused = await client.post("/api/v1/conversations", json=request)
    assert refused.status_code == 422
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {"form_fields.pair", "form_fields.account_type"}
    english = await client.post("/api/v1/conversations", json=request | {"locale": "en"})
    assert english.json()["error"]["fields"] == {
        "form_fields.pair": "This is not a pair traded on this exchange. Check it, for example BTC/USDT.",
        "form_fields.account_type": "Choose one of the options.",
    }
    request["form_fields"] = {"pair": "btc-usdt", "account_type": "futures", "steps_taken": "Retried twice."}
    created = await client.post("/api/v1/conversations", json=request)
    assert created.status_code == 201, created.text
    reference = created.json()["reference"]
    await client.patch(f"{FIELDS}/{field.json()['id']}", json={"active": False}, headers=boss.headers)
    shown = await client.get(f"/api/v1/conversations/{reference}", headers=boss.headers)
    assert shown.json()["form_fields"] == {
        "pair": "BTC/USDT",
        "account_type": "futures",
        "steps_taken": "Retried twice.",
    }
    request["form_fields"] = {"account_type": "futures"}
    gone = await client.post("/api/v1/conversations", json=request | {"locale": "en"})
    assert gone.json()["error"]["fields"] == {
        "form_fields.account_type": "This field is not part of this form."
    }


async def test_callback_requests(client: httpx.AsyncClient) -> None:
    request = {
        "customer": {"email": "caller@example.com"},
        "category": "callback",
        "body": "Please call me about my withdrawal.",
        "form_fields": {"phone_region": "CN", "phone": "138 0013 8000", "window_from": "10:00",
                        "window_to": "12:00", "time_zone": "Asia/Shanghai", "language": "zh-CN"},
        "locale": "zh-CN",
    }  # fmt: skip
    created = await client.post("/api/v1/conversations", json=request)
    assert created.status_code == 201, created.text
    assert created.json()["category"] == "callback"
    assert created.json()["form_fields"]["phone"] == "+8613800138000"
    request["form_fields"] = {"phone": "12345", "window_from": "12:00", "window_to": "10:00"}
    refused = await client.post("/api/v1/conversations", json=request | {"locale": "en"})
    assert set(refused.json()["error"]["fields"]) == {
        "form_fields.phone", "form_fields.window_to", "form_fields.time_zone",
    }  # fmt: skip


# --- deflection events ------------------------------------------------------------------------------


@pytest.fixture
async def kb(runtime: Runtime) -> Runtime:
    async with transaction(runtime.sessionmaker) as session:
        await load_demo_kb(session)
    return runtime


def event(kind: str, article: str | None = "account-locked", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"session": SESSION, "kind": kind, "locale": "en"}
    if article is not None:
        body["article"] = article
    return body | extra


async def test_deflection_events_from_anyone(client: httpx.AsyncClient, kb: Runtime, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    assert (await client.post(DEFLECTION, json=event("opened"))).status_code == 409
    for body in (
        event("suggested"),
        event("suggested"),
        event("suggested", "no-such-article"),
        event("opened"),
    ):
        response = await client.post(DEFLECTION, json=body)
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert "set-cookie" not in response.headers
    # A signed-in agent's cookie does not turn this into a CSRF-checked route: it reads no actor.
    assert (
        await client.post(DEFLECTION, json=event("submitted", None), headers=boss.headers)
    ).status_code == 204
    report = await client.get(DEFLECTION, headers=boss.headers)
    assert report.status_code == 200
    data = report.json()
    assert (data["days"], data["sessions_with_opened_article"], data["submitted_after_opening"]) == (30, 1, 1)
    assert data["articles"][0]["slug"] == "account-locked"
    assert data["articles"][0]["suggested"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        event("suggested", session="short"),
        event("suggested", session="hc-" + "a" * 70),
        event("suggested", session="hc-../../etc/passwd-000000"),
        event("suggested", None),
        event("submitted"),
        event("clicked"),
        event("suggested", locale="fr"),
        event("suggested", locale="x" * 11),
        event("suggested", article="<script>alert(1)</script>"),
        event("suggested", article="a" * 101),
        event("suggested", article="Account-Locked"),
        event("suggested", extra=1),
        event("suggested", session=None),
        event("suggested", session=["hc-" + "a" * 20]),
        event("suggested") | {"article": {"$ne": 1}},
        [event("suggested")],
        "suggested",
        7,
    ],
)
async def test_junk_deflection_events_are_refused(client: httpx.AsyncClient, kb: Runtime, body: Any) -> None:
    response = await client.post(DEFLECTION, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


async def test_malformed_deflection_bodies(client: httpx.AsyncClient, kb: Runtime) -> None:
    for raw, content_type, allowed in (
        (b"{", "application/json", (400,)),
        (b'{"session": "x"}', "text/plain", (415,)),
        (b"\xff\xfe\x00", "application/json", (400, 422)),
        (b'{"session": "' + b"a" * (3 * 1024 * 1024) + b'"}', "application/json", (413, 422)),
    ):
        response = await client.post(DEFLECTION, content=raw, headers={"content-type": content_type})
        assert response.status_code in allowed, (raw[:20], response.status_code)
