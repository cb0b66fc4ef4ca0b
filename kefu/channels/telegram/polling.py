"""Long polling (getUpdates) for Telegram inboxes whose config says `{"mode": "polling"}`.

For deployments Telegram cannot reach. Run it in ONE process only (the worker): Telegram answers 409
when two getUpdates overlap for a bot. The offset lives in memory: an update is confirmed only by the
next call after it was handled, so after a crash Telegram hands the unconfirmed ones out again and
`do_ingest` drops the repeats. An update that cannot be handled for now (a file not fetched) stops the
batch and is tried again; a malformed one is audited and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.adapter import ChannelAdapter, ChannelInbox
from kefu.channels.credentials import channel_inbox
from kefu.channels.telegram.adapter import ALLOWED_UPDATES, TelegramAdapter, inbox_mode
from kefu.channels.telegram.api import TelegramError
from kefu.channels.telegram.receive import Received, do_receive_update, record_rejected
from kefu.channels.telegram.updates import MalformedUpdate
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.jobs.registry import RetryAfter
from kefu.storage.base import BlobStore
from kefu.storage.envelope import DecryptionFailed, Keyring

log = structlog.get_logger(__name__)

POLL_TIMEOUT_SECONDS: Final = 25
REFRESH_SECONDS: Final = 60.0
BACKOFF_INITIAL_SECONDS: Final = 1.0
BACKOFF_CAP_SECONDS: Final = 300.0


@dataclass
class PollResult:
    """One getUpdates round: the offset to ask with next, and what became of each update."""

    offset: int | None
    received: list[Received] = field(default_factory=list)
    # Set when an update could not be handled for now: the offset stays before it, to be tried again.
    deferred: str | None = None


async def poll_once(
    adapter: TelegramAdapter,
    inbox: ChannelInbox,
    *,
    offset: int | None,
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    poll_seconds: int = 0,
) -> PollResult:
    """Fetch and handle one batch (`poll_seconds` 0: answer at once). TelegramError or RetryAfter when
    getUpdates itself failed; a transient failure on one update ends the batch before it (`deferred`)."""
    updates = await adapter.api.get_updates(
        adapter.token(inbox), offset=offset, poll_seconds=poll_seconds, allowed_updates=ALLOWED_UPDATES
    )
    result = PollResult(offset)
    for update in updates:
        update_id = _update_id(update)
        if update_id is None:
            await record_rejected(sessionmaker, inbox.id, "update without an update_id")
            continue
        try:
            result.received.append(
                await do_receive_update(adapter, inbox, update, sessionmaker=sessionmaker, blobs=blobs)
            )
        except MalformedUpdate as exc:
            await record_rejected(sessionmaker, inbox.id, str(exc))
        except InvalidInput as exc:
            await record_rejected(sessionmaker, inbox.id, exc.message)
        except (TelegramError, RetryAfter) as exc:
            log.warning("telegram_update_deferred", inbox_id=str(inbox.id), error=type(exc).__name__)
            result.deferred = type(exc).__name__
            break
        result.offset = update_id + 1 if result.offset is None else max(result.offset, update_id + 1)
    return result


def _update_id(update: Any) -> int | None:
    value = update.get("update_id") if isinstance(update, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


async def poll_inbox(
    adapter: TelegramAdapter,
    inbox: ChannelInbox,
    stop: asyncio.Event,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    poll_seconds: int = POLL_TIMEOUT_SECONDS,
) -> None:
    """Poll one inbox until `stop` is set, backing off (capped, doubling) after failures."""
    offset: int | None = None
    backoff = BACKOFF_INITIAL_SECONDS
    while not stop.is_set():
        try:
            result = await poll_once(
                adapter,
                inbox,
                offset=offset,
                sessionmaker=sessionmaker,
                blobs=blobs,
                poll_seconds=poll_seconds,
            )
            offset = result.offset
            if result.deferred is None:
                backoff = BACKOFF_INITIAL_SECONDS
                continue
            delay, backoff = backoff, min(backoff * 2, BACKOFF_CAP_SECONDS)
        except RetryAfter as wait:
            delay = wait.seconds
        except TelegramError as exc:
            # 409: a webhook is set or another process polls this bot; 401: the token was revoked.
            log.warning("telegram_poll_failed", inbox_id=str(inbox.id), error=str(exc)[:200])
            delay, backoff = backoff, min(backoff * 2, BACKOFF_CAP_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not end polling for good
            log.error("telegram_poll_crashed", inbox_id=str(inbox.id), error=type(exc).__name__)
            delay, backoff = backoff, min(backoff * 2, BACKOFF_CAP_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


async def polling_inboxes(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring
) -> list[ChannelInbox]:
    """Active Telegram inboxes in polling mode, credentials opened (unreadable ones are skipped)."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Inbox).where(Inbox.channel == ChannelKind.TELEGRAM, Inbox.is_active.is_(True))
        )
        found = []
        for inbox in rows:
            try:
                opened = channel_inbox(keyring, inbox)
            except DecryptionFailed:
                log.error("telegram_inbox_secrets_unreadable", inbox_id=str(inbox.id))
                continue
            if inbox_mode(opened) == "polling" and opened.secrets.get("bot_token"):
                found.append(opened)
        return found


def _fingerprint(inbox: ChannelInbox) -> tuple[str, str]:
    return (repr(sorted(inbox.config.items())), inbox.secrets.get("bot_token", ""))


async def run_polling(
    adapter: ChannelAdapter | None,
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    keyring: Keyring,
    stop: asyncio.Event,
    *,
    refresh_seconds: float = REFRESH_SECONDS,
    poll_seconds: int = POLL_TIMEOUT_SECONDS,
) -> None:
    """Poll every polling-mode inbox until `stop` is set; inboxes added, changed or switched to
    webhooks are picked up every `refresh_seconds`. Returns at once without a TelegramAdapter."""
    if not isinstance(adapter, TelegramAdapter):
        return
    tasks: dict[str, tuple[tuple[str, str], asyncio.Task[None]]] = {}
    try:
        while not stop.is_set():
            try:
                inboxes = await polling_inboxes(sessionmaker, keyring)
            except Exception as exc:  # noqa: BLE001 - keep the pollers running; look again later
                log.error("telegram_polling_refresh_failed", error=type(exc).__name__)
                inboxes = None
            if inboxes is not None:
                _reconcile(tasks, inboxes, adapter, stop, sessionmaker, blobs, poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=refresh_seconds)
    finally:
        await _cancel([task for _, task in tasks.values()])


def _reconcile(
    tasks: dict[str, tuple[tuple[str, str], asyncio.Task[None]]],
    inboxes: Sequence[ChannelInbox],
    adapter: TelegramAdapter,
    stop: asyncio.Event,
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    poll_seconds: int,
) -> None:
    wanted = {str(inbox.id): inbox for inbox in inboxes}
    for key in list(tasks):
        fingerprint, task = tasks[key]
        inbox = wanted.get(key)
        if inbox is None or fingerprint != _fingerprint(inbox) or task.done():
            task.cancel()
            del tasks[key]
    for key, inbox in wanted.items():
        if key not in tasks:
            coroutine = poll_inbox(
                adapter, inbox, stop, sessionmaker=sessionmaker, blobs=blobs, poll_seconds=poll_seconds
            )
            tasks[key] = (_fingerprint(inbox), asyncio.create_task(coroutine, name=f"kefu-telegram-{key}"))


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
