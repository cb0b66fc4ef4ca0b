"""The process's list-hint feed: hears each message once, wakes only idle sockets, and gives a woken
socket the latest message it may see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from kefu.conversations.recipients import MESSAGES_TOPIC
from kefu.events.bus import EventBus
from kefu.events.log import parse_position
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.memory import MemoryPubSub
from kefu.web.ws.inbox_feed import InboxFeed, inbox_feed


@dataclass(eq=False)
class Socket:
    """A console socket that sees one team's conversations and watches some."""

    team: str
    watched: set[str] = field(default_factory=set)
    arrived: list[Event] = field(default_factory=list)
    asked: int = 0

    def wants_hint(self, event: Event) -> bool:
        self.asked += 1
        return (
            event.payload.get("team_id") == self.team and event.payload["conversation_id"] not in self.watched
        )

    def hint_arrived(self, event: Event) -> None:
        self.arrived.append(event)


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    pubsub = MemoryPubSub()
    yield EventBus(pubsub)
    await pubsub.close()


async def _message(bus: EventBus, conversation: str, team: str, n: int = 0) -> None:
    await bus.publish(
        Event(
            name=EventName.MESSAGE_CREATED,
            topics=(f"conversation:{conversation}", MESSAGES_TOPIC),
            payload={"conversation_id": conversation, "team_id": team, "assignee_id": None, "seq": n},
        )
    )


async def test_an_idle_socket_is_woken_once_by_the_first_message_it_may_see(bus: EventBus) -> None:
    feed = inbox_feed(bus)
    assert inbox_feed(bus) is feed
    sales, support = Socket("sales"), Socket("support", watched={"c-watched"})
    await feed.attach(sales)
    await feed.attach(support)
    await _message(bus, "c-watched", "support", 1)  # watched: not a hint for support
    await _message(bus, "c-1", "sales", 1)
    await _message(bus, "c-2", "support", 1)
    await _message(bus, "c-2", "support", 2)
    await bus.publish(Event(name=EventName.CONVERSATION_UPDATED, topics=(MESSAGES_TOPIC,), payload={}))
    assert [e.payload["conversation_id"] for e in sales.arrived] == ["c-1"]
    assert [(e.payload["conversation_id"], e.payload["seq"]) for e in support.arrived] == [("c-2", 1)]
    # Woken once: the later message is not offered, but is what the socket sends when its time comes.
    latest = feed.latest_for(support, (0, 0))
    assert latest is not None
    assert latest.payload["seq"] == 2
    assert latest.position is not None
    assert feed.latest_for(support, parse_position(latest.position)) is None
    feed.idle(support)
    await _message(bus, "c-3", "support", 1)
    assert [e.payload["conversation_id"] for e in support.arrived] == ["c-2", "c-3"]
    await feed.detach(sales)
    await feed.detach(support)


async def test_busy_sockets_cost_nothing_per_message(bus: EventBus) -> None:
    feed = InboxFeed(bus)
    sockets = [Socket("support") for _ in range(100)]
    for socket in sockets:
        await feed.attach(socket)
    await _message(bus, "c-1", "support")  # every socket is woken, and is busy until it sent its hint
    asked = sum(s.asked for s in sockets)
    for n in range(50):
        await _message(bus, f"c-{n}", "support", n)
    assert sum(s.asked for s in sockets) == asked
    assert all(len(s.arrived) == 1 for s in sockets)
    for socket in sockets:
        await feed.detach(socket)


async def test_the_feed_unsubscribes_when_the_last_socket_leaves_and_comes_back(bus: EventBus) -> None:
    feed = InboxFeed(bus)
    socket = Socket("support")
    await feed.attach(socket)
    await feed.detach(socket)
    await _message(bus, "c-1", "support")  # nobody listens: not remembered either
    assert feed.latest_for(socket, (0, 0)) is None
    await feed.attach(socket)
    await _message(bus, "c-2", "support")
    assert [e.payload["conversation_id"] for e in socket.arrived] == ["c-2"]
    await feed.detach(socket)
