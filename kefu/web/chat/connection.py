"""One chat socket's state: the customer, their conversation, the last `seq` sent, and the events
that wake it. The database is the source of truth: events only trigger a read of the messages after
the last `seq` sent, so replays, missed pub/sub messages or two nodes racing never lose or repeat one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

import structlog
from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.actions import KnownChat
from kefu.chat.identity import ChatCustomer
from kefu.chat.limits import MESSAGES_PER_MINUTE
from kefu.chat.service import (
    REPLAY_PAGE,
    agent_names,
    conversation_fields,
    conversation_frame,
    message_frame,
    messages_after,
    queue_place,
)
from kefu.chat.uploads import sign_file_url
from kefu.conversations.models import Conversation, Message
from kefu.conversations.recipients import customer_topic, staff_topic
from kefu.core.clock import utcnow
from kefu.core.ratelimit import SlidingWindow
from kefu.core.tasks import cancel_waiters
from kefu.db.uow import transaction
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.base import SubscriptionLost
from kefu.runtime import Runtime
from kefu.web.chat.commands import handle
from kefu.web.chat.frames import CLOSE_INTERNAL, CLOSE_PROTOCOL, CLOSE_SLOW, Closed, ProtocolError
from kefu.web.ws.closing import send_text

log = structlog.get_logger(__name__)

# Clients ping every 25 s; silence for this long means the peer is gone.
IDLE_TIMEOUT_SECONDS: Final = 75.0
# A frame the client does not read within this long marks a slow consumer (it resumes with `after`).
SEND_TIMEOUT_SECONDS: Final = 10.0
# Pub/sub may drop a message (a Redis reconnect); a periodic read catches up regardless.
SAFETY_POLL_SECONDS: Final = 30.0


class ChatConnection:
    """One socket: the customer, their conversation, and the last `seq` sent to them."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, customer: ChatCustomer, locale: str) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.customer = customer
        self.locale = locale
        self.conversation_id: uuid.UUID | None = None
        self.sent_seq = 0
        # Set by a post: later posts go straight to this chat while it stays theirs and open.
        self.known_chat: KnownChat | None = None
        # The assignee's display name, looked up once per assignee rather than once per message.
        self._assignee: tuple[uuid.UUID, str | None] | None = None
        self.limiter = SlidingWindow(MESSAGES_PER_MINUTE, 60.0)
        self._topics_changed = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._last_state: tuple[str, str | None] | None = None
        self.diagnostics_sent = False
        # The chat whose bot handed over (it never speaks there again): no bot turn is read for it.
        self.bot_done_in: uuid.UUID | None = None
        self.pending_diagnostics: dict[str, Any] | None = None
        # The socket's task group (set by the route) and whether the event pump runs in it yet.
        self.tasks: asyncio.TaskGroup | None = None
        self._pumping = False

    def file_url(self, attachment_id: uuid.UUID) -> str:
        """A signed, day-long download link of a chat file (an <img> cannot send the visitor token)."""
        signature = sign_file_url(self.runtime.settings.secret_key.get_secret_value(), attachment_id)
        return f"{self.runtime.settings.base_url.rstrip('/')}/chat/files/{attachment_id}?sig={signature}"

    @property
    def bot_name(self) -> str:
        return "Kefu 助手" if self.locale == "zh-CN" else "Kefu Assistant"

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame; a client that does not take it in time is dropped as a slow consumer."""
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await send_text(self.websocket, json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
        except TimeoutError:
            raise Closed(CLOSE_SLOW) from None

    # --- reading the conversation -------------------------------------------------------------

    async def describe(self, session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
        """The `conversation` object; the assignee's name is read once per assignee."""
        return conversation_frame(conversation, await self._assignee_name(conversation.assignee_id, session))

    async def describe_parts(
        self, conversation_id: uuid.UUID, reference: str, status: str, assignee_id: uuid.UUID | None
    ) -> dict[str, Any]:
        """`describe` from the fields a statement returned (a session is opened only for a new name)."""
        name = await self._assignee_name(assignee_id, None)
        return conversation_fields(conversation_id, reference, status, name)

    async def _assignee_name(self, assignee: uuid.UUID | None, session: AsyncSession | None) -> str | None:
        if assignee is None:
            return None
        if self._assignee is None or self._assignee[0] != assignee:
            if session is None:
                async with transaction(self.runtime.sessionmaker, writes=False) as reading:
                    names = await agent_names(reading, {assignee})
            else:
                names = await agent_names(session, {assignee})
            self._assignee = (assignee, names.get(assignee))
        return self._assignee[1]

    async def acknowledge(self, ack: dict[str, Any], own: Message | None) -> bool:
        """Send the `ack` of a post, then the echo of `own` (the customer's new message, as stored).

        The echo comes from memory when `own` is the next message of the conversation after the last
        one sent. False when a read is still needed (messages in between, or no `own`): call `flush`.
        Under the flush lock, so the event of the same message finds it sent and reads nothing.
        """
        async with self._flush_lock:
            await self.send(ack)
            if own is None:
                return False
            if own.seq <= self.sent_seq:
                return True  # a flush sent it already; anything newer announces itself by an event
            if own.seq != self.sent_seq + 1:
                return False
            frame = message_frame(own, {}, bot_name=self.bot_name, file_url=self.file_url)
            await self.send({"type": "message", "message": frame})
            self.sent_seq = own.seq
            return True

    async def flush(self, *, unless_sent: int | None = None) -> None:
        """Send every customer-visible message after `sent_seq`, in order, once.

        `unless_sent`: the seq an event announced; nothing is read when it went out meanwhile (the
        event of the customer's own message usually arrives while its echo is being sent).
        """
        if self.conversation_id is None:
            return
        async with self._flush_lock:
            if unless_sent is not None and unless_sent <= self.sent_seq:
                return
            while True:
                async with transaction(self.runtime.sessionmaker, writes=False) as session:
                    page = await messages_after(session, self.conversation_id, self.sent_seq)
                    ids = {m.author_agent_id for m in page if m.author_agent_id is not None}
                    names = await agent_names(session, ids)
                frames = [
                    message_frame(m, names, bot_name=self.bot_name, file_url=self.file_url) for m in page
                ]
                for message, frame in zip(page, frames, strict=True):
                    await self.send({"type": "message", "message": frame})
                    self.sent_seq = message.seq
                if len(page) < REPLAY_PAGE:
                    return

    async def refresh_state(self, *, force: bool = False) -> None:
        """Send the conversation's status/agent when it changed, and the queue place while waiting."""
        if self.conversation_id is None:
            return
        async with transaction(self.runtime.sessionmaker, writes=False) as session:
            conversation = await session.get(Conversation, self.conversation_id)
            if conversation is None:
                return
            self._assignee = None  # a fresh name: it may have changed
            described = await self.describe(session, conversation)
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

    @property
    def waiting(self) -> bool:
        """Whether the chat waits for an agent (as last told to the client)."""
        return (
            self._last_state is not None
            and self._last_state[1] is None
            and self._last_state[0]
            in (
                "new",
                "open",
            )
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

    def follow(self) -> None:
        """Follow the events of the socket's conversation (now set, or changed): a running pump
        subscribes again, else the pump starts. Most idle sockets (a page view with the launcher
        closed) never open a chat, and then run no task besides the socket's own."""
        self._topics_changed.set()
        if self._pumping or self.tasks is None or self.conversation_id is None:
            return
        self._pumping = True
        self.tasks.create_task(self.pump())

    async def pump(self) -> None:
        """Follow the conversation's events (resubscribing when the chat is opened) and poll now and then."""
        while True:
            self._topics_changed.clear()
            topics = self.topics()
            if not topics:
                await self._wait_for(self._topics_changed.wait(), SAFETY_POLL_SECONDS)
                continue
            try:
                async with self.runtime.bus.subscribe(topics, hold=self._needless) as events:
                    # Subscribed first, read second: nothing committed in between is missed.
                    await self.flush()
                    await self._follow(events)
            except SubscriptionLost:
                continue  # subscribe again: the database read after it catches up on what was missed

    def _needless(self, event: Event, _nothing_queued: bool) -> bool:
        """Taken as it is published, without waking the pump: an announcement `on_event` would do
        nothing for (a note, or a message this socket sent already, such as the customer's own)."""
        if event.name != EventName.MESSAGE_CREATED:
            return False
        seq = event.payload.get("seq")
        return event.payload.get("kind") != "reply" or (isinstance(seq, int) and seq <= self.sent_seq)

    async def _wait_for(self, awaitable: Any, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await awaitable

    async def _follow(self, events: AsyncIterator[Event]) -> None:
        changed = asyncio.ensure_future(self._topics_changed.wait())
        following: asyncio.Future[Event] | None = None
        try:
            while True:
                if following is None:
                    following = asyncio.ensure_future(anext(events))
                waiters: set[asyncio.Future[Any]] = {following, changed}
                # Spread out: chats opened together must not all poll in the same instant.
                poll = SAFETY_POLL_SECONDS * random.uniform(0.75, 1.25)
                done, _ = await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                if changed in done:
                    return
                if following not in done:
                    await self.flush()
                    if self.waiting:
                        await self.refresh_state()  # the queue moves without events of this chat
                    continue
                event = following.result()
                following = None
                await self.on_event(event)
        finally:
            # The pending read must finish before the subscription closes its generator.
            await cancel_waiters(changed, following)

    async def on_event(self, event: Event) -> None:
        """Turn a bus event into the frames the customer may see (never notes or internal facts)."""
        if event.name == EventName.MESSAGE_CREATED:
            seq = event.payload.get("seq")
            # Each reply is announced on two topics, and notes never reach the customer: read the
            # database only for a reply this socket has not sent yet.
            if event.payload.get("kind") == "reply" and (not isinstance(seq, int) or seq > self.sent_seq):
                await self.flush(unless_sent=seq if isinstance(seq, int) else None)
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
                raise Closed(CLOSE_SLOW) from None
            try:
                await handle(self, raw)
            except ProtocolError as exc:
                frame: dict[str, Any] = {"type": "error", "code": exc.code, "message": str(exc)}
                if exc.client_id:
                    frame["client_id"] = exc.client_id
                if exc.retry_after_ms is not None:
                    frame["retry_after_ms"] = exc.retry_after_ms
                await self.send(frame)
                if exc.code == "too_large":
                    raise Closed(CLOSE_PROTOCOL) from None
            except (Closed, WebSocketDisconnect):
                raise
            except Exception:
                # A bug or a database outage: the client reconnects and resends what was not acked.
                log.exception("chat_frame_failed", visitor=self.customer.visitor_id.hex)
                await self.send({"type": "error", "code": "internal", "message": "please reconnect"})
                raise Closed(CLOSE_INTERNAL) from None
