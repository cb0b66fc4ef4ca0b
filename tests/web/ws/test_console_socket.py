"""The console WebSocket over real TCP: who may connect, what they hear, resume, collisions, revocation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kefu.auth.roles import Role
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent, make_team
from tests.web.ws.conftest import Live, sign_in


async def open_socket(live: Live, cookie: str, *, origin: str | None = None) -> ClientConnection:
    headers = {"cookie": cookie}
    return await connect(live.ws_url, origin=origin or live.origin, additional_headers=headers)  # type: ignore[arg-type]


async def frame(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(3):
        data: dict[str, Any] = json.loads(await socket.recv())
        return data


async def hello(socket: ClientConnection, after: str | None = None, watch: list[str] | None = None) -> str:
    await socket.send(json.dumps({"type": "hello", "after": after, "watch": watch or []}))
    ready = await frame(socket)
    assert ready["type"] == "ready", ready
    return str(ready["position"])


async def reply(socket: ClientConnection) -> dict[str, Any]:
    """The next frame that is not an event (presence changes may arrive at any time)."""
    while (received := await frame(socket))["type"] == "event":
        pass
    return received


async def drain(socket: ClientConnection) -> None:
    """Read until the server closes the socket (raises ConnectionClosed)."""
    while True:
        await frame(socket)


async def next_event(socket: ClientConnection, name: str) -> dict[str, Any]:
    while True:
        received = await frame(socket)
        if received["type"] == "event" and received["event"]["name"] == name:
            return dict(received["event"])


async def create(live: Live, token: str, **fields: object) -> dict[str, Any]:
    body: dict[str, object] = {"subject": "Deposit missing", "body": "Where is my USDT?"}
    body["customer"] = {"email": "buyer@example.com"}
    body.update(fields)
    async with httpx.AsyncClient(base_url=live.http_url) as http:
        response = await http.post(
            "/api/v1/conversations", json=body, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


async def test_refuses_foreign_origins_and_strangers(live: Live, db: Database) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(live, "li@kefu.test")
    with pytest.raises(InvalidStatus) as foreign:
        await open_socket(live, cookie, origin="https://evil.example")
    assert foreign.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as anonymous:
        await open_socket(live, "kefu_session=forged")
    assert anonymous.value.response.status_code == 403


async def test_new_conversation_arrives_live(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        created = await create(live, li.token)
        event = await next_event(socket, "conversation.created")
    assert event["payload"]["conversation_id"] == created["id"]
    assert event["payload"]["reference"] == created["reference"]
    assert event["position"]


async def test_reconnect_catches_up_on_missed_events(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket:
        position = await hello(socket)
    missed = [await create(live, li.token, subject=f"missed {n}") for n in range(3)]
    async with await open_socket(live, cookie) as socket:
        await hello(socket, after=position)
        replayed = [await next_event(socket, "conversation.created") for _ in missed]
    assert [e["payload"]["conversation_id"] for e in replayed] == [c["id"] for c in missed]


async def test_private_team_events_and_watches_stay_private(live: Live, db: Database) -> None:
    vault = await make_team(db.sessionmaker, "Vault", private=True)
    insider = await make_agent(db.sessionmaker, "in@kefu.test", teams=(vault,))
    outsider = await make_agent(db.sessionmaker, "out@kefu.test")
    cookie, _ = await sign_in(live, outsider.email)
    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        secret = await create(live, insider.token, team_id=str(vault))
        public = await create(live, insider.token)
        # The first event the outsider hears is the public one: the private one was filtered out.
        event = await next_event(socket, "conversation.created")
        assert event["payload"]["conversation_id"] == public["id"]
        await socket.send(json.dumps({"type": "watch", "conversations": [secret["id"]]}))
        refused = await reply(socket)
    assert refused["type"] == "error"
    assert refused["code"] == "not_found"


async def test_collision_notice_reaches_the_other_agent_only(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    wang = await make_agent(db.sessionmaker, "wang@kefu.test")
    conversation = await create(live, li.token)
    li_cookie, _ = await sign_in(live, li.email)
    wang_cookie, _ = await sign_in(live, wang.email)
    async with (
        await open_socket(live, li_cookie) as li_socket,
        await open_socket(live, wang_cookie) as wang_socket,
    ):
        await hello(li_socket, watch=[conversation["id"]])
        await hello(wang_socket, watch=[conversation["id"]])
        await li_socket.send(
            json.dumps({"type": "activity", "conversation_id": conversation["id"], "state": "typing"})
        )
        notice = await next_event(wang_socket, "conversation.activity")
        assert notice["payload"]["agent_name"] == "li"
        assert notice["payload"]["state"] == "typing"
        # Li never hears her own notice (presence changes may arrive before the pong).
        await li_socket.send(json.dumps({"type": "ping"}))
        heard = []
        while (received := await frame(li_socket))["type"] != "pong":
            heard.append(received["event"]["name"])
        assert "conversation.activity" not in heard


async def test_activity_needs_a_watched_conversation(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    conversation = await create(live, li.token)
    cookie, _ = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        await socket.send(
            json.dumps({"type": "activity", "conversation_id": conversation["id"], "state": "typing"})
        )
        assert (await reply(socket))["code"] == "not_watched"


async def test_signing_out_closes_the_socket(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, csrf = await sign_in(live, li.email)
    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        async with httpx.AsyncClient(base_url=live.http_url) as http:
            response = await http.post(
                "/api/v1/auth/logout", headers={"cookie": cookie, "x-csrf-token": csrf, "origin": live.origin}
            )
            assert response.status_code in (200, 204), response.text
        with pytest.raises(ConnectionClosed) as closed:
            await drain(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ("not json", 4400),
        (json.dumps({"type": "watch", "conversations": []}), 4400),
        (json.dumps({"type": "hello", "after": "yesterday"}), 4400),
        (json.dumps({"type": "hello", "watch": ["x"] * 11}), 4400),
        ("x" * 20_000, 4400),
    ],
)
async def test_bad_hello_closes_with_a_protocol_error(
    live: Live, db: Database, first: str, code: int
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(live, "li@kefu.test")
    async with await open_socket(live, cookie) as socket:
        await socket.send(first)
        with pytest.raises(ConnectionClosed) as closed:
            await drain(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "[]",
        json.dumps({"type": "dance"}),
        json.dumps({"type": "watch", "conversations": "all"}),
        json.dumps({"type": "activity", "conversation_id": "nope", "state": "typing"}),
        json.dumps({"type": "activity", "conversation_id": "0" * 32, "state": "<script>"}),
        "\x00",
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_lives_on(live: Live, db: Database, bad: str) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(live, "li@kefu.test")
    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        await socket.send(bad)
        assert (await reply(socket))["type"] == "error"
        await socket.send(json.dumps({"type": "ping"}))
        assert (await reply(socket))["type"] == "pong"


async def test_presence_follows_the_sockets(live: Live, db: Database, runtime: Runtime) -> None:
    from kefu.routing.service import list_agent_presence

    li = await make_agent(db.sessionmaker, "li@kefu.test", role=Role.AGENT)
    cookie, _ = await sign_in(live, li.email)

    async def status() -> str | None:
        async with runtime.sessionmaker() as session:
            rows = await list_agent_presence(session)
        return next((str(r.status) for r in rows if r.agent_id == li.id), None)

    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        assert await status() == "online"
    for _ in range(100):
        if await status() == "away":
            break
        await asyncio.sleep(0.02)
    assert await status() == "away"


async def test_heartbeat_rechecks_the_session_and_reregisters_a_reaped_connection(
    live: Live, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import delete, func, select, update

    from kefu.auth.models import AgentSession
    from kefu.core.clock import utcnow
    from kefu.routing.models import AgentConnection
    from kefu.web.ws import console

    monkeypatch.setattr(console, "HEARTBEAT_SECONDS", 0.1)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(live, li.email)

    async def connections() -> int:
        async with db.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(AgentConnection)) or 0)

    async with await open_socket(live, cookie) as socket:
        await hello(socket)
        assert await connections() == 1
        async with db.sessionmaker() as session, session.begin():
            await session.execute(delete(AgentConnection))  # as the stale-connection sweep would
        for _ in range(100):
            if await connections() == 1:
                break
            await asyncio.sleep(0.05)
        assert await connections() == 1
        # A session ended without an event (expired, or revoked by another node's crash): the
        # next heartbeat notices and closes the socket.
        async with db.sessionmaker() as session, session.begin():
            await session.execute(update(AgentSession).values(revoked_at=utcnow()))
        with pytest.raises(ConnectionClosed) as closed:
            await drain(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
