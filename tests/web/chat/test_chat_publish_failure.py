"""A message stored and acknowledged stays so when publishing its events fails (a bus that is down,
a Redis pool exhausted under overload): the socket is not closed, and later messages still go in."""

from __future__ import annotations

import pytest

from kefu.events.types import Event
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.web.chat.test_chat_socket import chat, count_messages, post, replay
from tests.web.ws.conftest import Live


async def test_a_failing_bus_neither_loses_nor_refuses_messages(
    live: Live, runtime: Runtime, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed: list[str] = []

    async def unavailable(event: Event) -> None:
        failed.append(str(event.name))
        raise ConnectionError("the event bus is unavailable")

    async with chat(live) as (socket, _welcome):
        await replay(socket)
        first = await post(socket, "c-1", "hello")  # opens the chat (the bus still works)
        monkeypatch.setattr(runtime.bus, "publish", unavailable)
        # The next ones take the one-statement path on PostgreSQL, the general one on SQLite.
        seqs = [(await post(socket, f"c-{n}", f"message {n}"))["seq"] for n in range(2, 5)]
        assert seqs == sorted(seqs)
        assert seqs[0] > first["seq"]
    assert "message.created" in failed
    assert await count_messages(db) >= 4
