"""The live-chat socket over real TCP: origins, visitor tokens, signed identities, acks, resume by seq,
agent replies, isolation between customers, hostile frames and rate limits. Both databases."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kefu.conversations.models import Conversation, Message
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.chat.conftest import EXCHANGE, IDENTITY_SECRET
from tests.web.ws.conftest import Live


def chat_url(live: Live) -> str:
    return live.http_url.replace("http://", "ws://") + "/chat/ws"


async def frame(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        data: dict[str, Any] = json.loads(await socket.recv())
        return data


async def until(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of `kind`, skipping others (queue and conversation updates may interleave)."""
    while (received := await frame(socket))["type"] != kind:
        pass
    return received


@asynccontextmanager
async def chat(
    live: Live, *, origin: str = EXCHANGE, **hello: Any
) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    """A socket that said hello; yields it with the welcome (replay and caught_up not yet read)."""
    async with connect(chat_url(live), origin=origin) as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"type": "hello", "v": 1, "locale": "en"} | hello))
        welcome = await frame(socket)
        assert welcome["type"] == "welcome", welcome
        yield socket, welcome


async def replay(socket: ClientConnection) -> tuple[list[dict[str, Any]], int]:
    """Messages sent before `caught_up`, and its seq."""
    messages = []
    while (received := await frame(socket))["type"] != "caught_up":
        if received["type"] == "message":
            messages.append(received["message"])
    return messages, int(received["seq"])


async def post(socket: ClientConnection, client_id: str, body: str) -> dict[str, Any]:
    await socket.send(json.dumps({"type": "message", "client_id": client_id, "body": body}))
    return await until(socket, "ack")


async def agent_reply(live: Live, token: str, conversation_id: str, body: str, kind: str = "reply") -> None:
    async with httpx.AsyncClient(base_url=live.http_url) as http:
        response = await http.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": body, "kind": kind},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text


async def count_messages(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_only_our_origin_and_the_exchanges_may_connect(live: Live) -> None:
    for origin in ("https://evil.example", "null"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(chat_url(live), origin=origin)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
    for origin in (EXCHANGE, live.origin):
        async with chat(live, origin=origin) as (_socket, welcome):
            assert welcome["conversation"] is None


async def test_first_message_opens_a_chat_and_a_resend_is_not_a_second_message(
    live: Live, db: Database
) -> None:
    async with chat(live) as (socket, welcome):
        assert welcome["customer"] == {"identified": False, "name": None, "anti_phishing_code": None}
        assert set(welcome["availability"]) == {"online", "reason", "opens_at", "estimated_wait_seconds"}
        assert welcome["limits"]["max_body_chars"] == 4000
        assert await replay(socket) == ([], 0)
        ack = await post(socket, "c-1", "My deposit is missing")
        assert ack["seq"] == 1
        assert ack["conversation"]["reference"].startswith("KF-")
        echoed = await until(socket, "message")
        assert echoed["message"]["client_id"] == "c-1"
        assert echoed["message"]["author"]["kind"] == "customer"
        again = await post(socket, "c-1", "My deposit is missing")
        assert again["seq"] == 1
        second = await post(socket, "c-2", "TRC20, 100 USDT")
        assert second["seq"] == 2
    assert await count_messages(db) == 2
    async with db.sessionmaker() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        assert (conversation.channel, conversation.subject) == ("chat", "My deposit is missing")


async def test_reconnect_resumes_after_seq_with_agent_replies_but_never_notes(
    live: Live, db: Database
) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    async with chat(live) as (socket, welcome):
        visitor = welcome["visitor"]
        await replay(socket)
        ack = await post(socket, "c-1", "Withdrawal stuck")
        conversation_id = ack["conversation"]["id"]
        await until(socket, "message")  # our own message
        await agent_reply(live, li.token, conversation_id, "Checking it now")
        live_reply = await until(socket, "message")
        assert live_reply["message"]["body"] == "Checking it now"
        assert live_reply["message"]["author"] == {"kind": "agent", "name": "li", "avatar_url": None}
    # Offline meanwhile: a note (internal) and two replies.
    await agent_reply(live, li.token, conversation_id, "internal: customer flagged before", kind="note")
    await agent_reply(live, li.token, conversation_id, "It was sent")
    await agent_reply(live, li.token, conversation_id, "Tx 0xabc")
    async with chat(live, visitor=visitor, after=2, conversation_id=conversation_id) as (socket, welcome):
        assert welcome["visitor"]
        assert welcome["conversation"]["id"] == conversation_id
        messages, seq = await replay(socket)
        assert [m["body"] for m in messages] == ["It was sent", "Tx 0xabc"]
        # Seqs only grow; the gaps are internal notes and events the customer never sees.
        assert 2 < messages[0]["seq"] < messages[1]["seq"] == seq
    async with chat(live, visitor=visitor) as (socket, _welcome):
        messages, _seq = await replay(socket)
        assert "internal: customer flagged before" not in [m["body"] for m in messages]
        assert len(messages) == 4


async def test_customers_never_see_each_others_chats(live: Live) -> None:
    async with chat(live) as (alice, _welcome):
        await replay(alice)
        ack = await post(alice, "c-1", "alice's secret order 123")
        alices = ack["conversation"]["id"]
    forged = "eyJmYWtlIjoidG9rZW4ifQ.forged.signature"
    for hello in ({}, {"visitor": forged}, {"conversation_id": alices, "after": 0}):
        async with chat(live, **hello) as (bob, welcome):
            assert welcome["conversation"] is None
            assert await replay(bob) == ([], 0)
            ack = await post(bob, "c-1", "bob here")
            assert ack["conversation"]["id"] != alices


async def test_signed_identities_link_the_exchange_user_and_unsigned_ones_are_ignored(live: Live) -> None:
    signature = hmac.new(IDENTITY_SECRET.encode(), b"10086", hashlib.sha256).hexdigest()
    async with chat(live, identity={"user_id": "10086", "signature": signature}) as (socket, welcome):
        assert welcome["customer"]["identified"] is True
        await replay(socket)
        first = (await post(socket, "c-1", "identified user"))["conversation"]["id"]
    token = jwt.encode(
        {"sub": "10086", "name": "Wang", "exp": int(time.time()) + 600}, IDENTITY_SECRET, algorithm="HS256"
    )
    # Another device, no visitor token: the same exchange user finds the same chat.
    async with chat(live, identity={"jwt": token}) as (socket, welcome):
        assert welcome["customer"] == {"identified": True, "name": "Wang", "anti_phishing_code": None}
        assert welcome["conversation"]["id"] == first
    forged = [
        {"user_id": "10086", "signature": "00" * 32},
        {"user_id": "10086"},
        {
            "jwt": jwt.encode(
                {"sub": "10086", "exp": int(time.time()) + 600}, "wrong-secret-" + "x" * 32, algorithm="HS256"
            )
        },
        {"jwt": jwt.encode({"sub": "10086"}, IDENTITY_SECRET, algorithm="HS256")},  # no expiry
        {"jwt": jwt.encode({"sub": "10086", "exp": int(time.time()) + 86400 * 30}, IDENTITY_SECRET)},
        {"jwt": "not.a.jwt"},
    ]
    for identity in forged:
        async with chat(live, identity=identity) as (_socket, welcome):
            assert welcome["customer"]["identified"] is False
            assert welcome["conversation"] is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "message", "client_id": "c 1", "body": "hi"}', "invalid"),
        ('{"type": "message", "client_id": "c-9", "body": "   "}', "invalid"),
        ('{"type": "message", "client_id": "c-9", "body": "' + "x" * 4001 + '"}', "invalid"),
        ('{"type": "read", "seq": -1}', "invalid"),
        ('{"type": "choice", "seq": 1, "choice": "solved"}', "no_conversation"),
        ('{"type": "hello", "v": 1}', "invalid"),
    ],
)
async def test_bad_frames_get_clear_errors_and_store_nothing(
    live: Live, db: Database, raw: str, code: str
) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await socket.send(raw)
        error = await until(socket, "error")
        assert error["code"] == code
        if code == "invalid" and '"client_id": "c-9"' in raw:
            assert error["client_id"] == "c-9"
        await socket.send(json.dumps({"type": "ping", "t": 1}))
        pong = await until(socket, "pong")  # the connection survives
        assert pong["t"] == 1
        assert abs(pong["server_time"] - time.time() * 1000) < 60_000
    assert await count_messages(db) == 0


async def test_oversized_frames_and_missing_hello_close_with_4400(live: Live) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await socket.send(json.dumps({"type": "ping", "pad": "x" * 20_000}))
        assert (await until(socket, "error"))["code"] == "too_large"
        with pytest.raises(ConnectionClosed) as closed:
            await frame(socket)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4400
    async with connect(chat_url(live), origin=EXCHANGE) as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"type": "message", "client_id": "c-1", "body": "hi"}))
        assert (await frame(socket))["code"] == "invalid"
        with pytest.raises(ConnectionClosed):
            await frame(socket)


async def test_message_rate_is_limited_per_visitor(live: Live, db: Database) -> None:
    async with chat(live) as (socket, welcome):
        await replay(socket)
        for n in range(20):
            assert (await post(socket, f"c-{n}", f"message {n}"))["seq"] == n + 1
        await socket.send(json.dumps({"type": "message", "client_id": "c-20", "body": "one too many"}))
        error = await until(socket, "error")
        assert (error["code"], error["client_id"]) == ("rate_limited", "c-20")
    # A second connection of the same visitor shares the limit.
    async with chat(live, visitor=welcome["visitor"]) as (socket, _welcome):
        await replay(socket)
        await socket.send(json.dumps({"type": "message", "client_id": "c-21", "body": "again"}))
        assert (await until(socket, "error"))["code"] == "rate_limited"
    assert await count_messages(db) == 20


async def test_customer_typing_reaches_agents_and_agent_typing_reaches_the_customer(
    live: Live, runtime: Runtime, db: Database
) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        conversation_id = (await post(socket, "c-1", "hello"))["conversation"]["id"]
        async with runtime.bus.subscribe([f"conversation:{conversation_id}"]) as events:
            await socket.send(json.dumps({"type": "typing", "state": "typing"}))
            async with asyncio.timeout(5):
                event = await anext(events)
            assert event.payload["customer"] is True
            assert event.payload["state"] == "typing"
        await runtime.bus.publish(
            Event(
                name=EventName.CONVERSATION_ACTIVITY,
                topics=(f"conversation:{conversation_id}",),
                payload={
                    "conversation_id": conversation_id,
                    "agent_id": str(li.id),
                    "agent_name": "li",
                    "state": "typing",
                },
            )
        )
        typing = await until(socket, "typing")
        assert typing == {"type": "typing", "author": {"kind": "agent", "name": "li"}, "state": "typing"}
