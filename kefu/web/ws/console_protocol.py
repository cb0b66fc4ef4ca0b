"""The console socket's protocol: what a client may send (validated, bounded), close codes, and the
handshake (who is connecting, their hello).

See kefu.web.ws.console for the connection and docs/console.md for the protocol.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Final
from urllib.parse import urlsplit

from fastapi import WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.sessions import resolve_session
from kefu.conversations.access import list_private_team_ids
from kefu.db.uow import transaction
from kefu.events.log import parse_position
from kefu.runtime import Runtime

HELLO_TIMEOUT_SECONDS: Final = 10.0
MAX_FRAME_BYTES: Final = 8 * 1024
MAX_WATCHED: Final = 10
# Close codes (4000-4999 are ours): the client signs in again, or gives up.
CLOSE_UNAUTHENTICATED: Final = 4401
CLOSE_PROTOCOL: Final = 4400


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    after: str | None = Field(default=None, max_length=45)
    watch: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_WATCHED)


class Watch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    conversations: list[uuid.UUID] = Field(max_length=MAX_WATCHED)


class Activity(BaseModel):
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


async def read_hello(websocket: WebSocket) -> Hello:
    """The first frame: a valid hello within HELLO_TIMEOUT_SECONDS, or ProtocolError/TimeoutError."""
    async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
        raw = await websocket.receive_text()
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", "frame too large")
    try:
        hello = Hello.model_validate_json(raw)
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


class Revoked(Exception):
    """The session behind this socket ended."""


class Closed(Exception):
    """Close the socket with `code`."""

    def __init__(self, code: int) -> None:
        self.code = code


async def authenticate(
    runtime: Runtime, token: str | None
) -> tuple[AgentActor, str, frozenset[uuid.UUID]] | None:
    """The signed-in agent behind a session token, their name and the private teams; None if none."""
    if not token:
        return None
    async with transaction(runtime.sessionmaker) as session:
        actor = await resolve_session(session, token, settings=runtime.settings)
        if actor is None:
            return None
        agent = await session.get(Agent, actor.agent_id)
        name = agent.name if agent is not None else ""
        return actor, name, await list_private_team_ids(session)
