"""Two `kefu serve` nodes on one PostgreSQL and Redis: a customer on node A and an agent on node B chat
both ways; node A is killed with SIGKILL mid-conversation; the customer resumes on node B with nothing
lost or duplicated (checked by seq and client ids)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from kefu.conversations.models import Message
from kefu.conversations.states import AuthorKind, MessageKind
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_reachable, service_unavailable
from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, LiveServer, run_server

EXCHANGE = "https://www.example.com"


def ws_url(node: LiveServer, path: str) -> str:
    return node.url.replace("http://", "ws://") + path


async def frame(socket: ClientConnection, seconds: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        data: dict[str, Any] = json.loads(await socket.recv())
        return data


async def until(socket: ClientConnection, kind: str) -> dict[str, Any]:
    while (received := await frame(socket))["type"] != kind:
        pass
    return received


class Customer:
    """What the customer's client remembers across connections: seen seqs, acked and unacked ids."""

    def __init__(self) -> None:
        self.visitor: str | None = None
        self.conversation_id: str | None = None
        self.after = 0
        self.seen: list[int] = []
        self.acked: dict[str, int] = {}
        self.outbox: dict[str, str] = {}

    def absorb(self, received: dict[str, Any]) -> None:
        if received["type"] == "message":
            seq = received["message"]["seq"]
            self.seen.append(seq)
            self.after = max(self.after, seq)
        elif received["type"] == "ack":
            self.acked[received["client_id"]] = received["seq"]
            self.outbox.pop(received["client_id"], None)
            self.conversation_id = received["conversation"]["id"]

    async def connect(self, node: LiveServer) -> ClientConnection:
        socket = await connect(ws_url(node, "/chat/ws"), origin=Origin(EXCHANGE))
        hello = {"type": "hello", "v": 1, "locale": "en", "visitor": self.visitor}
        hello |= {"conversation_id": self.conversation_id, "after": self.after}
        await socket.send(json.dumps(hello))
        welcome = await until(socket, "welcome")
        self.visitor = welcome["visitor"]
        while (received := await frame(socket))["type"] != "caught_up":
            self.absorb(received)
        for client_id, body in list(self.outbox.items()):  # resend whatever was never acked
            await socket.send(json.dumps({"type": "message", "client_id": client_id, "body": body}))
        return socket

    async def say(self, socket: ClientConnection, client_id: str, body: str) -> None:
        self.outbox[client_id] = body
        await socket.send(json.dumps({"type": "message", "client_id": client_id, "body": body}))

    async def read_until(self, socket: ClientConnection, done: Any, seconds: float = 15) -> None:
        async with asyncio.timeout(seconds):
            while not done():
                self.absorb(await frame(socket, seconds))


@pytest.fixture
async def database() -> AsyncIterator[str]:
    reason = await _pg_reachable()
    if reason is not None:
        service_unavailable("PostgreSQL", reason)
    url = await _create_pg_database()
    yield url
    await _drop_pg_database(url)


async def agent_socket(node: LiveServer) -> ClientConnection:
    async with httpx.AsyncClient(base_url=node.url) as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD}
        )
        assert response.status_code == 200, response.text
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    socket = await connect(
        ws_url(node, "/console/ws"),
        origin=Origin(node.url),
        additional_headers={"cookie": cookie},
    )
    await socket.send(json.dumps({"type": "hello", "after": None, "watch": []}))
    assert (await until(socket, "ready"))["type"] == "ready"
    return socket


async def reply(node: LiveServer, token: str, conversation_id: str, body: str) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        response = await http.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": body},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text


async def next_message_event(agent: ClientConnection) -> dict[str, Any]:
    """The payload of the next new-message event the agent's console hears about."""
    while True:
        received = await frame(agent)
        if received["type"] == "event" and received["event"]["name"] == "message.created":
            return dict(received["event"]["payload"])


async def test_two_nodes_chat_both_ways_and_a_killed_node_loses_nothing(
    tmp_path: Path, database: str, redis_url: str
) -> None:
    env = {"KEFU_DATABASE_URL": database, "KEFU_REDIS_URL": redis_url, "KEFU_CHAT_ORIGINS": EXCHANGE}
    env["KEFU_CHAT_BOT"] = "false"  # delivery is under test: only the customer and the agent speak
    with (
        run_server(tmp_path / "a", extra_env=env) as node_a,
        run_server(tmp_path / "b", extra_env=env, setup=False) as node_b,
    ):
        token = node_b.kefu("token", "create", "--agent", AGENT_EMAIL)
        agent = await agent_socket(node_b)
        customer = Customer()
        on_a = await customer.connect(node_a)

        # Customer on A → agent on B.
        await customer.say(on_a, "c-1", "My BTC withdrawal is pending")
        await customer.read_until(on_a, lambda: "c-1" in customer.acked)
        conversation_id = customer.conversation_id
        assert conversation_id is not None
        await agent.send(json.dumps({"type": "watch", "conversations": [conversation_id]}))
        await customer.say(on_a, "c-2", "It has been 3 hours")
        heard = await next_message_event(agent)  # the first message, heard on the "all" list
        while heard["seq"] != 2:
            heard = await next_message_event(agent)
        assert heard["conversation_id"] == conversation_id

        # Agent on B → customer on A (through Redis).
        await reply(node_b, token, conversation_id, "Let me check the withdrawal queue")
        await customer.read_until(on_a, lambda: len(customer.seen) >= 3)

        # A burst from the customer, and node A dies with SIGKILL in the middle of it.
        for n in range(3, 11):
            await customer.say(on_a, f"c-{n}", f"detail {n}")
        await asyncio.sleep(0.05)
        assert node_a.process is not None
        node_a.process.kill()
        with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
            await customer.read_until(on_a, lambda: False, seconds=5)
        await reply(node_b, token, conversation_id, "While you were away: it is confirmed")

        # The customer reconnects to B, resumes after its last seq and resends what was never acked.
        on_b = await customer.connect(node_b)
        await customer.read_until(on_b, lambda: not customer.outbox and len(customer.acked) == 10)
        await customer.say(on_b, "c-11", "Thanks!")
        await reply(node_b, token, conversation_id, "You are welcome")
        # 11 customer messages and 3 agent replies.
        await customer.read_until(on_b, lambda: len(customer.seen) >= 14)
        await on_b.close()
        await agent.close()

    # Nothing lost, nothing twice: every client id is stored once and every visible seq was seen once.
    engine = create_async_engine(database)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(Message.seq, Message.client_id, Message.author_kind)
                    .where(Message.kind == MessageKind.REPLY)
                    .order_by(Message.seq)
                )
            ).all()
    finally:
        await engine.dispose()
    client_ids = [row.client_id for row in rows if row.author_kind == AuthorKind.CUSTOMER]
    assert client_ids == [f"c-{n}" for n in range(1, 12)]
    assert sorted(customer.seen) == customer.seen, "messages arrived out of order"
    assert len(set(customer.seen)) == len(customer.seen), "a message was delivered twice"
    assert customer.seen == [row.seq for row in rows]
    assert customer.acked == {row.client_id: row.seq for row in rows if row.client_id}
