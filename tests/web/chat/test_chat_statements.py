"""Statements per customer message on the chat socket, pinned so the hot path cannot quietly grow.

Counted with a `before_cursor_execute` listener over the real socket: the post, its ack, the echo of
the customer's own message and whatever its events start, once the chat is open. Both databases.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any, Final

import pytest
from sqlalchemy import event
from websockets.asyncio.client import ClientConnection

from tests.conftest import Database
from tests.web.chat.test_chat_socket import chat, replay
from tests.web.ws.conftest import Live

MESSAGES: Final = 5
# What one message of an open chat costs: the chat with its tags and SLA row, then the seq bump (which
# also checks the client id) and the insert. On PostgreSQL a quiet chat takes one autocommitted
# statement (kefu.chat.quick_post). Before session 7: 11.
MAX_PER_MESSAGE: Final = {"sqlite": 3, "postgres": 1}


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the server sends while the test runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        # The configuration caches are read again every few seconds, not per message.
        if not any(f"FROM {table}" in statement for table in ("triggers", "webhook_endpoints")):
            seen.append(statement.split("\n")[0][:100])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _drain(socket: ClientConnection) -> list[dict[str, Any]]:
    """Every frame until the socket is quiet (a message's events are handled after its ack)."""
    received: list[dict[str, Any]] = []
    while True:
        try:
            async with asyncio.timeout(0.5):
                received.append(json.loads(await socket.recv()))
        except TimeoutError:
            return received


async def test_a_message_of_an_open_chat_costs_few_statements(
    live: Live, db: Database, statements: list[str]
) -> None:
    async with chat(live) as (socket, welcome):
        await replay(socket)
        await socket.send(json.dumps({"type": "message", "client_id": "open", "body": "hello"}))
        await _drain(socket)
        statements.clear()
        for n in range(MESSAGES):
            await socket.send(json.dumps({"type": "message", "client_id": f"m-{n}", "body": f"msg {n}"}))
        received = await _drain(socket)
    counted = list(statements)
    acks = [f for f in received if f["type"] == "ack"]
    echoes = [f["message"] for f in received if f["type"] == "message"]
    # Every message acked and echoed once, in order, with the seq the ack gave.
    assert [a["client_id"] for a in acks] == [f"m-{n}" for n in range(MESSAGES)]
    assert [e["client_id"] for e in echoes] == [f"m-{n}" for n in range(MESSAGES)]
    assert [e["seq"] for e in echoes] == [a["seq"] for a in acks]
    per_message = len(counted) / MESSAGES
    print(f"{db.backend}: {per_message:.1f} statements per message", *counted, sep="\n  ")
    assert per_message <= MAX_PER_MESSAGE[db.backend], counted
    # The echoes sent from memory are exactly what a reconnecting client reads back.
    async with chat(live, visitor=welcome["visitor"], after=echoes[0]["seq"] - 1) as (socket, _):
        replayed, _ = await replay(socket)
    assert replayed == echoes
