"""The live-chat socket `/chat/ws`: one customer's chat, resumable by `seq` on any node.

The database is the source of truth: bus events only wake the connection, which then reads the
messages after the last `seq` it sent. So a replay after a reconnect, a missed pub/sub message or
two nodes racing never lose or repeat a message (docs/chat-protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from kefu.chat.actions import do_post_message, publish_customer_activity
from kefu.chat.identity import ChatCustomer, issue_visitor_token, read_visitor_token, verify_identity
from kefu.chat.service import (
    MAX_BODY_CHARS,
    MESSAGES_PER_MINUTE,
    agent_names,
    availability,
    current_conversation,
    describe_conversation,
    find_contact,
    incident_banner,
    message_frame,
    messages_after,
    queue_place,
)
from kefu.conversations.models import Conversation
from kefu.conversations.recipients import customer_topic, staff_topic
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kefu.core.ratelimit import SlidingWindow
from kefu.db.uow import transaction
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.i18n import negotiate_locale
from kefu.runtime import Runtime
from kefu.web.chat.frames import Choice, Hello, Ping, Post, ProtocolError, Read, Typing, parse_frame

log = structlog.get_logger(__name__)
router = APIRouter()

CHAT_SOCKET_PATH: Final = "/chat/ws"
HELLO_TIMEOUT_SECONDS: Final = 10.0
# Clients ping every 25 s; silence for this long means the peer is gone.
IDLE_TIMEOUT_SECONDS: Final = 75.0
# A frame the client does not read within this long marks a slow consumer (it resumes with `after`).
SEND_TIMEOUT_SECONDS: Final = 10.0
# Pub/sub may drop a message (a Redis reconnect); a periodic read catches up regardless.
SAFETY_POLL_SECONDS: Final = 30.0
CLOSE_PROTOCOL: Final = 4400
CLOSE_SLOW: Final = 4408
CLOSE_RATE: Final = 4429
# Refusals in a row before the connection is dropped rather than answered.
HARD_LIMIT_REFUSALS: Final = 3 * MESSAGES_PER_MINUTE

_per_visitor = SlidingWindow(MESSAGES_PER_MINUTE, 60.0)
_typing = SlidingWindow(1, 1.0)


def allowed_origins(base_url: str, configured: str) -> frozenset[str]:
    """Kefu's own origin (the widget frame) and the exchange's configured origins."""
    origins = {base_url, *(o.strip() for o in configured.split(",") if o.strip())}
    normalised = set()
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.netloc:
            normalised.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(normalised)


class _Closed(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class ChatConnection:
    """One socket: the customer, their conversation, and the last `seq` sent to them."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, customer: ChatCustomer, locale: str) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.customer = customer
        self.locale = locale
        self.conversation_id: uuid.UUID | None = None
        self.sent_seq = 0
        self.limiter = SlidingWindow(MESSAGES_PER_MINUTE, 60.0)
        self.topics_changed = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._last_state: tuple[str, str | None] | None = None

    @property
    def bot_name(self) -> str:
        return "Kefu 助手" if self.locale == "zh-CN" else "Kefu Assistant"

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame; a client that does not take it in time is dropped as a slow consumer."""
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await self.websocket.send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
        except TimeoutError:
            raise _Closed(CLOSE_SLOW) from None

    # --- reading the conversation -------------------------------------------------------------

    async def flush(self) -> None:
        """Send every customer-visible message after `sent_seq`, in order, once."""
        if self.conversation_id is None:
            return
        async with self._flush_lock:
            while True:
                async with transaction(self.runtime.sessionmaker, writes=False) as session:
                    page = await messages_after(session, self.conversation_id, self.sent_seq)
                    ids = {m.author_agent_id for m in page if m.author_agent_id is not None}
                    names = await agent_names(session, ids)
                frames = [message_frame(m, names, bot_name=self.bot_name) for m in page]
                for message, frame in zip(page, frames, strict=True):
                    await self.send({"type": "message", "message": frame})
                    self.sent_seq = message.seq
                if len(page) < 200:
                    return

    async def refresh_state(self, *, force: bool = False) -> None:
        """Send the conversation's status/agent when it changed, and the queue place while waiting."""
        if self.conversation_id is None:
            return
        async with transaction(self.runtime.sessionmaker, writes=False) as session:
            conversation = await session.get(Conversation, self.conversation_id)
            if conversation is None:
                return
            described = await describe_conversation(session, conversation)
            place = await queue_place(session, conversation, now=utcnow())
        previous = self._last_state
        self.remember_state(described)
        if force or self._last_state != previous:
            await self.send({"type": "conversation", "conversation": described})
        if place is not None:
            await self.send(
                {
                    "type": "queue",
                    "position": place.position,
                    "estimated_wait_seconds": place.estimated_wait_seconds,
                }
            )

    def remember_state(self, described: dict[str, Any] | None) -> None:
        """What the client was told about the conversation (only changes are sent again)."""
        if described is not None:
            agent = described["agent"]["name"] if described["agent"] else None
            self._last_state = (described["status"], agent)

    # --- events ---------------------------------------------------------------------------------

    def topics(self) -> list[str]:
        if self.conversation_id is None:
            return []
        return [customer_topic(self.conversation_id), staff_topic(self.conversation_id)]

    async def pump(self) -> None:
        """Follow the conversation's events (resubscribing when the chat is opened) and poll now and then."""
        while True:
            self.topics_changed.clear()
            topics = self.topics()
            if not topics:
                await self._wait_for(self.topics_changed.wait(), SAFETY_POLL_SECONDS)
                continue
            async with self.runtime.bus.subscribe(topics) as events:
                # Subscribed first, read second: nothing committed in between is missed.
                await self.flush()
                await self._follow(events)

    async def _wait_for(self, awaitable: Any, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await awaitable

    async def _follow(self, events: AsyncIterator[Event]) -> None:
        changed = asyncio.ensure_future(self.topics_changed.wait())
        following: asyncio.Future[Event] | None = None
        try:
            while True:
                if following is None:
                    following = asyncio.ensure_future(anext(events))
                waiters: set[asyncio.Future[Any]] = {following, changed}
                done, _ = await asyncio.wait(
                    waiters, timeout=SAFETY_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                if changed in done:
                    return
                if following not in done:
                    await self.flush()
                    await self.refresh_state()
                    continue
                event = following.result()
                following = None
                await self.on_event(event)
        finally:
            for waiter in (changed, following):
                if waiter is not None and not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await waiter

    async def on_event(self, event: Event) -> None:
        """Turn a bus event into the frames the customer may see (never notes or internal facts)."""
        if event.name == EventName.MESSAGE_CREATED:
            await self.flush()
        elif event.name in (EventName.CONVERSATION_UPDATED, EventName.CONVERSATION_CREATED):
            await self.refresh_state()
        elif event.name == EventName.CONVERSATION_ACTIVITY and not event.payload.get("customer"):
            state = event.payload.get("state")
            name = event.payload.get("agent_name")
            if state in ("typing", "idle"):
                author = {"kind": "agent", "name": name if isinstance(name, str) else None}
                await self.send({"type": "typing", "author": author, "state": state})
            elif state == "viewing" and self.sent_seq:
                # An agent with the conversation open has seen everything up to now.
                await self.send({"type": "read", "seq": self.sent_seq})

    # --- client frames --------------------------------------------------------------------------

    async def receive(self) -> None:
        """Read frames until the socket closes; a bad frame gets an error frame, not a crash."""
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT_SECONDS):
                    raw = await self.websocket.receive_text()
            except TimeoutError:
                raise _Closed(CLOSE_SLOW) from None
            try:
                await self.handle(raw)
            except ProtocolError as exc:
                frame: dict[str, Any] = {"type": "error", "code": exc.code, "message": str(exc)}
                if exc.client_id:
                    frame["client_id"] = exc.client_id
                await self.send(frame)
                if exc.code == "too_large":
                    raise _Closed(CLOSE_PROTOCOL) from None

    async def handle(self, raw: str) -> None:
        frame = parse_frame(raw)
        if isinstance(frame, Ping):
            await self.send({"type": "pong", "t": frame.t, "server_time": int(utcnow().timestamp() * 1000)})
        elif isinstance(frame, Post):
            await self.post(frame)
        elif isinstance(frame, Typing):
            if self.conversation_id is not None and _typing.hit(self.customer.visitor_id.hex):
                await self._activity(frame.state, None)
        elif isinstance(frame, Read):
            if self.conversation_id is not None:
                await self._activity("read", min(frame.seq, self.sent_seq))
        elif isinstance(frame, Choice):
            raise ProtocolError("not_found", "no such choice in this conversation")
        else:
            raise ProtocolError("invalid", "hello is sent once, first")

    async def post(self, frame: Post) -> None:
        visitor = self.customer.visitor_id.hex
        if not self.limiter.hit("connection") or not _per_visitor.hit(visitor):
            if self.limiter.refused_in_a_row("connection") + _per_visitor.refused_in_a_row(visitor) > (
                HARD_LIMIT_REFUSALS
            ):
                raise _Closed(CLOSE_RATE)
            raise ProtocolError("rate_limited", "too many messages; wait a moment", client_id=frame.client_id)
        try:
            async with transaction(self.runtime.sessionmaker) as session:
                posted = await do_post_message(
                    session, self.customer, body=frame.body, client_id=frame.client_id, locale=self.locale
                )
                described = await describe_conversation(session, posted.conversation)
        except Conflict as exc:
            raise ProtocolError("conversation_closed", str(exc), client_id=frame.client_id) from None
        except (InvalidInput, PermissionDenied, NotFound) as exc:
            raise ProtocolError("invalid", str(exc), client_id=frame.client_id) from None
        await self.send(
            {
                "type": "ack",
                "client_id": frame.client_id,
                "seq": posted.message.seq,
                "conversation": described,
            }
        )
        if posted.conversation.id != self.conversation_id:
            self.conversation_id = posted.conversation.id
            self.sent_seq = 0 if posted.created else self.sent_seq
            self.topics_changed.set()
            await self.refresh_state(force=True)
        await self.flush()

    async def _activity(self, state: str, seq: int | None) -> None:
        assert self.conversation_id is not None
        async with transaction(self.runtime.sessionmaker, writes=False) as session:
            conversation = await session.get(Conversation, self.conversation_id)
        if conversation is not None:
            await publish_customer_activity(self.runtime.bus, conversation, state=state, seq=seq)


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
    if conversation is not None:
        connection.conversation_id = conversation.id
        same = hello.conversation_id is None or hello.conversation_id == conversation.id
        connection.sent_seq = (hello.after or 0) if same else 0
        connection.remember_state(described)
    await connection.send(
        {
            "type": "welcome",
            "visitor": visitor_token,
            "customer": {"identified": connection.customer.identified, "name": connection.customer.name},
            "conversation": described,
            "availability": available,
            "incident": incident,
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
            tasks.create_task(connection.pump())
            tasks.create_task(connection.receive())
    except* WebSocketDisconnect:
        close_code = 0
    except* _Closed as group:
        close_code = next(e.code for e in group.exceptions if isinstance(e, _Closed))
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
