"""Meta's webhook end to end: handshake, signatures, hostile bodies, files, and a reply going back out."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.channels.messenger.adapter import MessengerAdapter
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.runtime import Runtime
from tests.channels.deliveries import run_deliveries
from tests.channels.messenger.conftest import make_messenger_inbox
from tests.channels.messenger.payloads import PSID, VERIFY_TOKEN, delivery, messaging, read_receipt, signed
from tests.channels.messenger.standin import GraphStandIn
from tests.factories import make_agent


def _url(inbox: Inbox | uuid.UUID | str) -> str:
    return f"/channels/messenger/{inbox.id if isinstance(inbox, Inbox) else inbox}/webhook"


async def _post(client: httpx.AsyncClient, inbox: Inbox, body: bytes, **headers: str) -> httpx.Response:
    return await client.post(_url(inbox), content=body, headers=signed(body) | headers)


async def _messages(runtime: Runtime) -> list[Message]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(Message).order_by(Message.created_at, Message.seq)))


async def _audits(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "blue").save(buffer, "PNG")
    return buffer.getvalue()


async def test_the_handshake_echoes_the_challenge_for_the_inbox_token(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = await client.get(_url(inbox), params=params)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = await client.get(_url(inbox), params=params | {"hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text
    assert (await client.get(_url(uuid.uuid4()), params=params)).status_code == 404
    assert (await client.get(_url("not-a-uuid"), params=params)).status_code == 404
    inactive = await make_messenger_inbox(runtime, address="2000", active=False)
    assert (await client.get(_url(inactive), params=params)).status_code == 404
    telegram = await make_messenger_inbox(runtime, channel=ChannelKind.TELEGRAM)
    assert (await client.get(_url(telegram), params=params)).status_code == 404


async def test_unsigned_or_wrongly_signed_deliveries_store_nothing(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    body = delivery(messaging("mid.1", "hello"))
    unsigned = await client.post(_url(inbox), content=body, headers={"content-type": "application/json"})
    forged = await client.post(_url(inbox), content=body, headers=signed(body, "not the app secret"))
    tampered = await client.post(_url(inbox), content=body.replace(b"hello", b"HELLO"), headers=signed(body))
    assert [r.status_code for r in (unsigned, forged, tampered)] == [403, 403, 403]
    assert await _messages(runtime) == []
    rejected = await _audits(runtime, "channel.webhook_rejected")
    assert [a.details["reason"] for a in rejected] == ["bad_signature"] * 3
    assert all(a.target_id == str(inbox.id) for a in rejected)


async def test_oversized_and_malformed_bodies(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert (await _post(client, inbox, huge)).status_code == 413
    for body in (b"not json", b'{"object": "user", "entry": []}', b"[" * 50_000):
        answer = await _post(client, inbox, body)
        assert answer.status_code == 400
    reasons = [a.details["reason"] for a in await _audits(runtime, "channel.webhook_rejected")]
    assert reasons == ["body_too_large", "malformed", "malformed", "malformed"]
    assert await _messages(runtime) == []


async def test_a_message_opens_a_conversation_once(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    body = delivery(
        messaging("mid.1", "充值没到账"), read_receipt(), messaging("mid.echo", "reply", is_echo=True)
    )
    first = await _post(client, inbox, body)
    again = await _post(client, inbox, body)  # Meta redelivers until it gets a 200
    assert (first.status_code, first.text, again.status_code) == (200, "EVENT_RECEIVED", 200)
    [message] = await _messages(runtime)
    assert message.body == "充值没到账"
    assert message.data["channel"] == {"platform": "facebook"}
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        assert (conversation.channel, conversation.inbox_id, conversation.team_id) == (
            ChannelKind.MESSENGER,
            inbox.id,
            inbox.team_id,
        )
        identity = await session.scalar(
            select(ContactIdentity).where(ContactIdentity.contact_id == conversation.contact_id)
        )
        assert identity is not None
        assert (identity.kind, identity.value) == (IdentityKind.MESSENGER, PSID)


async def test_deliveries_for_another_page_are_ignored(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    answer = await _post(client, inbox, delivery(messaging("mid.x", "hi"), account="999999"))
    assert answer.status_code == 200
    assert await _messages(runtime) == []


async def test_attachments_are_fetched_and_stored(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime, graph: GraphStandIn
) -> None:
    url = graph.cdn("shot.png", _png(), "image/png")
    body = delivery(messaging("mid.img", None, attachments=[{"type": "image", "payload": {"url": url}}]))
    assert (await _post(client, inbox, body)).status_code == 200
    [message] = await _messages(runtime)
    async with runtime.sessionmaker() as session:
        files = list(await session.scalars(select(Attachment).where(Attachment.message_id == message.id)))
    assert [(f.content_type, f.width, f.height) for f in files] == [("image/png", 32, 24)]
    assert graph.downloads == ["shot.png"]


async def test_refused_files_keep_the_message_and_tell_the_agent(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime, graph: GraphStandIn
) -> None:
    big = graph.cdn("big.mp4", b"0" * (runtime.settings.upload_max_bytes + 1), "video/mp4")
    junk = graph.cdn("tool.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, "application/octet-stream")
    attachments: list[dict[str, Any]] = [
        {"type": "video", "payload": {"url": big}},
        {"type": "file", "payload": {"url": "http://169.254.169.254/latest/meta-data/"}},
    ]
    first = delivery(messaging("mid.big", "my video", attachments=attachments))
    second = delivery(messaging("mid.exe", None, attachments=[{"type": "file", "payload": {"url": junk}}]))
    assert (await _post(client, inbox, first)).status_code == 200
    assert (await _post(client, inbox, second)).status_code == 200
    video, exe = await _messages(runtime)
    assert video.body == "my video"
    assert video.data["channel"]["refused_files"] == [
        {"type": "video", "reason": "too_large"},
        {"type": "file", "reason": "not_allowed"},
    ]
    assert exe.body == "(file not received)"
    assert exe.data["channel"]["refused_files"] == [{"type": "file", "reason": "unsupported_media_type"}]
    audits = await _audits(runtime, "channel.file_refused")
    assert len(audits) == 2
    assert "169.254" not in json.dumps([a.details for a in audits])
    assert "big.mp4" in graph.downloads
    async with runtime.sessionmaker() as session:
        assert list(await session.scalars(select(Attachment))) == []


async def test_end_to_end_a_reply_goes_back_and_the_window_is_respected(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime, graph: GraphStandIn, adapter: MessengerAdapter
) -> None:
    assert (await _post(client, inbox, delivery(messaging("mid.1", "where is my BTC?")))).status_code == 200
    assert inbox.team_id is not None
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test", teams=(inbox.team_id,))
    listed = await client.get("/api/v1/conversations", headers=agent.headers)
    assert listed.status_code == 200
    [conversation] = listed.json()["items"]
    assert conversation["channel"] == "messenger"
    url = f"/api/v1/conversations/{conversation['id']}/messages"
    reply = await client.post(url, json={"body": "It is confirmed now."}, headers=agent.headers)
    assert reply.status_code == 201
    await run_deliveries(runtime, adapter)
    [call] = graph.calls
    assert call.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "It is confirmed now."},
    }
    # A day later Meta refuses a standard reply: it is held, and the agent is told on the timeline.
    graph.fail(400, 10, "(#10) This message is sent outside of allowed window.", 2018278)
    late = await client.post(url, json={"body": "Anything else?"}, headers=agent.headers)
    assert late.status_code == 201
    await run_deliveries(runtime, adapter)
    async with runtime.sessionmaker() as session:
        first = await session.get(Message, uuid.UUID(reply.json()["id"]))
        held = await session.get(Message, uuid.UUID(late.json()["id"]))
        notes = list(await session.scalars(select(Message).where(Message.kind == MessageKind.NOTE)))
    assert first is not None
    assert held is not None
    assert first.data["delivery"]["status"] == "sent"
    assert first.data["delivery"]["external_ids"] == ["m_1"]
    assert held.data["delivery"]["status"] == "failed"
    assert held.data["delivery"]["code"] == "outside_24h_window"
    assert len(notes) == 1
    assert "24 hours" in notes[0].body
    assert len(graph.calls) == 2  # the held reply was tried once, not retried
