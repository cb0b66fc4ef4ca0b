"""The Telegram webhook on both databases: the secret before anything else, replays, files, /start,
hostile bodies, and the whole path to an agent's reply leaving through the stand-in Bot API."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from kefu.audit.models import AuditEvent
from kefu.channels.delivery import CHANNEL_DELIVER, bind_deliver
from kefu.channels.telegram.adapter import TelegramAdapter
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.channels.telegram.conftest import WEBHOOK_SECRET, telegram_inbox
from tests.channels.telegram.payloads import (
    USER_ID,
    document_update,
    group_update,
    photo_update,
    png,
    start_update,
    text_update,
)
from tests.channels.telegram.standin import StandIn
from tests.factories import make_agent


def url(inbox: Inbox | uuid.UUID | str) -> str:
    inbox_id = inbox.id if isinstance(inbox, Inbox) else inbox
    return f"/channels/telegram/{inbox_id}/webhook"


async def post(
    client: httpx.AsyncClient, inbox: Inbox | str, payload: Any, secret: str | None = WEBHOOK_SECRET
) -> httpx.Response:
    headers = [(b"content-type", b"application/json")]
    if secret is not None:
        headers.append((b"x-telegram-bot-api-secret-token", secret.encode()))
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await client.post(url(inbox), content=content, headers=headers)


async def count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def audits(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def run_deliveries(runtime: Runtime, adapter: TelegramAdapter) -> None:
    handler = bind_deliver(
        {ChannelKind.TELEGRAM: adapter}, runtime.blobs, keyring_from_settings(runtime.settings)
    )
    async with runtime.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == CHANNEL_DELIVER)))
    for job in jobs:
        async with transaction(runtime.sessionmaker) as session:
            context = JobContext(session, job.id, CHANNEL_DELIVER, 1, job.dedupe_key or "")
            await handler(context, dict(job.payload))


async def test_a_message_reaches_agents_and_their_reply_goes_back_through_telegram(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = await telegram_inbox(runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    response = await post(client, inbox, text_update(900, "提现一直在处理中"))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    listing = await client.get("/api/v1/conversations", headers=agent.headers)
    [conversation] = listing.json()["items"]
    assert conversation["channel"] == "telegram"
    reply = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"body": "已为您加急处理。"},
        headers=agent.headers,
    )
    assert reply.status_code in (200, 201)
    await run_deliveries(runtime, adapter)
    [sent] = standin.sent()
    assert (sent.method, sent.params["chat_id"], sent.params["text"]) == (
        "sendMessage",
        str(USER_ID),
        "已为您加急处理。",
    )
    async with runtime.sessionmaker() as session:
        stored = await session.get(Message, uuid.UUID(reply.json()["id"]))
        assert stored is not None
        assert stored.data["delivery"]["status"] == "sent"
        first = await session.scalar(
            select(Message)
            .where(Message.conversation_id == uuid.UUID(conversation["id"]))
            .order_by(Message.seq)
        )
        assert first is not None
        assert first.body == "提现一直在处理中"
        assert first.data["channel"] == {"message_id": 910, "username": "wangwei"}


async def test_the_secret_is_checked_before_anything_else(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter
) -> None:
    inbox = await telegram_inbox(runtime)
    for secret in (None, "", "wrong-secret-0123456789abcdef", WEBHOOK_SECRET + "x", "秘密"):
        response = await post(client, inbox, text_update(1, "hi"), secret=secret)
        assert response.status_code == 401, secret
    # Even a broken body is not looked at without the secret.
    assert (await post(client, inbox, b"{not json", secret="nope")).status_code == 401
    no_secret = await telegram_inbox(runtime, secrets={"bot_token": "1:x"})
    assert (await post(client, no_secret, text_update(2, "hi"), secret="")).status_code == 401
    assert await count(runtime, Conversation) == 0
    assert await count(runtime, AuditEvent) == 0


async def test_unknown_inactive_and_foreign_inboxes_are_not_found(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter
) -> None:
    inactive = await telegram_inbox(runtime, active=False)
    messenger = await telegram_inbox(runtime, channel=ChannelKind.MESSENGER)
    for target in (str(uuid.uuid4()), "not-a-uuid", inactive, messenger):
        assert (await post(client, target, text_update(1, "hi"))).status_code == 404
    assert await count(runtime, Conversation) == 0


async def test_hostile_bodies(client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter) -> None:
    inbox = await telegram_inbox(runtime)
    huge = json.dumps(text_update(1, "x" * (1024 * 1024))).encode()
    assert (await post(client, inbox, huge)).status_code == 413
    for body in (b"{not json", b"\xff\xfe", b"[" * 100_000, json.dumps({"update_id": "1"}).encode(), b"[]"):
        response = await post(client, inbox, body)
        assert response.status_code == 400, body[:20]
    rejected = await audits(runtime, "channel.webhook_rejected")
    assert len(rejected) == 6
    assert {event.target_id for event in rejected} == {str(inbox.id)}
    assert await count(runtime, Conversation) == 0


async def test_a_replayed_update_is_stored_once(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter
) -> None:
    inbox = await telegram_inbox(runtime)
    for _ in range(3):
        assert (await post(client, inbox, text_update(7, "where is my deposit"))).status_code == 200
    assert (await post(client, inbox, text_update(8, "hello?"))).status_code == 200
    assert await count(runtime, Conversation) == 1
    assert await count(runtime, Message) == 2


async def test_start_greets_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = await telegram_inbox(runtime)
    assert (await post(client, inbox, start_update(1))).status_code == 200
    assert (await post(client, inbox, start_update(1))).status_code == 200  # redelivered
    [greeting] = standin.sent()
    assert greeting.params["chat_id"] == str(USER_ID)
    assert "http://kefu.test/hc/zh-CN/verify" in greeting.params["text"]
    assert (await post(client, inbox, group_update(2))).status_code == 200
    assert await count(runtime, Conversation) == 0


async def test_a_photo_is_fetched_and_attached(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = await telegram_inbox(runtime)
    standin.add_file("AgAClarge", "photos/file_1.jpg", png())
    assert (await post(client, inbox, photo_update(3))).status_code == 200
    assert standin.downloads == ["photos/file_1.jpg"]
    async with runtime.sessionmaker() as session:
        [message] = list(await session.scalars(select(Message)))
        [attachment] = list(await session.scalars(select(Attachment)))
    assert message.body == "充值截图"
    assert (attachment.message_id, attachment.content_type, attachment.width) == (message.id, "image/png", 64)


async def test_refused_files_keep_the_message_and_tell_the_agent(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = await telegram_inbox(runtime)
    too_big = photo_update(4, file_size=runtime.settings.upload_max_bytes + 1)
    assert (await post(client, inbox, too_big)).status_code == 200
    assert standin.downloads == []  # declared too large: not fetched at all
    standin.add_file("BQACdoc", "documents/file_2.exe", b"MZ\x90\x00\x03" + bytes(200))
    assert (
        await post(client, inbox, document_update(5, "tool.exe", "application/x-msdownload"))
    ).status_code == 200
    async with runtime.sessionmaker() as session:
        messages = list(await session.scalars(select(Message).order_by(Message.seq)))
    assert [m.body for m in messages] == [
        "充值截图\n[file not accepted: photo_AQADl.jpg]",
        "[file not accepted: tool.exe]",
    ]
    assert messages[0].data["channel"]["refused_files"] == [
        {"filename": "photo_AQADl.jpg", "reason": "too_large"}
    ]
    assert messages[1].data["channel"]["refused_files"] == [{"filename": "tool.exe", "reason": "unsupported"}]
    # A file Telegram no longer has (getFile 400): the message is kept, not retried for ever.
    standin.fail(
        "getFile", 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
    )
    assert (await post(client, inbox, photo_update(6, caption=None))).status_code == 200
    async with runtime.sessionmaker() as session:
        messages = list(await session.scalars(select(Message).order_by(Message.seq)))
    assert messages[2].body == "[file not accepted: photo_AQADl.jpg]"
    assert messages[2].data["channel"]["refused_files"][0]["reason"] == "unavailable"
    assert await count(runtime, Attachment) == 0
    assert len(await audits(runtime, "channel.file_refused")) == 3


async def test_a_file_telegram_cannot_hand_over_now_is_asked_for_again(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = await telegram_inbox(runtime)
    for _ in range(3):  # the first try and the client's two retries
        standin.fail("getFile", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    assert (await post(client, inbox, photo_update(6))).status_code == 503
    assert await count(runtime, Message) == 0
    standin.add_file("AgAClarge", "photos/file_3.jpg", png())
    assert (await post(client, inbox, photo_update(6))).status_code == 200  # Telegram's redelivery
    assert await count(runtime, Attachment) == 1


async def test_without_the_adapter_telegram_is_asked_to_come_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    inbox = await telegram_inbox(runtime)
    assert (await post(client, inbox, text_update(1, "hi"))).status_code == 503
    assert await count(runtime, Conversation) == 0


async def test_a_customer_who_blocked_the_bot_is_not_retried(
    client: httpx.AsyncClient, runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = await telegram_inbox(runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    assert (await post(client, inbox, text_update(1, "hi"))).status_code == 200
    [conversation] = (await client.get("/api/v1/conversations", headers=agent.headers)).json()["items"]
    reply = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "Hello"}, headers=agent.headers
    )
    standin.blocked.add(str(USER_ID))
    await run_deliveries(runtime, adapter)
    async with runtime.sessionmaker() as session:
        stored = await session.get(Message, uuid.UUID(reply.json()["id"]))
        assert stored is not None
        assert (stored.data["delivery"]["status"], stored.data["delivery"]["code"]) == (
            "failed",
            "bot_blocked",
        )
        notes = list(
            await session.scalars(select(Message.body).where(Message.body.like("Reply not delivered%")))
        )
    assert len(notes) == 1
