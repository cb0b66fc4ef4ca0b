"""The console's WebSocket: live events for one signed-in agent, resumable after a reconnect.

Protocol (JSON text frames; docs/console-realtime.md):
  client → {"type": "hello", "after": <position|null>, "watch": [conversation ids]}   first, once
           {"type": "watch", "conversations": [ids]}          replace the watched conversations
           {"type": "activity", "conversation_id": id, "state": "viewing"|"typing"|"idle"}
           {"type": "ping"}
  server → {"type": "ready", "position": p}   then {"type": "event", "event": {...}} in log order
           {"type": "resync", "position": p}  the client missed too much: reload, then continue
           {"type": "pong"} · {"type": "error", "code": ..., "message": ...}

Only the console's own pages may connect (Origin check: a foreign page cannot ride the cookie), and
only a fully signed-in agent. Every event is filtered by what the agent may see; a watched
conversation is gated like any read. The session is re-checked on every heartbeat and closed the
moment it is revoked (sign-out, password or 2FA change elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.sessions import resolve_session
from kefu.conversations.access import (
    access_conversation_by_id,
    can_see_conversation_facts,
    list_private_team_ids,
)
from kefu.conversations.recipients import conversation_payload, staff_topic
from kefu.core.errors import NotFound
from kefu.core.tasks import cancel_waiters
from kefu.db.uow import transaction
from kefu.events.bus import ResyncRequired
from kefu.events.log import parse_position
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.base import SubscriptionLost
from kefu.routing.presence import do_connection_closed, do_connection_heartbeat, do_connection_opened
from kefu.runtime import Runtime
from kefu.web.deps import session_cookie_name
from kefu.web.ws.closing import send_text

log = structlog.get_logger(__name__)
router = APIRouter()

CONSOLE_SOCKET_PATH: Final = "/console/ws"
HELLO_TIMEOUT_SECONDS: Final = 10.0
HEARTBEAT_SECONDS: Final = 30.0
MAX_FRAME_BYTES: Final = 8 * 1024
MAX_WATCHED: Final = 10
# Close codes (4000-4999 are ours): the client signs in again, or gives up.
CLOSE_UNAUTHENTICATED: Final = 4401
CLOSE_PROTOCOL: Final = 4400
NODE: Final = socket.gethostname()[:60]


class _Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    after: str | None = Field(default=None, max_length=45)
    watch: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_WATCHED)


class _Watch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    conversations: list[uuid.UUID] = Field(max_length=MAX_WATCHED)


class _Activity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    conversation_id: uuid.UUID
    state: str = Field(pattern=r"^(viewing|typing|idle)$")


class ProtocolError(Exception):
    """The client sent something we cannot use; answered with an error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def same_origin(origin: str | None, base_url: str) -> bool:
    """Whether the handshake's Origin is Kefu's own (browsers always send it on WebSockets)."""
    if not origin:
        return False
    seen, expected = urlsplit(origin), urlsplit(base_url)
    return (seen.scheme, seen.netloc) == (expected.scheme, expected.netloc)


@dataclass
class ConsoleConnection:
    """One agent's socket: what it watches, where it is in the log, who it is."""

    websocket: WebSocket
    runtime: Runtime
    actor: AgentActor
    token: str
    agent_name: str
    private_team_ids: frozenset[uuid.UUID]
    watched: set[uuid.UUID] = field(default_factory=set)
    position: str = "0-0"
    topics_changed: asyncio.Event = field(default_factory=asyncio.Event)
    connection_id: uuid.UUID | None = None

    def topics(self) -> list[str]:
        """Lists (filtered per event), the agent's own topic, presence, and watched conversations."""
        base = ["conversations:all", f"agent:{self.actor.agent_id}", "presence:all"]
        return base + [staff_topic(conversation_id) for conversation_id in self.watched]

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one JSON frame."""
        await send_text(self.websocket, json.dumps(frame, separators=(",", ":"), default=str))

    def visible(self, event: Event) -> bool:
        """Whether this agent may see `event` (conversation events carry their team and assignee)."""
        payload = event.payload
        if event.name == EventName.CONVERSATION_ACTIVITY and payload.get("agent_id") == str(
            self.actor.agent_id
        ):
            return False  # our own typing notice
        if "conversation_id" not in payload:
            return True
        try:
            team = uuid.UUID(payload["team_id"]) if payload.get("team_id") else None
            assignee = uuid.UUID(payload["assignee_id"]) if payload.get("assignee_id") else None
        except (TypeError, ValueError):
            return False
        return can_see_conversation_facts(
            self.actor, team_id=team, assignee_id=assignee, private_team_ids=self.private_team_ids
        )

    async def pump(self) -> None:
        """Forward events until the watched set changes, then resubscribe from where we were."""
        while True:
            self.topics_changed.clear()
            try:
                async with self.runtime.bus.subscribe(self.topics(), after=self.position) as events:
                    await self._forward(events)
            except ResyncRequired:
                self.position = await self.runtime.bus.head()
                await self.send({"type": "resync", "position": self.position})
            except SubscriptionLost as exc:
                # Too far behind (or Redis reconnected): subscribe again from our position; the
                # event log replays what this socket missed, or asks the client to reload.
                log.info("console_subscription_lost", agent_id=str(self.actor.agent_id), error=str(exc))

    async def _forward(self, events: AsyncIterator[Event]) -> None:
        changed = asyncio.ensure_future(self.topics_changed.wait())
        following: asyncio.Future[Event] | None = None
        try:
            while True:
                following = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({following, changed}, return_when=asyncio.FIRST_COMPLETED)
                if following not in done:
                    return
                event = following.result()
                following = None
                if event.name == EventName.AGENT_SESSIONS_REVOKED:
                    if self.actor.session_id in event.payload.get("session_ids", []):
                        raise _Revoked
                    continue
                if event.position is not None:
                    self.position = event.position
                if self.visible(event):
                    await self.send({"type": "event", "event": event.model_dump(mode="json")})
        finally:
            # The pending read must finish before the subscription closes its generator.
            await cancel_waiters(changed, following)

    async def handle(self, raw: str) -> None:
        """One client frame after the hello."""
        if len(raw.encode()) > MAX_FRAME_BYTES:
            raise ProtocolError("too_large", "frame too large")
        try:
            frame = json.loads(raw)
            kind = frame["type"] if isinstance(frame, dict) else None
        except (ValueError, KeyError):
            raise ProtocolError("malformed", "frames are JSON objects with a type") from None
        try:
            if kind == "ping":
                await self.send({"type": "pong"})
            elif kind == "watch":
                await self.watch(_Watch.model_validate(frame).conversations)
            elif kind == "activity":
                await self.activity(_Activity.model_validate(frame))
            else:
                raise ProtocolError("unknown_type", "unknown frame type")
        except ValidationError as exc:
            raise ProtocolError("invalid", f"invalid {kind} frame: {exc.error_count()} error(s)") from None

    async def watch(self, conversation_ids: list[uuid.UUID]) -> None:
        """Watch exactly these conversations (each gated like a read; unknown ones are refused)."""
        allowed: set[uuid.UUID] = set()
        async with transaction(self.runtime.sessionmaker, writes=False) as session:
            for conversation_id in dict.fromkeys(conversation_ids):
                try:
                    await access_conversation_by_id(session, self.actor, conversation_id)
                except NotFound:
                    await self.send(
                        {
                            "type": "error",
                            "code": "not_found",
                            "message": f"no conversation {conversation_id}",
                        }
                    )
                    continue
                allowed.add(conversation_id)
        if allowed != self.watched:
            self.watched = allowed
            self.topics_changed.set()

    async def activity(self, frame: _Activity) -> None:
        """Tell the other agents watching a conversation that this one is viewing or typing."""
        if frame.conversation_id not in self.watched:
            raise ProtocolError("not_watched", "watch a conversation before sending activity")
        async with transaction(self.runtime.sessionmaker, writes=False) as session:
            conversation = await access_conversation_by_id(session, self.actor, frame.conversation_id)
            facts = conversation_payload(conversation)
        await self.runtime.bus.publish(
            Event(
                name=EventName.CONVERSATION_ACTIVITY,
                topics=(staff_topic(frame.conversation_id),),
                payload={
                    **facts,
                    "agent_id": str(self.actor.agent_id),
                    "agent_name": self.agent_name,
                    "state": frame.state,
                },
            )
        )

    async def heartbeat(self) -> None:
        """Keep presence fresh and re-check the session (revoked, expired, role or teams changed)."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            async with transaction(self.runtime.sessionmaker) as session:
                actor = await resolve_session(session, self.token, settings=self.runtime.settings)
                if actor is None:
                    raise _Revoked
                self.actor = actor
                self.private_team_ids = await list_private_team_ids(session)
                alive = self.connection_id is not None and await do_connection_heartbeat(
                    session, self.connection_id
                )
                if not alive:
                    # Reaped as stale (this node stalled past the timeout): register the socket again.
                    self.connection_id = await do_connection_opened(session, self.actor.agent_id, NODE)

    async def receive(self) -> None:
        """Read client frames until the socket closes; bad frames get an error frame, not a crash."""
        while True:
            raw = await self.websocket.receive_text()
            try:
                await self.handle(raw)
            except ProtocolError as exc:
                await self.send({"type": "error", "code": exc.code, "message": str(exc)})
                if exc.code == "too_large":
                    raise _Closed(CLOSE_PROTOCOL) from None


class _Revoked(Exception):
    """The session behind this socket ended."""


class _Closed(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


async def _authenticate(
    runtime: Runtime, token: str | None
) -> tuple[AgentActor, str, frozenset[uuid.UUID]] | None:
    if not token:
        return None
    async with transaction(runtime.sessionmaker) as session:
        actor = await resolve_session(session, token, settings=runtime.settings)
        if actor is None:
            return None
        agent = await session.get(Agent, actor.agent_id)
        name = agent.name if agent is not None else ""
        return actor, name, await list_private_team_ids(session)


async def _read_hello(websocket: WebSocket) -> _Hello:
    async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
        raw = await websocket.receive_text()
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", "frame too large")
    try:
        hello = _Hello.model_validate_json(raw)
    except ValidationError:
        raise ProtocolError("invalid", "the first frame must be a valid hello") from None
    if hello.type != "hello":
        raise ProtocolError("invalid", "the first frame must be a hello")
    if hello.after is not None:
        try:
            parse_position(hello.after)
        except ValueError:
            raise ProtocolError("invalid", "after is not a position this server gave out") from None
    return hello


@router.websocket(CONSOLE_SOCKET_PATH)
async def console_socket(websocket: WebSocket) -> None:
    """Signed-in agents only (session cookie, same origin); see the module docstring."""
    runtime: Runtime = websocket.app.state.runtime
    origin = websocket.headers.get("origin")
    if not same_origin(origin, runtime.settings.base_url):
        # Logged: a wrong KEFU_BASE_URL behind a proxy shows up here, not as a silent dead console.
        log.warning("console_socket_refused", reason="origin", origin=(origin or "")[:100])
        await websocket.close(code=1008)  # before accept: the handshake is refused with 403
        return
    token = websocket.cookies.get(session_cookie_name(runtime.settings))
    who = await _authenticate(runtime, token)
    if who is None or token is None:
        await websocket.close(code=1008)
        return
    actor, name, private = who
    await websocket.accept()
    connection = ConsoleConnection(websocket, runtime, actor, token, name, private)
    close_code = 1000
    try:
        hello = await _read_hello(websocket)
        connection.position = hello.after or await runtime.bus.head()
        if hello.watch:
            await connection.watch(hello.watch)
        async with transaction(runtime.sessionmaker) as session:
            connection.connection_id = await do_connection_opened(session, actor.agent_id, NODE)
        await connection.send({"type": "ready", "position": connection.position})
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(connection.pump())
            tasks.create_task(connection.receive())
            tasks.create_task(connection.heartbeat())
    except* WebSocketDisconnect:
        close_code = 0
    except* _Revoked:
        close_code = CLOSE_UNAUTHENTICATED
    except* _Closed as group:
        close_code = next(e.code for e in group.exceptions if isinstance(e, _Closed))
    except* ProtocolError as group:
        error = next(e for e in group.exceptions if isinstance(e, ProtocolError))
        with contextlib.suppress(Exception):
            await connection.send({"type": "error", "code": error.code, "message": str(error)})
        close_code = CLOSE_PROTOCOL
    except* TimeoutError:
        close_code = CLOSE_PROTOCOL
    finally:
        if connection.connection_id is not None:
            with contextlib.suppress(Exception):
                async with transaction(runtime.sessionmaker) as session:
                    await do_connection_closed(session, connection.connection_id)
    if close_code:
        with contextlib.suppress(Exception):
            await websocket.close(code=close_code)
