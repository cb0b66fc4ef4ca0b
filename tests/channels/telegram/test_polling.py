"""Long polling against the stand-in: offsets confirm handled updates, a failed file holds the batch,
a bad update is audited and skipped, and the runner follows inboxes in and out of polling mode."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditEvent
from kefu.channels.credentials import channel_inbox
from kefu.channels.memory import MemoryAdapter
from kefu.channels.telegram.adapter import TelegramAdapter
from kefu.channels.telegram.api import TelegramError
from kefu.channels.telegram.polling import poll_once, polling_inboxes, run_polling
from kefu.conversations.models import Message
from kefu.inboxes.models import ChannelKind
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.channels.telegram.conftest import telegram_inbox
from tests.channels.telegram.payloads import photo_update, png, start_update, text_update
from tests.channels.telegram.standin import StandIn

POLLING: dict[str, object] = {"mode": "polling"}


async def bodies(runtime: Runtime) -> list[str]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(Message.body).order_by(Message.created_at, Message.seq)))


async def test_poll_once_handles_a_batch_and_confirms_it(
    runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = channel_inbox(
        keyring_from_settings(runtime.settings), await telegram_inbox(runtime, config=POLLING)
    )
    standin.updates = [
        text_update(10, "first"),
        start_update(11),
        {"update_id": 12, "message": "not a message"},
        {"no": "update_id"},
        text_update(13, "second"),
    ]
    result = await poll_once(
        adapter, inbox, offset=None, sessionmaker=runtime.sessionmaker, blobs=runtime.blobs
    )
    assert result.offset == 14
    assert result.deferred is None
    assert [r.outcome for r in result.received] == ["stored", "greeted", "stored"]
    assert await bodies(runtime) == ["first", "second"]
    async with runtime.sessionmaker() as session:
        rejected = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "channel.webhook_rejected")
        )
    assert rejected == 2
    [call] = [c for c in standin.calls if c.method == "getUpdates"]
    assert call.params == {"timeout": 0, "limit": 100, "allowed_updates": ["message"]}
    # The next poll confirms the batch; nothing is handed out twice.
    again = await poll_once(adapter, inbox, offset=14, sessionmaker=runtime.sessionmaker, blobs=runtime.blobs)
    assert (again.offset, again.received, standin.updates) == (14, [], [])


async def test_a_file_not_fetched_holds_the_batch_before_it(
    runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = channel_inbox(
        keyring_from_settings(runtime.settings), await telegram_inbox(runtime, config=POLLING)
    )
    standin.updates = [text_update(20, "before"), photo_update(21), text_update(22, "after")]
    for _ in range(3):
        standin.fail("getFile", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    first = await poll_once(
        adapter, inbox, offset=None, sessionmaker=runtime.sessionmaker, blobs=runtime.blobs
    )
    assert (first.offset, first.deferred) == (21, "TelegramError")
    assert await bodies(runtime) == ["before"]
    standin.add_file("AgAClarge", "photos/file_9.jpg", png())
    second = await poll_once(
        adapter, inbox, offset=21, sessionmaker=runtime.sessionmaker, blobs=runtime.blobs
    )
    assert (second.offset, second.deferred) == (23, None)
    assert await bodies(runtime) == ["before", "充值截图", "after"]


async def test_polling_while_a_webhook_is_set_is_refused(
    runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    inbox = channel_inbox(
        keyring_from_settings(runtime.settings), await telegram_inbox(runtime, config=POLLING)
    )
    standin.webhook = {"url": "https://elsewhere.example/hook"}
    with pytest.raises(TelegramError) as conflict:
        await poll_once(adapter, inbox, offset=None, sessionmaker=runtime.sessionmaker, blobs=runtime.blobs)
    assert conflict.value.error_code == 409
    # Configuring the inbox for polling removes the webhook.
    await adapter.configure(inbox)
    assert standin.webhook is None


async def test_the_runner_polls_polling_inboxes_until_stopped(
    runtime: Runtime, adapter: TelegramAdapter, standin: StandIn
) -> None:
    await telegram_inbox(runtime, config=POLLING)
    await telegram_inbox(runtime)  # webhook mode: not polled
    await telegram_inbox(runtime, config=POLLING, active=False)
    keyring = keyring_from_settings(runtime.settings)
    assert len(await polling_inboxes(runtime.sessionmaker, keyring)) == 1
    standin.updates = [text_update(30, "polled in")]
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_polling(
            adapter, runtime.sessionmaker, runtime.blobs, keyring, stop, refresh_seconds=0.2, poll_seconds=0
        )
    )
    async with asyncio.timeout(10):
        while await bodies(runtime) != ["polled in"]:  # noqa: ASYNC110 - the database is what changes
            await asyncio.sleep(0.05)
    stop.set()
    async with asyncio.timeout(10):
        await task
    assert await bodies(runtime) == ["polled in"]


async def test_the_runner_needs_the_telegram_adapter(runtime: Runtime) -> None:
    stop = asyncio.Event()
    keyring = keyring_from_settings(runtime.settings)
    memory = MemoryAdapter(ChannelKind.TELEGRAM)
    async with asyncio.timeout(2):  # returns at once instead of polling with a stand-in adapter
        await run_polling(memory, runtime.sessionmaker, runtime.blobs, keyring, stop)
        await run_polling(None, runtime.sessionmaker, runtime.blobs, keyring, stop)
