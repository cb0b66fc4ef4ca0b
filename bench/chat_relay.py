"""The yardstick for bench/chat_load.py: a bare Starlette WebSocket relay that stores every message.

Customers connect to /chat/ws and agents to /console/ws, speaking just enough of Kefu's two protocols
(docs/chat-protocol.md, kefu/web/ws/console.py) for the same load generator to drive both:

- customer: `hello` → `welcome` + `caught_up`; `message` → one INSERT through an asyncpg pool, then
  `ack` and the echoed `message` to the customer (as Kefu does) and one `message.created` event to
  each agent socket watching the conversation; `ping` → `pong`;
- agent: `hello` with `watch` (up to 10 conversation ids) → `ready`; `watch` replaces the list.

Nothing else: no sign-in, no origin check, no rate limit, no event log, sequence numbers kept in
memory, and no fan-out to agents who do not watch the conversation. It is the floor Kefu is measured
against, not a design to copy.

    RELAY_DATABASE_URL=postgresql://… uvicorn bench.chat_relay:app --ws websockets-sansio
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

MAX_WATCHED: Final = 10
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS relay_messages (
    id uuid PRIMARY KEY,
    conversation_id uuid NOT NULL,
    seq integer NOT NULL,
    client_id text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq)
)
"""
INSERT: Final = (
    "INSERT INTO relay_messages (id, conversation_id, seq, client_id, body) VALUES ($1, $2, $3, $4, $5)"
)

state: dict[str, Any] = {}
# Conversation id → the agent sockets watching it; conversation id → its last seq (one process).
watchers: defaultdict[str, set[WebSocket]] = defaultdict(set)
last_seq: dict[str, int] = {}


def dumps(frame: dict[str, Any]) -> str:
    """Compact JSON, as Kefu sends it (the load generator matches frame prefixes)."""
    return json.dumps(frame, separators=(",", ":"))


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    url = os.environ["RELAY_DATABASE_URL"].replace("postgresql+asyncpg", "postgresql")
    # The same ceiling as Kefu's engine (kefu/db/engine.py POOL_SIZE + MAX_OVERFLOW).
    pool = await asyncpg.create_pool(url, min_size=20, max_size=30)
    await pool.execute(SCHEMA)
    state["pool"] = pool
    yield
    await pool.close()


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def customer_socket(websocket: WebSocket) -> None:
    """One customer: their conversation starts with the first message."""
    await websocket.accept()
    conversation_id: str | None = None
    try:
        hello = json.loads(await websocket.receive_text())
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await websocket.close(code=4400)
            return
        await websocket.send_text(
            dumps({"type": "welcome", "visitor": uuid.uuid4().hex, "conversation": None})
        )
        await websocket.send_text(dumps({"type": "caught_up", "seq": 0}))
        while True:
            frame = json.loads(await websocket.receive_text())
            kind = frame.get("type") if isinstance(frame, dict) else None
            if kind == "ping":
                await websocket.send_text(dumps({"type": "pong", "t": frame.get("t")}))
            elif kind == "message":
                if conversation_id is None:
                    conversation_id = str(uuid.uuid4())
                await relay(websocket, conversation_id, str(frame["client_id"]), str(frame["body"]))
    except WebSocketDisconnect:
        return


async def relay(websocket: WebSocket, conversation_id: str, client_id: str, body: str) -> None:
    """Store, acknowledge, echo, and tell the watching agents."""
    seq = last_seq.get(conversation_id, 0) + 1
    last_seq[conversation_id] = seq
    await state["pool"].execute(INSERT, uuid.uuid4(), uuid.UUID(conversation_id), seq, client_id, body)
    conversation = {"id": conversation_id, "status": "open", "agent": None}
    await websocket.send_text(
        dumps({"type": "ack", "client_id": client_id, "seq": seq, "conversation": conversation})
    )
    message = {"seq": seq, "client_id": client_id, "author": {"kind": "customer"}, "body": body}
    await websocket.send_text(dumps({"type": "message", "message": message}))
    event = dumps(
        {
            "type": "event",
            "event": {"name": "message.created", "payload": {"conversation_id": conversation_id, "seq": seq}},
        }
    )
    for agent in list(watchers.get(conversation_id, ())):
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await agent.send_text(event)


def set_watch(websocket: WebSocket, watched: set[str], wanted: list[Any]) -> set[str]:
    """Replace what `websocket` watches; returns the new set."""
    for conversation_id in watched:
        watchers[conversation_id].discard(websocket)
    fresh = {str(c) for c in wanted[:MAX_WATCHED]}
    for conversation_id in fresh:
        watchers[conversation_id].add(websocket)
    return fresh


async def agent_socket(websocket: WebSocket) -> None:
    """One agent's console: hears about the conversations it watches."""
    await websocket.accept()
    watched: set[str] = set()
    try:
        hello = json.loads(await websocket.receive_text())
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await websocket.close(code=4400)
            return
        watched = set_watch(websocket, watched, list(hello.get("watch") or []))
        await websocket.send_text(dumps({"type": "ready", "position": "0-0"}))
        while True:
            frame = json.loads(await websocket.receive_text())
            kind = frame.get("type") if isinstance(frame, dict) else None
            if kind == "ping":
                await websocket.send_text(dumps({"type": "pong"}))
            elif kind == "watch":
                watched = set_watch(websocket, watched, list(frame.get("conversations") or []))
    except WebSocketDisconnect:
        return
    finally:
        set_watch(websocket, watched, [])


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        WebSocketRoute("/chat/ws", customer_socket),
        WebSocketRoute("/console/ws", agent_socket),
    ],
    lifespan=lifespan,
)
