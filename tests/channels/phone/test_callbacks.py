"""The help-center call-back form (both locales, CSRF, numbers and windows checked against the line's
hours, the announcing email) and the agents' queue and outcome API (who may see and log what)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kefu.auth.roles import Scope
from kefu.channels.phone.models import CallbackRequest, CallbackSource, CallbackStatus
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import Category, MessageKind
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Team
from kefu.jobs.models import OutboxJob
from kefu.mail.outbox import MAIL_SEND
from kefu.mail.render import render
from kefu.mail.specs import get_spec
from kefu.runtime import Runtime
from tests.channels.phone.conftest import LINE, Line
from tests.factories import make_agent, make_team

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GOOD = {
    "email": "wang@example.com",
    "name": "Wang Wei",
    "phone": "+86 138 0013 8000",
    "topic": "deposit",
    "date": "2025-03-12",  # Wednesday
    "window_from": "10:00",
    "window_to": "11:00",
    "time_zone": "Asia/Shanghai",
    "note": "USDT deposit missing since Monday",
}


async def form_token(client: httpx.AsyncClient, locale: str = "en") -> str:
    page = await client.get(f"/hc/{locale}/callback")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    match = CSRF.search(page.text)
    assert match is not None
    return match.group(1)


async def submit(client: httpx.AsyncClient, fields: dict[str, str], locale: str = "en") -> httpx.Response:
    token = await form_token(client, locale)
    return await client.post(
        f"/hc/{locale}/callback", data=fields | {"csrf_token": token}, headers={"origin": "http://kefu.test"}
    )


async def stored(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.sessionmaker() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Conversation)) or 0),
            int(await session.scalar(select(func.count()).select_from(CallbackRequest)) or 0),
            int(
                await session.scalar(
                    select(func.count()).select_from(OutboxJob).where(OutboxJob.name == MAIL_SEND)
                )
                or 0
            ),
        )


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_the_form_shows_the_lines_hours_in_both_locales(
    phone_client: httpx.AsyncClient, line: Line, clock: FrozenClock, locale: str
) -> None:
    page = await phone_client.get(f"/hc/{locale}/callback")
    assert page.status_code == 200
    assert f'<html lang="{locale}"' in page.text
    assert "+86 21 6123 4567" in page.text
    assert 'action="/hc/' + locale + '/callback"' in page.text
    assert "set-cookie" in page.headers  # the CSRF cookie for a first visit


@pytest.mark.parametrize(
    ("changes", "zone_field"),
    [
        ({}, None),
        ({"time_zone": "+08:00"}, None),
        ({"time_zone": "Europe/London", "window_from": "02:00", "window_to": "03:00"}, None),
    ],
    ids=["iana", "offset", "london-night-is-shanghai-morning"],
)
async def test_a_good_request_books_and_announces_the_call(
    phone_client: httpx.AsyncClient,
    runtime: Runtime,
    line: Line,
    clock: FrozenClock,
    changes: dict[str, str],
    zone_field: None,
) -> None:
    response = await submit(phone_client, GOOD | changes)
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"].startswith("/hc/en/callback/submitted?reference=KF-")
    done = await phone_client.get(response.headers["location"])
    assert "official number" in done.text
    async with runtime.sessionmaker() as session:
        [conversation] = list(await session.scalars(select(Conversation)))
        [callback] = list(await session.scalars(select(CallbackRequest)))
        [job] = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND)))
        first = await session.scalar(select(Message).where(Message.conversation_id == conversation.id))
    assert (conversation.channel, conversation.category) == (ChannelKind.PHONE, Category.DEPOSIT)
    assert (conversation.inbox_id, conversation.team_id) == (line.inbox.id, line.team_id)
    assert (callback.status, callback.source) == (CallbackStatus.SCHEDULED, CallbackSource.FORM)
    assert callback.number == "+8613800138000"
    assert callback.official_number == LINE
    # 10:00–11:00 Shanghai on Wednesday, however the customer wrote their zone.
    assert callback.window_start == datetime(2025, 3, 12, 2, 0, tzinfo=UTC)
    assert callback.window_end == datetime(2025, 3, 12, 3, 0, tzinfo=UTC)
    assert first is not None
    assert first.data["callback"]["id"] == str(callback.id)
    assert "USDT deposit missing" in first.body
    payload: dict[str, Any] = job.payload
    assert (payload["template"], payload["to"]) == ("callback_scheduled", "wang@example.com")
    context = payload["context"]
    assert context["official_number"] == LINE
    assert context["number_ending"] == "8000"
    assert context["reference"] == conversation.reference
    email = render(get_spec("callback_scheduled"), "en", context)
    assert LINE in email.text
    assert "never call unannounced" in email.text
    assert "password" in email.text


async def test_the_chinese_form_books_in_chinese(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    response = await submit(phone_client, GOOD | {"topic": "security"}, locale="zh-CN")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/hc/zh-CN/callback/submitted")
    async with runtime.sessionmaker() as session:
        callback = await session.scalar(select(CallbackRequest))
        conversation = await session.scalar(select(Conversation))
        job = await session.scalar(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
    assert callback is not None
    assert conversation is not None
    assert job is not None
    assert (callback.locale, conversation.locale, conversation.category) == (
        "zh-CN",
        "zh-CN",
        Category.SECURITY,
    )
    assert job.payload["locale"] == "zh-CN"
    assert job.payload["context"]["window"].endswith("(Asia/Shanghai)")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+86 000"}, "phone"),
        ({"phone": "13800138000"}, "phone"),  # no country: needs the region
        ({"phone": "<script>alert(1)</script>"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"topic": "lambo"}, "topic"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"window_to": "09:30"}, "window_to"),  # ends before it starts
        ({"date": ""}, "date"),
        ({"window_from": "19:00", "window_to": "20:00"}, "window"),  # after closing
        ({"window_from": "17:30", "window_to": "18:30"}, "window"),  # runs past closing
        ({"date": "2025-03-15"}, "window"),  # a Saturday
        ({"date": "2025-05-01"}, "window"),  # Labour Day
        ({"date": "2025-03-11", "window_from": "09:00", "window_to": "09:45"}, "window"),  # already past
        ({"window_from": "10:00", "window_to": "10:10"}, "window"),  # too short
        ({"date": "2025-03-10"}, "window"),  # yesterday: the date may be today somewhere, the window is past
        ({"date": "2025-03-09"}, "date"),  # the date has passed everywhere
        ({"date": "2025-12-31"}, "date"),  # too far ahead
    ],
)
async def test_bad_requests_show_the_form_again_and_store_nothing(
    phone_client: httpx.AsyncClient,
    runtime: Runtime,
    line: Line,
    clock: FrozenClock,
    changes: dict[str, str],
    field: str,
) -> None:
    response = await submit(phone_client, GOOD | changes)
    assert response.status_code == 422, response.text[:500]
    assert f'id="hc-cb-{field}-error"' in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert await stored(runtime) == (0, 0, 0)


async def test_with_the_region_a_local_number_is_fine(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    response = await submit(phone_client, GOOD | {"phone": "138 0013 8000", "phone_region": "CN"})
    assert response.status_code == 303
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(CallbackRequest.number)) == "+8613800138000"


async def test_csrf_and_origin_are_required(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    await form_token(phone_client)
    no_token = await phone_client.post("/hc/en/callback", data=GOOD)
    assert no_token.status_code == 403
    token = await form_token(phone_client)
    foreign = await phone_client.post(
        "/hc/en/callback", data=GOOD | {"csrf_token": token}, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    json_body = await phone_client.post("/hc/en/callback", json=GOOD | {"csrf_token": token})
    assert json_body.status_code == 415
    assert await stored(runtime) == (0, 0, 0)


async def test_without_a_published_line_no_call_back_is_promised(
    phone_client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    response = await submit(phone_client, GOOD)
    assert response.status_code == 422
    assert await stored(runtime) == (0, 0, 0)


# --- the agents' API ------------------------------------------------------------------------------


async def _booked(client: httpx.AsyncClient, runtime: Runtime) -> CallbackRequest:
    assert (await submit(client, GOOD)).status_code == 303
    async with runtime.sessionmaker() as session:
        callback: CallbackRequest | None = await session.scalar(select(CallbackRequest))
    assert callback is not None
    return callback


async def test_agents_list_the_queue_and_log_outcomes(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    callback = await _booked(phone_client, runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    listed = await phone_client.get("/api/v1/callbacks", headers=agent.headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert (item["id"], item["status"], item["overdue"]) == (str(callback.id), "scheduled", False)
    assert item["number"] == "+8613800138000"

    url = f"/api/v1/callbacks/{callback.id}/outcome"
    missed = await phone_client.post(
        url, json={"outcome": "no_answer", "note": "voicemail box full"}, headers=agent.headers
    )
    assert missed.status_code == 200
    assert (missed.json()["status"], missed.json()["attempts"]) == ("no_answer", 1)
    done = await phone_client.post(url, json={"outcome": "done", "note": "credited"}, headers=agent.headers)
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    again = await phone_client.post(url, json={"outcome": "cancelled"}, headers=agent.headers)
    assert again.status_code == 409
    bad = await phone_client.post(url, json={"outcome": "scheduled"}, headers=agent.headers)
    assert bad.status_code == 422

    assert (await phone_client.get("/api/v1/callbacks", headers=agent.headers)).json()["items"] == []
    finished = await phone_client.get("/api/v1/callbacks?status=done", headers=agent.headers)
    assert [i["id"] for i in finished.json()["items"]] == [str(callback.id)]
    async with runtime.sessionmaker() as session:
        notes = list(
            await session.scalars(
                select(Message.body).where(
                    Message.conversation_id == callback.conversation_id, Message.kind == MessageKind.NOTE
                )
            )
        )
    assert notes == [
        "Call back to +8613800138000: no_answer\n\nvoicemail box full",
        "Call back to +8613800138000: done\n\ncredited",
    ]


async def test_an_open_call_back_past_its_window_is_overdue(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    await _booked(phone_client, runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    clock.advance(datetime(2025, 3, 12, 3, 1, tzinfo=UTC) - clock.now())
    [item] = (await phone_client.get("/api/v1/callbacks", headers=agent.headers)).json()["items"]
    assert item["overdue"] is True


async def test_who_may_see_and_log_call_backs(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    callback = await _booked(phone_client, runtime)
    url = f"/api/v1/callbacks/{callback.id}/outcome"
    assert (await phone_client.get("/api/v1/callbacks")).status_code == 401
    assert (await phone_client.post(url, json={"outcome": "done"})).status_code == 401

    # A customer (even the one who asked) does not log outcomes.
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, callback.conversation_id)
    assert conversation is not None
    from kefu.auth.customer_tokens import issue_customer_token

    token = issue_customer_token(runtime.settings.secret_key, conversation.contact_id, conversation.id)
    customer = {"authorization": f"Bearer {token}"}
    assert (await phone_client.get("/api/v1/callbacks", headers=customer)).status_code == 403
    assert (await phone_client.post(url, json={"outcome": "done"}, headers=customer)).status_code == 403

    # A read-only token cannot log; an agent outside a private team cannot even see it.
    reader = await make_agent(runtime.sessionmaker, "ro@kefu.test", scopes={Scope.CONVERSATIONS_READ})
    assert (await phone_client.get("/api/v1/callbacks", headers=reader.headers)).status_code == 200
    assert (await phone_client.post(url, json={"outcome": "done"}, headers=reader.headers)).status_code == 403
    async with transaction(runtime.sessionmaker) as session:
        team = await session.get(Team, line.team_id)
        assert team is not None
        team.is_private = True
    outsider = await make_agent(
        runtime.sessionmaker, "out@kefu.test", teams=(await make_team(runtime.sessionmaker, "Other"),)
    )
    assert (await phone_client.get("/api/v1/callbacks", headers=outsider.headers)).json()["items"] == []
    assert (
        await phone_client.post(url, json={"outcome": "done"}, headers=outsider.headers)
    ).status_code == 404
    missing = f"/api/v1/callbacks/{uuid.uuid4()}/outcome"
    assert (
        await phone_client.post(missing, json={"outcome": "done"}, headers=outsider.headers)
    ).status_code == 404
    member = await make_agent(runtime.sessionmaker, "desk@kefu.test", teams=(line.team_id,))
    assert (await phone_client.post(url, json={"outcome": "done"}, headers=member.headers)).status_code == 200
