"""Fetch support mail from mailboxes on an existing IMAP server and store it with `accept_inbound`.

One poller per configured mailbox, each with its own connection and its own worker thread (imaplib
blocks; a private thread also keeps a 29-minute IDLE from starving `asyncio.to_thread`'s shared pool,
which the blob store uses). A message is fetched with BODY.PEEK[] (nothing is marked by reading it),
stored, and only after `accept_inbound` returned is it marked \\Seen, moved or deleted, so a crash or a
storage failure leaves it waiting on the server for the next poll. Storing is idempotent on the bytes,
which also covers a changed UIDVALIDITY and the same message delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.mail.imap_client import TOO_LARGE_KEYWORD, ImapSession
from kefu.mail.imap_config import ImapMailbox
from kefu.mail.models import InboundSource
from kefu.mail.receive import Envelope, accept_inbound
from kefu.settings import Settings
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)
T = TypeVar("T")

# RFC 2177: re-issue IDLE at least every 29 minutes, or the server may log us out.
IDLE_RENEW_SECONDS: Final = 29 * 60
BACKOFF_INITIAL_SECONDS: Final = 1.0
BACKOFF_CAP_SECONDS: Final = 300.0


class _Stopped(Exception):
    """The stop event fired while a blocking IMAP call was still running."""


@dataclass
class PollResult:
    """What one poll did; `more` means the batch was full and more mail is waiting."""

    stored: int = 0
    duplicates: int = 0
    too_large: int = 0
    more: bool = False

    def add(self, other: PollResult) -> None:
        """Accumulate `other` (several batches of one `--once` run)."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.too_large += other.too_large
        self.more = other.more


def _describe(exc: BaseException) -> str:
    # Server replies and socket errors only: the password is never part of an imaplib exception.
    return f"{type(exc).__name__}: {exc}"[:300]


class ImapPoller:
    """Polls one `ImapMailbox`; `run(stop)` loops until `stop` is set, `poll_once()` does one batch."""

    def __init__(
        self,
        box: ImapMailbox,
        sessionmaker: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        *,
        max_bytes: int,
        idle_seconds: float = IDLE_RENEW_SECONDS,
        backoff_initial: float = BACKOFF_INITIAL_SECONDS,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.box = box
        self._sessionmaker = sessionmaker
        self._blobs = blobs
        self._max_bytes = max_bytes
        self._idle_seconds = min(idle_seconds, IDLE_RENEW_SECONDS)
        self._backoff_initial = backoff_initial
        self._backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-imap")
        self._session: ImapSession | None = None
        self._stop: asyncio.Event | None = None
        self.uidvalidity: int | None = None
        # Too-large messages on a server that refuses our keyword: skipped for this UIDVALIDITY.
        self._skipped: set[int] = set()

    # --- one poll ----------------------------------------------------------------------------------

    async def poll_once(self) -> PollResult:
        """Connect if needed, store up to `batch_size` waiting messages and flag each after storing.

        Raises on any IMAP, network or storage failure; a message whose storage failed is left as it
        was on the server.
        """
        session = await self._connected()
        validity = await self._call(session.open_folder, self.box.folder)
        if self.uidvalidity is not None and validity != self.uidvalidity:
            # Old UIDs mean nothing now; messages seen again are recognised by their bytes.
            log.warning(
                "imap_uidvalidity_changed", mailbox=self.box.label, old=self.uidvalidity, new=validity
            )
            self._skipped.clear()
        self.uidvalidity = validity
        criteria = ["UNDELETED", "UNKEYWORD", TOO_LARGE_KEYWORD]
        if self.box.after == "seen":
            criteria.insert(0, "UNSEEN")
        found = [uid for uid in await self._call(session.find_uids, *criteria) if uid not in self._skipped]
        batch = found[: self.box.batch_size]
        result = PollResult(more=len(found) > len(batch))
        if not batch:
            return result
        sizes = await self._call(session.sizes, batch)
        for uid in batch:
            if self._stop is not None and self._stop.is_set():
                result.more = True
                break
            if uid in sizes:
                await self._take(session, uid, sizes[uid], result)
        return result

    async def _take(self, session: ImapSession, uid: int, size: int, result: PollResult) -> None:
        if size > self._max_bytes:
            await self._leave_too_large(session, uid, size)
            result.too_large += 1
            return
        raw = await self._call(session.fetch_raw, uid, self._max_bytes)
        if raw is None:  # expunged by someone else meanwhile
            log.info("imap_message_gone", mailbox=self.box.label, uid=uid)
            return
        if len(raw) > self._max_bytes:  # the server understated RFC822.SIZE
            await self._leave_too_large(session, uid, len(raw))
            result.too_large += 1
            return
        envelope = Envelope(mailbox=self.box.address, source=InboundSource.IMAP)
        try:
            inbound_id, new = await accept_inbound(self._sessionmaker, self._blobs, raw, envelope)
        except Exception as exc:
            log.warning("imap_store_failed", mailbox=self.box.label, uid=uid, error=_describe(exc))
            raise
        # Stored and committed: now, and only now, the server may forget about it.
        await self._call(self._mark_done, session, uid)
        if new:
            result.stored += 1
        else:
            result.duplicates += 1
        log.info(
            "imap_message_stored",
            mailbox=self.box.label,
            uid=uid,
            inbound_id=str(inbound_id),
            new=new,
            after=self.box.after,
        )

    def _mark_done(self, session: ImapSession, uid: int) -> None:
        target = self.box.move_to
        if target is not None:
            session.move(uid, target)
        elif self.box.after == "delete":
            session.delete_message(uid)
        else:
            session.add_flags(uid, "\\Seen")

    async def _leave_too_large(self, session: ImapSession, uid: int, size: int) -> None:
        log.warning(
            "imap_message_too_large", mailbox=self.box.label, uid=uid, size=size, limit=self._max_bytes
        )
        if session.keywords_allowed:
            await self._call(session.add_flags, uid, TOO_LARGE_KEYWORD)
        else:
            self._skipped.add(uid)

    # --- connection --------------------------------------------------------------------------------

    async def _connected(self) -> ImapSession:
        if self._session is None:
            session = await self._call(ImapSession, self.box)
            self._session = session
            if self.box.move_to is not None:
                await self._call(session.ensure_folder, self.box.move_to)
            log.info(
                "imap_connected",
                mailbox=self.box.label,
                idle="IDLE" in session.caps and self.box.idle,
                move="MOVE" in session.caps,
            )
        return self._session

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking call in this mailbox's thread; give up waiting (not the call) on stop."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        if self._stop is None:
            return await future
        stopper = asyncio.ensure_future(self._stop.wait())
        racing: list[asyncio.Future[Any]] = [future, stopper]
        try:
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not future.done():
            # The thread finishes on its own (bounded by the socket timeout); its session is unusable.
            future.add_done_callback(_discard)
            await self._drop_session()
            raise _Stopped
        return future.result()

    async def _drop_session(self) -> None:
        """Forget a session after an error or on stop: cut it (no LOGOUT to wait for on a connection
        in an unknown state; a call still blocked on it fails at once), then free it in its thread."""
        session, self._session = self._session, None
        if session is not None:
            session.interrupt()
            self._executor.submit(session.close_quietly)

    async def close(self) -> None:
        """Log out and release the thread (waits for the LOGOUT unless stopping)."""
        session, self._session = self._session, None
        if session is not None:
            done = asyncio.get_running_loop().run_in_executor(self._executor, session.close_quietly)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(done, timeout=self.box.timeout_seconds)
        self._executor.shutdown(wait=False)

    # --- the loop ----------------------------------------------------------------------------------

    async def wait_for_mail(self, stop: asyncio.Event) -> None:
        """IDLE until the server reports a change (renewed every 29 minutes), or sleep `poll_seconds`
        when the server lacks IDLE; returns early when `stop` is set."""
        session = self._session
        if session is None or not self.box.idle or "IDLE" not in session.caps:
            await _sleep_unless(stop, self.box.poll_seconds)
            return
        halt = threading.Event()
        relay = asyncio.ensure_future(_set_when(stop, halt))
        try:
            # Not raced against `stop`: the thread sees `halt` within half a second and ends IDLE cleanly.
            future = asyncio.get_running_loop().run_in_executor(
                self._executor, session.idle, self._idle_seconds, halt
            )
            await future
        finally:
            relay.cancel()

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row: doubling from the initial delay, capped,
        with jitter so many mailboxes on one broken server do not reconnect in step."""
        delay = min(self._backoff_cap, self._backoff_initial * float(2 ** min(failures - 1, 30)))
        return delay * self._rng.uniform(0.75, 1.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; failures are logged and retried with backoff, never raised."""
        self._stop = stop
        failures = 0
        try:
            while not stop.is_set():
                try:
                    result = await self.poll_once()
                    failures = 0
                    if not result.more:
                        await self.wait_for_mail(stop)
                except _Stopped:
                    break
                except Exception as exc:  # noqa: BLE001 - a broken mailbox must not end the loop
                    failures += 1
                    delay = self.backoff(failures)
                    log.warning(
                        "imap_poll_failed",
                        mailbox=self.box.label,
                        error=_describe(exc),
                        failures=failures,
                        retry_in=round(delay, 3),
                    )
                    await self._drop_session()
                    await _sleep_unless(stop, delay)
        finally:
            await self.close()


def _discard(future: asyncio.Future[Any]) -> None:
    """Consume the outcome of a call nobody waits for any more; close a session it opened."""
    if future.cancelled() or future.exception() is not None:
        return
    if isinstance(result := future.result(), ImapSession):
        result.shutdown()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _set_when(stop: asyncio.Event, halt: threading.Event) -> None:
    await stop.wait()
    halt.set()


def build_pollers(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], blobs: BlobStore
) -> list[ImapPoller]:
    """One poller per `KEFU_IMAP_MAILBOXES` entry, bounded by `inbound_max_bytes`."""
    pollers = []
    for box in settings.imap_mailboxes:
        if box.insecure_tls:
            log.warning("imap_insecure_tls", mailbox=box.label, note="certificate checks are off")
        pollers.append(ImapPoller(box, sessionmaker, blobs, max_bytes=settings.inbound_max_bytes))
    return pollers


async def run_pollers(pollers: list[ImapPoller], stop: asyncio.Event) -> None:
    """Run every poller until `stop` is set; one mailbox's failure never stops the others."""
    await asyncio.gather(*(poller.run(stop) for poller in pollers), return_exceptions=True)


async def poll_all_once(pollers: list[ImapPoller]) -> dict[str, PollResult | str]:
    """Fetch everything waiting in each mailbox (batch after batch), then log out: `kefu imap-poll --once`.

    Returns per mailbox label its totals, or the error that stopped it.
    """

    async def drain(poller: ImapPoller) -> PollResult | str:
        total = PollResult()
        try:
            while True:
                result = await poller.poll_once()
                total.add(result)
                if not result.more:
                    return total
        except Exception as exc:  # noqa: BLE001 - reported per mailbox to the operator
            log.warning("imap_poll_failed", mailbox=poller.box.label, error=_describe(exc))
            return _describe(exc)
        finally:
            await poller.close()

    results = await asyncio.gather(*(drain(poller) for poller in pollers))
    return {poller.box.label: result for poller, result in zip(pollers, results, strict=True)}
