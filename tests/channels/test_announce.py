"""Incident updates posted to the official Telegram channel and X account: queued with the update,
posted once per inbox to a stand-in speaking each API over real HTTP, rate limits honoured."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kefu.auth.roles import Role
from kefu.channels.announce import CHANNEL_ANNOUNCE, announcement_text, bind_announce
from kefu.channels.credentials import seal_secrets
from kefu.db.uow import transaction
from kefu.i18n import get_translator
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.incidents.actions import do_create_incident, do_post_update
from kefu.incidents.models import Incident, IncidentUpdate
from kefu.incidents.schemas import IncidentCreate, UpdateCreate
from kefu.incidents.states import IncidentStatus
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext, RetryAfter
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.channels.standin_server import serve
from tests.factories import make_agent


class Platforms:
    """Telegram's sendMessage and X's POST /2/tweets, recording what was posted."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.throttle = False

    async def telegram(self, request: Request) -> JSONResponse:
        if self.throttle:
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests",
                    "parameters": {"retry_after": 42},
                },
                status_code=429,
            )
        self.posts.append((f"telegram:{request.path_params['token']}", await request.json()))
        return JSONResponse({"ok": True, "result": {"message_id": len(self.posts)}})

    async def tweet(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer x-token":
            return JSONResponse({"title": "Unauthorized"}, status_code=401)
        self.posts.append(("x", await request.json()))
        return JSONResponse({"data": {"id": str(1000 + len(self.posts)), "text": "…"}}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/sendMessage", self.telegram, methods=["POST"]),
                Route("/2/tweets", self.tweet, methods=["POST"]),
            ]
        )


async def _inboxes(runtime: Runtime) -> None:
    keyring = keyring_from_settings(runtime.settings)
    async with transaction(runtime.sessionmaker) as session:
        telegram = Inbox(
            id=uuid.uuid4(),
            name="bot",
            channel=ChannelKind.TELEGRAM,
            address="@kefu_bot",
            config={"announce_chat_id": "@kefu_status", "announce_locale": "zh-CN"},
        )
        seal_secrets(keyring, telegram, {"bot_token": "123:abc"})
        x = Inbox(id=uuid.uuid4(), name="x", channel=ChannelKind.X, address="42", config={"announce": True})
        seal_secrets(keyring, x, {"access_token": "x-token"})
        quiet = Inbox(id=uuid.uuid4(), name="quiet", channel=ChannelKind.TELEGRAM, address="@other_bot")
        session.add_all([telegram, x, quiet])


async def _run(runtime: Runtime, handler: Any) -> None:
    async with runtime.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == CHANNEL_ANNOUNCE)))
    for job in jobs:
        async with transaction(runtime.sessionmaker) as session:
            await handler(
                JobContext(session, job.id, CHANNEL_ANNOUNCE, 1, job.dedupe_key or ""), dict(job.payload)
            )


async def test_updates_are_posted_to_each_announcing_account(runtime: Runtime) -> None:
    platforms = Platforms()
    await _inboxes(runtime)
    boss = await make_agent(runtime.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with transaction(runtime.sessionmaker) as session:
        incident = await do_create_incident(
            session,
            boss.actor,
            IncidentCreate(
                title={"en": "BTC withdrawals delayed", "zh-CN": "BTC 提现延迟"},
                body={"en": "We are looking into it.", "zh-CN": "我们正在调查。"},
                components=["withdrawals:BTC"],
            ),
        )
        incident_id = incident.id
    async with runtime.sessionmaker() as session:
        assert (
            len(list(await session.scalars(select(OutboxJob).where(OutboxJob.name == CHANNEL_ANNOUNCE)))) == 2
        )
    async with serve(platforms.app()) as url:
        settings = runtime.settings.model_copy(update={"telegram_api_url": url, "x_api_url": url})
        handler = bind_announce(settings, keyring_from_settings(settings))
        await _run(runtime, handler)
    posted = dict(platforms.posts)
    telegram = posted["telegram:123:abc"]
    assert telegram["chat_id"] == "@kefu_status"
    status = get_translator("zh-CN").gettext("Investigating")
    assert status != "Investigating"
    assert telegram["text"].startswith(f"[{status}] BTC 提现延迟: 我们正在调查。")
    assert f"/hc/zh-CN/status/incidents/{incident_id}" in telegram["text"]
    tweet = posted["x"]["text"]
    assert tweet.startswith("[Investigating] BTC withdrawals delayed: We are looking into it.")
    assert len(tweet) <= 280


async def test_a_throttled_post_waits_as_told(runtime: Runtime) -> None:
    platforms = Platforms()
    platforms.throttle = True
    await _inboxes(runtime)
    boss = await make_agent(runtime.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with transaction(runtime.sessionmaker) as session:
        incident = await do_create_incident(
            session, boss.actor, IncidentCreate(title={"en": "Login slow"}, components=["login"])
        )
        await do_post_update(
            session,
            boss.actor,
            incident.id,
            UpdateCreate(status=IncidentStatus.IDENTIFIED, body={"en": "Found it"}),
        )
    async with serve(platforms.app()) as url:
        settings = runtime.settings.model_copy(update={"telegram_api_url": url, "x_api_url": url})
        handler = bind_announce(settings, keyring_from_settings(settings))
        with pytest.raises(RetryAfter) as waited:
            await _run(runtime, handler)
    assert waited.value.seconds == 42


def test_long_updates_are_cut_to_fit_with_the_link() -> None:
    incident = Incident(id=uuid.uuid4(), kind="incident", title={"en": "T"}, components=[])
    update = IncidentUpdate(status="investigating", body={"en": "word " * 200})
    text = announcement_text(incident, update, "en", "https://support.example.com", 280)
    assert len(text) <= 280
    assert text.endswith(f"/hc/en/status/incidents/{incident.id}")
    assert "…" in text
