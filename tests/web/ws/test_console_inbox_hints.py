"""New messages of conversations a console socket does not watch are list hints: at most one a second
per socket, the latest standing for the rest. Watched conversations get every message at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from kefu.web.ws import console
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.ws.conftest import Live, sign_in
from tests.web.ws.test_console_socket import create, hello, open_socket

BURST = 6


async def _note(http: httpx.AsyncClient, token: str, conversation_id: str, body: str) -> None:
    response = await http.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": body, "kind": "note"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text


async def _events(socket: ClientConnection, quiet: float) -> list[dict[str, Any]]:
    """Every event frame until the socket has been quiet for `quiet` seconds."""
    received: list[dict[str, Any]] = []
    while True:
        try:
            async with asyncio.timeout(quiet):
                frame = json.loads(await socket.recv())
        except TimeoutError:
            return received
        if frame["type"] == "event":
            received.append(frame["event"])


async def test_unwatched_messages_are_coalesced_and_watched_ones_are_not(
    live: Live, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "INBOX_HINT_SECONDS", 0.5)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    watched = await create(live, li.token, subject="watched")
    other = await create(live, li.token, subject="other")
    cookie, _ = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket, httpx.AsyncClient(base_url=live.http_url) as http:
        await hello(socket, watch=[watched["id"]])
        await _events(socket, 0.6)  # presence and the like
        for n in range(BURST):
            await _note(http, li.token, other["id"], f"other {n}")
        hinted = await _events(socket, 1.0)
        for n in range(BURST):
            await _note(http, li.token, watched["id"], f"watched {n}")
        heard = await _events(socket, 1.0)
    hints = [e for e in hinted if e["name"] == "message.created"]
    assert {e["payload"]["conversation_id"] for e in hints} == {other["id"]}
    assert 1 <= len(hints) < BURST
    # The last one always arrives: it stands for those it replaced.
    assert hints[-1]["payload"]["seq"] == BURST + 1
    mine = [e for e in heard if e["name"] == "message.created"]
    assert [e["payload"]["seq"] for e in mine] == list(range(2, BURST + 2))
    positions = [int(e["position"].split("-")[0]) for e in hinted + heard if e.get("position")]
    assert positions == sorted(positions)


async def test_a_watch_frame_is_answered_and_then_every_message_arrives_in_full(
    live: Live, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "INBOX_HINT_SECONDS", 0.5)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    later = await create(live, li.token, subject="watched later")
    cookie, _ = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket, httpx.AsyncClient(base_url=live.http_url) as http:
        await hello(socket, watch=[])
        await _events(socket, 0.6)
        await socket.send(json.dumps({"type": "watch", "conversations": [later["id"]]}))
        while (frame := json.loads(await socket.recv()))["type"] != "watching":
            assert frame["type"] == "event", frame
        assert frame["conversations"] == [later["id"]]
        for n in range(BURST):
            await _note(http, li.token, later["id"], f"now watched {n}")
        heard = await _events(socket, 1.0)
    seqs = [e["payload"]["seq"] for e in heard if e["name"] == "message.created"]
    assert seqs == list(range(2, BURST + 2))  # none coalesced into a hint


async def test_a_reconnect_hears_of_messages_missed_meanwhile_as_one_hint(
    live: Live, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "INBOX_HINT_SECONDS", 0.5)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    other = await create(live, li.token, subject="other")
    cookie, _ = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket:
        position = await hello(socket, watch=[])
        await _events(socket, 0.6)
    async with httpx.AsyncClient(base_url=live.http_url) as http:
        for n in range(BURST):
            await _note(http, li.token, other["id"], f"while away {n}")
    async with await open_socket(live, cookie) as socket:
        await hello(socket, after=position, watch=[])
        replayed = await _events(socket, 1.0)
    hints = [e for e in replayed if e["name"] == "message.created"]
    assert 1 <= len(hints) < BURST
    assert hints[-1]["payload"]["conversation_id"] == other["id"]
    assert hints[-1]["payload"]["seq"] == BURST + 1
