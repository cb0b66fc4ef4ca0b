"""Two Kefu nodes sharing PostgreSQL/SQLite and Redis: events cross nodes, and a client that reconnects
to the other node resumes from its position with nothing missed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from kefu.events.bus import EventBus, install_bus
from kefu.events.log import RedisEventLog
from kefu.integrations.exchange.demo import DemoExchange
from kefu.pubsub.redis import RedisPubSub
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.storage.local import LocalBlobStore
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.ws.conftest import Live, serving, sign_in
from tests.web.ws.test_console_socket import create, hello, next_event, open_socket

pytestmark = pytest.mark.redis


@pytest.fixture
async def nodes(db: Database, settings: Settings, redis_url: str) -> AsyncIterator[tuple[Live, Live]]:
    """Nodes A and B: each with its own Redis connections, one shared channel prefix and event log."""
    prefix = f"kefu-test-{uuid.uuid4().hex}:"
    async with AsyncExitStack() as stack:
        lives = []
        buses = []
        for _ in range(2):
            log = RedisEventLog(redis_url, key=prefix + "log")
            pubsub = RedisPubSub(redis_url)
            bus = EventBus(pubsub, channel_prefix=prefix, log=log)
            stack.push_async_callback(log.close)
            stack.push_async_callback(pubsub.close)
            runtime = Runtime(
                settings=settings,
                engine=db.engine,
                sessionmaker=db.sessionmaker,
                blobs=LocalBlobStore(settings.blob_dir),
                pubsub=pubsub,
                bus=bus,
                exchange=DemoExchange(),
            )
            buses.append(bus)
            lives.append(await stack.enter_async_context(serving(runtime)))
        # Both nodes run in this process, so one of them is "the" bus that emit_on_commit uses.
        previous = install_bus(buses[1])
        stack.callback(install_bus, previous)
        yield lives[0], lives[1]


async def test_events_cross_nodes_and_resume_on_another_node(nodes: tuple[Live, Live], db: Database) -> None:
    node_a, node_b = nodes
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    cookie, _ = await sign_in(node_a, li.email)
    async with await open_socket(node_a, cookie) as socket:
        await hello(socket)
        created = await create(node_b, li.token, subject="made on node B")
        event = await next_event(socket, "conversation.created")
        assert event["payload"]["conversation_id"] == created["id"]
        position = event["position"]
    missed = [await create(node_a, li.token, subject=f"while away {n}") for n in range(2)]
    async with await open_socket(node_b, cookie) as socket:
        await hello(socket, after=position)
        replayed = [await next_event(socket, "conversation.created") for _ in missed]
        assert [e["payload"]["conversation_id"] for e in replayed] == [c["id"] for c in missed]
        # And live again, from the other node.
        later = await create(node_a, li.token, subject="after the reconnect")
        assert (await next_event(socket, "conversation.created"))["payload"]["conversation_id"] == later["id"]
        await socket.send(json.dumps({"type": "ping"}))
