"""The console's WebSocket: live events for one signed-in agent, resumable after a reconnect.

Protocol (JSON text frames; docs/console-realtime.md):
  client → {"type": "hello", "after": <position|null>, "watch": [conversation ids]}   first, once
           {"type": "watch", "conversations": [ids]}          replace the watched conversations
           {"type": "activity", "conversation_id": id, "state": "viewing"|"typing"|"idle"}
           {"type": "ping"}
  server → {"type": "ready", "position": p}   then {"type": "event", "event": {...}} in log order
           {"type": "resync", "position": p}  the client missed too much: reload, then continue
           {"type": "watching", "conversations": [ids]}   answers a watch frame
           {"type": "pong"} · {"type": "error", "code": ..., "message": ...}

Only the console's own pages may connect (Origin check: a foreign page cannot ride the cookie), and
only a fully signed-in agent. Every event is filtered by what the agent may see; a watched
conversation is gated like any read. The session is re-checked on every heartbeat and closed the
moment it is revoked (sign-out, password or 2FA change elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from fastapi import WebSocket
from pydantic import ValidationError

from kefu.auth.actors import AgentActor
from kefu.auth.sessions import resolve_session
from kefu.conversations.access import (
    access_conversation_by_id,
    can_see_conversation_facts,
    list_private_team_ids,
)
from kefu.conversations.recipients import MESSAGES_TOPIC, conversation_payload, staff_topic
from kefu.core.errors import NotFound
from kefu.core.tasks import cancel_waiters
from kefu.db.uow import transaction
from kefu.events.bus import ResyncRequired
from kefu.events.log import Position, parse_position
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.base import SubscriptionLost
from kefu.routing.presence import do_connection_heartbeat, do_connection_opened
from kefu.runtime import Runtime
from kefu.web.ws.closing import send_text
from kefu.web.ws.console_protocol import (
    CLOSE_PROTOCOL,
    MAX_FRAME_BYTES,
    Activity,
    Closed,
    ProtocolError,
    Revoked,
    Watch,
)
from kefu.web.ws.event_frames import LIST_EVENTS, event_frame, later_than
from kefu.web.ws.inbox_feed import InboxFeed, inbox_feed

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS: Final = 30.0
NODE: Final = socket.gethostname()[:60]
# A new message in a conversation this socket does not watch only tells the console to refresh its
# lists: such events go out at most once per this many seconds per socket, the latest one standing for
# those it replaces (docs/console.md). Watched conversations still get every event at once.
INBOX_HINT_SECONDS: Final = 1.0


@dataclass(eq=False)  # one socket is one object: the inbox feed keeps sockets in sets
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
    # The latest held-back list hint (set when one arrives), when the socket last got a frame that
    # refreshes lists, and the log position of the last frame sent.
    _hint: Event | None = field(default=None, init=False, repr=False)
    _hinted: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _listed_at: float = field(default=float("-inf"), init=False, repr=False)
    _sent: Position = field(default=(0, 0), init=False, repr=False)
    _watched_ids: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    # Every event of a conversation is visible or not by its (team, assignee): decided once per pair
    # until the session is re-checked.
    _visibility: dict[tuple[object, object], bool] = field(default_factory=dict, init=False, repr=False)

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
        team, assignee = payload.get("team_id"), payload.get("assignee_id")
        if not (team is None or isinstance(team, str)) or not (assignee is None or isinstance(assignee, str)):
            return False  # not what conversation payloads carry
        key = (team, assignee)
        seen = self._visibility.get(key)
        if seen is None:
            seen = self._visibility[key] = self._may_see(*key)
        return seen

    def _may_see(self, team_id: object, assignee_id: object) -> bool:
        try:
            team = uuid.UUID(str(team_id)) if team_id else None
            assignee = uuid.UUID(str(assignee_id)) if assignee_id else None
        except (TypeError, ValueError):
            return False
        return can_see_conversation_facts(
            self.actor, team_id=team, assignee_id=assignee, private_team_ids=self.private_team_ids
        )

    @property
    def _feed(self) -> InboxFeed:
        return inbox_feed(self.runtime.bus)

    async def pump(self) -> None:
        """Forward events until the watched set changes, then resubscribe from where we were."""
        await self._feed.attach(self)
        # Live list hints come from the feed; on the first subscription (a reconnect's `after`) the
        # messages missed meanwhile are replayed with this socket's own events, coalesced the same way.
        replay_also: tuple[str, ...] = (MESSAGES_TOPIC,)
        try:
            while True:
                self.topics_changed.clear()
                try:
                    async with self.runtime.bus.subscribe(
                        self.topics(), after=self.position, replay_also=replay_also
                    ) as events:
                        replay_also = ()
                        await self._forward(events)
                except ResyncRequired:
                    self._clear_hint()  # the client reloads its lists
                    self.position = await self.runtime.bus.head()
                    await self.send({"type": "resync", "position": self.position})
                except SubscriptionLost as exc:
                    # Too far behind (or Redis reconnected): subscribe again from our position; the
                    # event log replays what this socket missed, or asks the client to reload.
                    log.info("console_subscription_lost", agent_id=str(self.actor.agent_id), error=str(exc))
        finally:
            await self._feed.detach(self)

    def _is_hint(self, event: Event) -> bool:
        return (
            event.name == EventName.MESSAGE_CREATED
            and event.position is not None
            and event.payload.get("conversation_id") not in self._watched_ids
        )

    def wants_hint(self, event: Event) -> bool:
        """For the inbox feed: a message this agent may see, of a conversation the socket does not watch."""
        return event.payload.get("conversation_id") not in self._watched_ids and self.visible(event)

    def hint_arrived(self, event: Event) -> None:
        """For the inbox feed: keep `event` as the list hint to send (the later one stands)."""
        held = self._hint
        if held is None or later_than(event, held):
            self._hint = event
        if held is None:
            self._hinted.set()

    def _clear_hint(self) -> None:
        self._hint = None
        self._feed.idle(self)

    async def _forward(self, events: AsyncIterator[Event]) -> None:
        changed = asyncio.ensure_future(self.topics_changed.wait())
        following: asyncio.Future[Event] | None = None
        hinted: asyncio.Future[Any] | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                if following is None:
                    following = asyncio.ensure_future(anext(events))
                waiters: set[asyncio.Future[Any]] = {following, changed}
                due = None
                if self._hint is None:
                    if hinted is None:
                        self._hinted.clear()
                        hinted = asyncio.ensure_future(self._hinted.wait())
                    waiters.add(hinted)
                else:
                    due = max(0.0, self._listed_at + INBOX_HINT_SECONDS - loop.time())
                done, _ = await asyncio.wait(waiters, timeout=due, return_when=asyncio.FIRST_COMPLETED)
                if changed in done:
                    return
                if hinted is not None and hinted in done:
                    hinted = None
                if following in done:
                    event = following.result()
                    following = None
                    await self._take(event)
                if self._hint is not None and loop.time() - self._listed_at >= INBOX_HINT_SECONDS:
                    await self._send_hint()
        finally:
            # The pending read must finish before the subscription closes its generator.
            await cancel_waiters(changed, following, hinted)

    async def _take(self, event: Event) -> None:
        if event.name == EventName.AGENT_SESSIONS_REVOKED:
            if self.actor.session_id in event.payload.get("session_ids", []):
                raise Revoked
            return
        if event.position is not None:
            self.position = event.position
        if self.visible(event):
            await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        """Send `event` now, or keep it as the socket's list hint (INBOX_HINT_SECONDS).

        Live hints come from the inbox feed (`hint_arrived`); ones from this socket's own topics
        (a conversation no longer watched) arrive here.
        """
        now = asyncio.get_running_loop().time()
        position = parse_position(event.position) if event.position is not None else None
        if self._is_hint(event):
            if self._hint is None and now - self._listed_at >= INBOX_HINT_SECONDS:
                self._listed_at = now
                await self._send_event(event)
            elif self._hint is None or later_than(event, self._hint):
                self._hint = event  # stands for the ones before it
            return
        if self._hint is not None and position is not None and later_than(event, self._hint):
            if event.name in LIST_EVENTS:
                self._clear_hint()  # this later event refreshes the lists too
            else:
                await self._send_hint()  # first: positions reach the client in order
        if event.name in LIST_EVENTS:
            self._listed_at = now
        await self._send_event(event)

    async def _send_hint(self) -> None:
        hint = self._hint
        # The feed woke this socket with the first message since its last hint; the latest stands.
        latest = self._feed.latest_for(self, self._sent)
        if latest is not None and (hint is None or later_than(latest, hint)):
            hint = latest
        self._clear_hint()
        self._listed_at = asyncio.get_running_loop().time()
        # Not when a later frame went out meanwhile: it refreshed the lists already.
        if hint is not None and hint.position is not None and parse_position(hint.position) > self._sent:
            await self._send_event(hint)

    async def _send_event(self, event: Event) -> None:
        if event.position is not None:
            self._sent = max(self._sent, parse_position(event.position))
        await send_text(self.websocket, event_frame(event))

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
                await self.watch(Watch.model_validate(frame).conversations)
            elif kind == "activity":
                await self.activity(Activity.model_validate(frame))
            else:
                raise ProtocolError("unknown_type", "unknown frame type")
        except ValidationError as exc:
            raise ProtocolError("invalid", f"invalid {kind} frame: {exc.error_count()} error(s)") from None

    async def watch(self, conversation_ids: list[uuid.UUID], *, answer: bool = True) -> None:
        """Watch exactly these conversations (each gated like a read; unknown ones are refused).

        `answer`: confirm with a `watching` frame (a `watch` frame is; the hello's list is not, `ready`
        follows it).
        """
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
            self._watched_ids = frozenset(str(c) for c in allowed)
            self.topics_changed.set()
        if answer:
            # From here on every message of these conversations arrives in full (not as a list hint):
            # a client reads a newly watched timeline after this, so nothing falls between the two.
            await self.send({"type": "watching", "conversations": sorted(str(c) for c in allowed)})

    async def activity(self, frame: Activity) -> None:
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
                    raise Revoked
                self.actor = actor
                self.private_team_ids = await list_private_team_ids(session)
                self._visibility = {}
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
                    raise Closed(CLOSE_PROTOCOL) from None
