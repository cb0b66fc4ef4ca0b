"""Macro variables and rendering (pure), then the macro API: visibility, rendering, usage counts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.automation.macros import render_macro, unknown_variables
from kefu.automation.models import Macro
from kefu.conversations.models import Conversation
from tests.conftest import Database
from tests.factories import make_agent, make_team, open_conversation


def render(bodies: dict[str, str], locale: str, actions: list[dict[str, Any]] | None = None) -> Any:
    conversation = Conversation(
        reference="KF-123456",
        subject="提现",
        form_fields={"tx_hash": "0xabc", "asset": "USDT"},
        locale=locale,
    )
    macro = Macro(name="m", bodies=bodies, actions=actions or [])
    return render_macro(
        macro,
        locale=locale,
        conversation=conversation,
        contact_name="王小明",
        contact_email="wang@example.com",
        agent_name="Li",
    )


def test_variables_are_filled_and_missing_form_fields_are_empty() -> None:
    body = "{{customer.name}} <{{ customer.email }}> {{conversation.reference}} {{conversation.subject}} "
    body += "{{agent.name}} {{form.tx_hash}} {{form.asset}} [{{form.memo}}]"
    rendered = render({"en": body}, "en", [{"type": "set_status", "value": "pending"}])
    assert rendered.text == "王小明 <wang@example.com> KF-123456 提现 Li 0xabc USDT []"
    assert rendered.actions == [{"type": "set_status", "value": "pending"}]


@pytest.mark.parametrize(
    ("bodies", "locale", "expected"),
    [
        ({"en": "hi", "zh-CN": "您好"}, "zh-CN", ("zh-CN", "您好")),
        ({"en": "hi", "zh-CN": "您好"}, "en", ("en", "hi")),
        ({"en": "hi"}, "zh-CN", ("en", "hi")),
        ({"zh-CN": "您好"}, "en", ("zh-CN", "您好")),
    ],
)
def test_locale_falls_back_to_english_then_any(
    bodies: dict[str, str], locale: str, expected: tuple[str, str]
) -> None:
    rendered = render(bodies, locale)
    assert (rendered.locale, rendered.text) == expected


def test_substituted_values_are_not_expanded_again() -> None:
    conversation = Conversation(reference="KF-1", subject="{{agent.name}}", form_fields={}, locale="en")
    macro = Macro(name="m", bodies={"en": "{{conversation.subject}}"}, actions=[])
    rendered = render_macro(
        macro, locale="en", conversation=conversation, contact_name="", contact_email="", agent_name="Li"
    )
    assert rendered.text == "{{agent.name}}"


@pytest.mark.parametrize(
    ("body", "unknown"),
    [
        ("Hello {{customer.name}}", []),
        ("{{form.order_id}} {{form.tx_hash}}", []),
        ("{{customer.password}}", ["customer.password"]),
        ("{{form.nope}}", ["form.nope"]),
        ("{{ __class__.__mro__ }}", ["__class__.__mro__"]),
        ("{{customer.name", ["{{"]),
        ("{% for x in y %}", []),
    ],
)
def test_unknown_variables(body: str, unknown: list[str]) -> None:
    assert unknown_variables(body) == unknown


async def test_macro_visibility_rendering_and_usage(api: httpx.AsyncClient, db: Database) -> None:
    private_team = await make_team(db.sessionmaker, "VIP", private=True)
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    wu = await make_agent(db.sessionmaker, "wu@kefu.test")

    shared = await api.post(
        "/api/v1/macros",
        json={
            "name": "Greeting",
            "bodies": {
                "en": "Hi {{customer.name}}, {{agent.name}} here about {{conversation.reference}}.",
                "zh-CN": "{{customer.name}}您好，我是{{agent.name}}。",
            },
            "actions": [{"type": "add_tags", "tags": ["greeted"]}],
            "shared": True,
        },
        headers=boss.headers,
    )
    assert shared.status_code == 201, shared.text
    mine = await api.post(
        "/api/v1/macros", json={"name": "Mine", "bodies": {"en": "x {{form.order_id}}"}}, headers=li.headers
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["owner_id"] == str(li.id)

    # Agents cannot create or edit shared macros.
    denied = await api.post(
        "/api/v1/macros", json={"name": "S", "bodies": {"en": "x"}, "shared": True}, headers=li.headers
    )
    assert denied.status_code == 403
    shared_url = f"/api/v1/macros/{shared.json()['id']}"
    edit = {"name": "Changed", "bodies": {"en": "y"}, "shared": True}
    assert (await api.put(shared_url, json=edit, headers=li.headers)).status_code == 403
    assert (await api.delete(shared_url, headers=li.headers)).status_code == 403
    # Nobody else sees a personal macro, not even a supervisor.
    mine_url = f"/api/v1/macros/{mine.json()['id']}"
    for other in (wu, boss):
        assert (await api.get(mine_url, headers=other.headers)).status_code == 404
        assert (
            await api.put(mine_url, json=edit | {"shared": False}, headers=other.headers)
        ).status_code == 404
        assert (await api.delete(mine_url, headers=other.headers)).status_code == 404
        names = [m["name"] for m in (await api.get("/api/v1/macros", headers=other.headers)).json()]
        assert names == ["Greeting"]
    names = [m["name"] for m in (await api.get("/api/v1/macros", headers=li.headers)).json()]
    assert names == ["Greeting", "Mine"]

    conversation = await open_conversation(
        api, li, locale="zh-CN", customer={"email": "wang@example.com", "name": "王小明"}
    )
    render_url = f"/api/v1/conversations/{conversation['id']}/macros/{shared.json()['id']}/render"
    rendered = await api.post(render_url, headers=li.headers)
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "text": "王小明您好，我是li。",
        "locale": "zh-CN",
        "actions": [{"type": "add_tags", "tags": ["greeted"]}],
    }
    await api.post(render_url, headers=wu.headers)
    listed = (await api.get(shared_url, headers=li.headers)).json()
    assert listed["usage_count"] == 2

    # Someone else's personal macro, or a conversation the agent cannot see: 404.
    other_macro = f"/api/v1/conversations/{conversation['id']}/macros/{mine.json()['id']}/render"
    assert (await api.post(other_macro, headers=wu.headers)).status_code == 404
    hidden = await open_conversation(api, boss, team_id=str(private_team))
    hidden_url = f"/api/v1/conversations/{hidden['id']}/macros/{shared.json()['id']}/render"
    assert (await api.post(hidden_url, headers=li.headers)).status_code == 404
    assert (await api.post(hidden_url, headers=boss.headers)).status_code == 200

    # The owner edits and deletes their own; a supervisor edits the shared one.
    assert (
        await api.put(mine_url, json={"name": "M2", "bodies": {"en": "z"}}, headers=li.headers)
    ).status_code == 200
    assert (await api.delete(mine_url, headers=li.headers)).status_code == 204
    assert (await api.get(mine_url, headers=li.headers)).status_code == 404
    assert (await api.put(shared_url, json=edit, headers=boss.headers)).json()["name"] == "Changed"


BAD_MACROS: list[Any] = [
    {"name": "x", "bodies": {"en": "{{customer.password}}"}},
    {"name": "x", "bodies": {"en": "{{form.nope}}"}},
    {"name": "x", "bodies": {}},
    {"name": "x", "bodies": {"fr": "bonjour"}},
    {"name": "x", "bodies": {"en": ""}},
    {"name": "", "bodies": {"en": "x"}},
    {"name": "x\x00", "bodies": {"en": "x"}},
    {"name": "x", "bodies": {"en": "a\x00b"}},
    {"name": "x", "bodies": {"en": "x" * 20_001}},
    {"name": "x", "bodies": {"en": "x"}, "actions": [{"type": "set_team", "team_id": "x"}]},
    {"name": "x", "bodies": {"en": "x"}, "actions": [{"type": "add_note", "body": "x"}]},
    {"name": "x", "bodies": {"en": "x"}, "owner_id": "00000000-0000-0000-0000-000000000000"},
    {"name": 5, "bodies": ["en"]},
    [],
]


async def test_bad_macros_are_refused(api: httpx.AsyncClient, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    for body in BAD_MACROS:
        response = await api.post("/api/v1/macros", json=body, headers=li.headers)
        assert response.status_code == 422, (body, response.text)
        assert set(response.json()) == {"error"}
    assert (await api.get("/api/v1/macros", headers=li.headers)).json() == []
