"""The live-chat socket `/chat/ws`: who may connect, the hello, the welcome and the replay.

Frames after the hello are handled in kefu.web.chat.commands, the connection's state and events in
kefu.web.chat.connection; the protocol is docs/chat-protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Final
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from kefu.chat.identity import ChatCustomer, issue_visitor_token, read_visitor_token, verify_identity
from kefu.chat.limits import MESSAGES_PER_MINUTE
from kefu.chat.service import (
    MAX_BODY_CHARS,
    availability,
    current_conversation,
    describe_conversation,
    find_contact,
    incident_banner,
)
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.i18n import negotiate_locale
from kefu.observability.context import bind_conversation
from kefu.runtime import Runtime
from kefu.web.chat.connection import ChatConnection
from kefu.web.chat.frames import CLOSE_PROTOCOL, Closed, Hello, ProtocolError, parse_frame
from kefu.web.chat.trust_commands import anti_phishing_code_of, identity_state

log = structlog.get_logger(__name__)
router = APIRouter()

CHAT_SOCKET_PATH: Final = "/chat/ws"
HELLO_TIMEOUT_SECONDS: Final = 10.0


def allowed_origins(base_url: str, configured: str) -> frozenset[str]:
    """Kefu's own origin (the widget frame) and the exchange's configured origins."""
    origins = {base_url, *(o.strip() for o in configured.split(",") if o.strip())}
    normalised = set()
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.netloc:
            normalised.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(normalised)


async def _read_hello(websocket: WebSocket) -> Hello:
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
            raw = await websocket.receive_text()
    except TimeoutError:
        raise ProtocolError("invalid", "the first frame must be a hello, within 10 s") from None
    frame = parse_frame(raw)
    if not isinstance(frame, Hello):
        raise ProtocolError("invalid", "the first frame must be a hello")
    return frame


async def _welcome(connection: ChatConnection, hello: Hello, visitor_token: str) -> None:
    runtime = connection.runtime
    settings = runtime.settings
    now = utcnow()
    async with transaction(runtime.sessionmaker, writes=False) as session:
        contact_id = await find_contact(session, connection.customer)
        conversation = await current_conversation(session, contact_id) if contact_id else None
        described = await describe_conversation(session, conversation) if conversation else None
        available = await availability(session, now=now)
        incident = await incident_banner(session, connection.locale, settings.base_url)
        anti_phishing_code = await anti_phishing_code_of(session, connection)
        identity = await identity_state(session, connection, conversation) if conversation else None
    if conversation is not None:
        connection.conversation_id = conversation.id
        bind_conversation(conversation.id)
        same = hello.conversation_id is None or hello.conversation_id == conversation.id
        connection.sent_seq = (hello.after or 0) if same else 0
        connection.remember_state(described)
    await connection.send(
        {
            "type": "welcome",
            "visitor": visitor_token,
            "customer": {
                "identified": connection.customer.identified,
                "name": connection.customer.name,
                "anti_phishing_code": anti_phishing_code,
            },
            "conversation": described,
            "availability": available,
            "incident": incident,
            "identity": identity,
            "limits": {"max_body_chars": MAX_BODY_CHARS, "messages_per_minute": MESSAGES_PER_MINUTE},
            "server_time": int(now.timestamp() * 1000),
        }
    )
    await connection.flush()
    await connection.send({"type": "caught_up", "seq": connection.sent_seq})
    await connection.refresh_state()


@router.websocket(CHAT_SOCKET_PATH)
async def chat_socket(websocket: WebSocket) -> None:
    """Anyone on an allowed origin (customers need no account); see the module docstring."""
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    origin = (websocket.headers.get("origin") or "").lower()
    if origin not in allowed_origins(settings.base_url, settings.chat_origins):
        log.warning("chat_socket_refused", reason="origin", origin=origin[:100])
        await websocket.close(code=1008)  # before accept: the handshake is refused with 403
        return
    await websocket.accept()
    secret = settings.secret_key.get_secret_value()
    close_code = 1000
    connection: ChatConnection | None = None
    try:
        hello = await _read_hello(websocket)
        visitor_id = read_visitor_token(secret, hello.visitor) or uuid.uuid4()
        verified = verify_identity(
            hello.identity, settings.chat_identity_secret.get_secret_value(), now=utcnow()
        )
        customer = ChatCustomer(
            visitor_id=visitor_id,
            user_id=verified.user_id if verified else None,
            name=verified.name if verified else None,
            email=verified.email if verified else None,
        )
        connection = ChatConnection(
            websocket,
            runtime,
            customer,
            negotiate_locale(
                explicit=hello.locale, cookie=None, accept_language=websocket.headers.get("accept-language")
            ),
        )
        await _welcome(connection, hello, issue_visitor_token(secret, visitor_id))
        async with asyncio.TaskGroup() as tasks:
            connection.tasks = tasks
            connection.follow()
            await connection.receive()
    except* WebSocketDisconnect:
        close_code = 0
    except* Closed as group:
        close_code = next(e.code for e in group.exceptions if isinstance(e, Closed))
    except* ProtocolError as group:
        error = next(e for e in group.exceptions if isinstance(e, ProtocolError))
        with contextlib.suppress(Exception):
            await websocket.send_text(
                json.dumps({"type": "error", "code": error.code, "message": str(error)})
            )
        close_code = CLOSE_PROTOCOL
    if close_code:
        with contextlib.suppress(Exception):
            await websocket.close(code=close_code)
