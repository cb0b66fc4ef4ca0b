"""The IMAP poller against a real Dovecot (Debian's), storing into SQLite and PostgreSQL.

Mail is delivered with IMAP APPEND by the test; flags, folders and UIDVALIDITY are read back from the
server with a separate imaplib session, and what was stored is read from the database and blob store.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from kefu.mail.imap_client import TOO_LARGE_KEYWORD
from kefu.mail.imap_config import ImapMailbox
from kefu.mail.imap_poller import (
    IDLE_RENEW_SECONDS,
    ImapPoller,
    PollResult,
    poll_all_once,
    run_pollers,
)
from kefu.mail.inbound.raw import decompress_raw
from kefu.mail.models import InboundSource
from kefu.storage.base import BlobStore
from kefu.storage.local import LocalBlobStore
from tests.conftest import Database
from tests.mail.dovecot import Dovecot, require_dovecot, run_dovecot
from tests.mail.smtp_helpers import FailingBlobStore, ingest_jobs, message, stored

SUPPORT = "support@kefu.test"
MIN_MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """A full-featured Dovecot (IDLE, MOVE, UIDPLUS), plain IMAP on loopback."""
    require_dovecot()
    with run_dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def bare_dovecot() -> Iterator[Dovecot]:
    """A Dovecot that announces neither IDLE nor MOVE nor UIDPLUS after login (an old server)."""
    require_dovecot()
    with run_dovecot(capability="IMAP4rev1 LITERAL+") as server:
        yield server


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def mailbox(server: Dovecot, user: str, password: str, folder: str = "INBOX", **changes: Any) -> ImapMailbox:
    """Config for `user`'s `folder` on `server` (plain IMAP: the host is loopback)."""
    values: dict[str, Any] = {
        "url": f"imap://{user}@127.0.0.1:{server.port}/{folder}",
        "password": password,
        "address": SUPPORT,
        "poll_seconds": 1,
        "timeout_seconds": 10,
    }
    return ImapMailbox.model_validate(values | changes)


Poller = Callable[..., ImapPoller]


@pytest.fixture
async def make_poller(db: Database, blobs: LocalBlobStore) -> AsyncIterator[Poller]:
    """Build pollers on the test database; closed after the test."""
    made: list[ImapPoller] = []

    def build(box: ImapMailbox, *, store: BlobStore | None = None, **options: Any) -> ImapPoller:
        options.setdefault("max_bytes", 25 * 1024 * 1024)
        poller = ImapPoller(box, db.sessionmaker, store or blobs, **options)
        made.append(poller)
        return poller

    yield build
    for poller in made:
        await poller.close()


def append(server: Dovecot, user: str, password: str, raw: bytes, folder: str = "INBOX") -> None:
    """Deliver `raw` into `folder` with IMAP APPEND (creating the folder when missing)."""
    with server.client(user, password) as conn:
        if folder != "INBOX":
            conn.create(folder)
        typ, data = conn.append(folder, None, None, raw)
        assert typ == "OK", data


def flags(server: Dovecot, user: str, password: str, folder: str = "INBOX") -> dict[int, set[str]]:
    """{uid: flags} of every message in `folder`."""
    with server.client(user, password) as conn:
        typ, _ = conn.select(folder)
        assert typ == "OK"
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        assert typ == "OK"
    found: dict[int, set[str]] = {}
    for item in data:
        if isinstance(item, bytes) and (uid := re.search(rb"UID (\d+)", item)):
            listed = re.search(rb"FLAGS \(([^)]*)\)", item)
            names = set(listed.group(1).decode().split()) if listed else set()
            found[int(uid.group(1))] = names - {"\\Recent"}  # session-dependent, not ours
    return found


def folders(server: Dovecot, user: str, password: str) -> set[str]:
    """Names of `user`'s folders."""
    with server.client(user, password) as conn:
        _, data = conn.list()
    return {item.decode().rsplit(" ", 1)[-1].strip('"') for item in data if isinstance(item, bytes)}


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 10) -> None:
    """Poll `check` until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


async def stored_count(db: Database, count: int) -> bool:
    return len(await stored(db)) >= count


# --- storing, then flagging ----------------------------------------------------------------------


async def test_new_messages_are_stored_then_marked_seen(
    db: Database, dovecot: Dovecot, make_poller: Poller, blobs: LocalBlobStore
) -> None:
    user, password = dovecot.add_user()
    first, second = message("Withdrawal pending"), message("KYC question", "身份验证需要多久？\n")
    append(dovecot, user, password, first)
    append(dovecot, user, password, second)
    poller = make_poller(mailbox(dovecot, user, password))

    result = await poller.poll_once()

    assert result == PollResult(stored=2)
    rows = await stored(db)
    assert [decompress_raw(await blobs.get(row.raw_key)) for row in rows] == [first, second]
    assert {(row.source, row.mailbox, row.size) for row in rows} == {
        (InboundSource.IMAP, SUPPORT, len(first)),
        (InboundSource.IMAP, SUPPORT, len(second)),
    }
    assert len(await ingest_jobs(db)) == 2
    assert all("\\Seen" in f for f in flags(dovecot, user, password).values())
    assert await poller.poll_once() == PollResult()  # seen messages are not fetched again


async def test_after_move_moves_each_stored_message_to_the_folder(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Move me"))
    append(dovecot, user, password, message("Move me too"))
    poller = make_poller(mailbox(dovecot, user, password, after="move:Processed"))

    with capture_logs() as logs:
        assert (await poller.poll_once()).stored == 2

    assert next(e for e in logs if e["event"] == "imap_connected")["move"] is True  # UID MOVE

    assert flags(dovecot, user, password) == {}
    assert len(flags(dovecot, user, password, "Processed")) == 2  # created by the poller
    assert len(await stored(db)) == 2


async def test_after_move_to_a_chinese_folder_name(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("已处理"))
    poller = make_poller(mailbox(dovecot, user, password, after="move:已处理"))

    assert (await poller.poll_once()).stored == 1

    assert "&XfJZBHQG-" in folders(dovecot, user, password)  # modified UTF-7 on the wire
    assert len(flags(dovecot, user, password, "&XfJZBHQG-")) == 1


async def test_after_delete_expunges_each_stored_message(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Delete me"))
    poller = make_poller(mailbox(dovecot, user, password, after="delete"))

    assert (await poller.poll_once()).stored == 1

    assert flags(dovecot, user, password) == {}
    assert folders(dovecot, user, password) == {"INBOX"}
    assert len(await stored(db)) == 1


async def test_move_and_delete_also_take_messages_already_read_by_a_person(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Opened in webmail first"))
    with dovecot.client(user, password) as conn:
        conn.select("INBOX")
        conn.uid("STORE", "1", "+FLAGS", "(\\Seen)")
    poller = make_poller(mailbox(dovecot, user, password, after="move:Done"))

    assert (await poller.poll_once()).stored == 1
    assert len(flags(dovecot, user, password, "Done")) == 1


async def test_server_without_move_or_uidplus_gets_copy_delete_expunge(
    db: Database, bare_dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = bare_dovecot.add_user()
    append(bare_dovecot, user, password, message("Old server"))
    append(bare_dovecot, user, password, message("Old server, again"))
    poller = make_poller(mailbox(bare_dovecot, user, password, after="move:Done"))

    with capture_logs() as logs:
        assert (await poller.poll_once()).stored == 2

    assert next(e for e in logs if e["event"] == "imap_connected")["move"] is False

    assert flags(bare_dovecot, user, password) == {}
    assert len(flags(bare_dovecot, user, password, "Done")) == 2


async def test_batches_are_bounded(db: Database, dovecot: Dovecot, make_poller: Poller) -> None:
    user, password = dovecot.add_user()
    for n in range(5):
        append(dovecot, user, password, message(f"Batch {n}"))
    poller = make_poller(mailbox(dovecot, user, password, batch_size=2))

    assert await poller.poll_once() == PollResult(stored=2, more=True)
    assert await poller.poll_once() == PollResult(stored=2, more=True)
    assert await poller.poll_once() == PollResult(stored=1, more=False)
    assert len(await stored(db)) == 5


async def test_the_same_message_appended_twice_is_stored_once(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    raw = message("Sent twice by a nervous customer")
    append(dovecot, user, password, raw)
    append(dovecot, user, password, raw)
    poller = make_poller(mailbox(dovecot, user, password))

    assert await poller.poll_once() == PollResult(stored=1, duplicates=1)

    assert len(await stored(db)) == 1
    assert len(await ingest_jobs(db)) == 1
    marked = flags(dovecot, user, password)
    assert len(marked) == 2
    assert all("\\Seen" in f for f in marked.values())


# --- failures leave mail on the server -----------------------------------------------------------


async def test_nothing_is_marked_when_storage_fails_and_the_next_poll_stores_it(
    db: Database, dovecot: Dovecot, make_poller: Poller, tmp_path: Path
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Must not be lost"))
    box = mailbox(dovecot, user, password, after="delete")
    broken = make_poller(box, store=FailingBlobStore(tmp_path / "down"))

    with capture_logs() as logs, pytest.raises(OSError, match="blob store unavailable"):
        await broken.poll_once()

    assert await stored(db) == []
    assert flags(dovecot, user, password) == {1: set()}  # neither \Seen nor \Deleted
    assert any(entry["event"] == "imap_store_failed" and entry["uid"] == 1 for entry in logs)

    assert (await make_poller(box).poll_once()).stored == 1
    assert len(await stored(db)) == 1
    assert flags(dovecot, user, password) == {}


async def test_uidvalidity_change_relies_on_idempotent_storage(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    old = message("Before the mailbox was rebuilt")
    append(dovecot, user, password, old, folder="Support")
    poller = make_poller(mailbox(dovecot, user, password, folder="Support"))
    assert (await poller.poll_once()).stored == 1
    validity = poller.uidvalidity

    # The server rebuilds the folder: new UIDVALIDITY, the old message back as unseen, plus a new one.
    with dovecot.client(user, password) as conn:
        assert conn.delete("Support")[0] == "OK"
    append(dovecot, user, password, old, folder="Support")
    append(dovecot, user, password, message("After the rebuild"), folder="Support")
    with capture_logs() as logs:
        result = await poller.poll_once()

    assert poller.uidvalidity != validity
    assert result == PollResult(stored=1, duplicates=1)
    assert len(await stored(db)) == 2
    assert all("\\Seen" in f for f in flags(dovecot, user, password, "Support").values())
    changed = [entry for entry in logs if entry["event"] == "imap_uidvalidity_changed"]
    assert changed
    assert changed[0]["old"] == validity


async def test_oversized_message_is_left_on_the_server_and_flagged(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    big = message("Screenshots", "x" * 100 + "\n", attachment=os.urandom(MIN_MAX_BYTES))
    small = message("Just text")
    append(dovecot, user, password, big)
    append(dovecot, user, password, small)
    poller = make_poller(mailbox(dovecot, user, password), max_bytes=MIN_MAX_BYTES)

    with capture_logs() as logs:
        assert await poller.poll_once() == PollResult(stored=1, too_large=1)

    assert flags(dovecot, user, password) == {1: {TOO_LARGE_KEYWORD}, 2: {"\\Seen"}}
    [warning] = [entry for entry in logs if entry["event"] == "imap_message_too_large"]
    assert warning["uid"] == 1
    assert warning["size"] > MIN_MAX_BYTES
    assert warning["limit"] == MIN_MAX_BYTES
    # Not fetched again, by this poller or by a new one.
    assert await poller.poll_once() == PollResult()
    assert await make_poller(mailbox(dovecot, user, password), max_bytes=MIN_MAX_BYTES).poll_once() == (
        PollResult()
    )
    assert len(await stored(db)) == 1


async def test_oversized_message_with_after_delete_is_kept(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Huge", attachment=os.urandom(MIN_MAX_BYTES)))
    poller = make_poller(mailbox(dovecot, user, password, after="delete"), max_bytes=MIN_MAX_BYTES)

    assert await poller.poll_once() == PollResult(too_large=1)
    assert await poller.poll_once() == PollResult()
    assert flags(dovecot, user, password) == {1: {TOO_LARGE_KEYWORD}}


# --- the loop: IDLE, polling, backoff, stop --------------------------------------------------------


async def _run(poller: ImapPoller, stop: asyncio.Event) -> asyncio.Task[None]:
    return asyncio.create_task(poller.run(stop))


async def test_idle_picks_up_a_message_appended_while_idling(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Already waiting"))
    # An hour between polls: only IDLE can bring the second message in within seconds.
    poller = make_poller(mailbox(dovecot, user, password, poll_seconds=3600))
    stop = asyncio.Event()
    task = await _run(poller, stop)
    try:
        await wait_for(lambda: stored_count(db, 1))
        await asyncio.sleep(0.3)  # let it enter IDLE
        started = time.monotonic()
        await asyncio.to_thread(append, dovecot, user, password, message("Arrived during IDLE"))
        await wait_for(lambda: stored_count(db, 2), within=5)
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert all("\\Seen" in f for f in flags(dovecot, user, password).values())


async def test_idle_is_reissued_and_keeps_working(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    poller = make_poller(mailbox(dovecot, user, password, poll_seconds=3600), idle_seconds=0.2)
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = await _run(poller, stop)
        try:
            await asyncio.sleep(1.2)  # several IDLE/DONE rounds on one connection
            await asyncio.to_thread(append, dovecot, user, password, message("After renewals"))
            await wait_for(lambda: stored_count(db, 1), within=5)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=5)
    events = [entry["event"] for entry in logs]
    assert events.count("imap_connected") == 1  # one connection for all of it
    assert "imap_poll_failed" not in events


async def test_idle_never_lasts_longer_than_29_minutes(
    db: Database, dovecot: Dovecot, blobs: BlobStore
) -> None:
    user, password = dovecot.add_user()
    poller = ImapPoller(
        mailbox(dovecot, user, password), db.sessionmaker, blobs, max_bytes=MIN_MAX_BYTES, idle_seconds=7200
    )
    assert poller._idle_seconds == IDLE_RENEW_SECONDS == 29 * 60
    await poller.close()


async def test_server_without_idle_is_polled_every_poll_seconds(
    db: Database, bare_dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = bare_dovecot.add_user()
    poller = make_poller(mailbox(bare_dovecot, user, password, poll_seconds=1))
    stop = asyncio.Event()
    task = await _run(poller, stop)
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(append, bare_dovecot, user, password, message("Polled, not pushed"))
        await wait_for(lambda: stored_count(db, 1), within=5)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()


async def test_stop_ends_an_idling_loop_promptly(db: Database, dovecot: Dovecot, make_poller: Poller) -> None:
    user, password = dovecot.add_user()
    poller = make_poller(mailbox(dovecot, user, password, poll_seconds=3600))
    stop = asyncio.Event()
    task = await _run(poller, stop)
    await asyncio.sleep(0.5)  # connected and idling
    assert not task.done()
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 1.5
    await asyncio.sleep(0.2)
    assert "Logged out" in dovecot.log().split(f"user=<{user}>", 1)[1]  # DONE, then LOGOUT


async def test_bad_credentials_are_retried_with_backoff_and_other_mailboxes_go_on(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    good_user, good_password = dovecot.add_user()
    bad_user, bad_password = dovecot.add_user()
    wrong = "not-the-password-" + bad_password
    append(dovecot, good_user, good_password, message("For the healthy mailbox"))
    append(dovecot, bad_user, bad_password, message("Unreachable until the password is fixed"))
    good = make_poller(mailbox(dovecot, good_user, good_password, poll_seconds=3600))
    bad = make_poller(
        mailbox(dovecot, bad_user, wrong, address="vip@kefu.test"), backoff_initial=0.05, backoff_cap=0.4
    )
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(run_pollers([bad, good], stop))
        try:
            await wait_for(lambda: stored_count(db, 1))

            async def failed_four_times() -> bool:
                return sum(1 for entry in logs if entry["event"] == "imap_poll_failed") >= 4

            await wait_for(failed_four_times)
            await asyncio.to_thread(append, dovecot, good_user, good_password, message("Still flowing"))
            await wait_for(lambda: stored_count(db, 2), within=5)
        finally:
            started = time.monotonic()
            stop.set()
            await asyncio.wait_for(task, timeout=5)
            assert time.monotonic() - started < 1.5

    failures = [entry for entry in logs if entry["event"] == "imap_poll_failed"]
    assert {entry["mailbox"] for entry in failures} == {bad.box.label}
    assert "AUTHENTICATIONFAILED" in failures[0]["error"]
    delays = [entry["retry_in"] for entry in failures]
    assert delays[0] < delays[1] < delays[2]
    assert max(delays) <= 0.4
    assert [entry["failures"] for entry in failures[:3]] == [1, 2, 3]
    assert wrong not in repr(logs)
    assert wrong not in repr(bad.box)
    assert {row.mailbox for row in await stored(db)} == {SUPPORT}
    assert flags(dovecot, bad_user, bad_password) == {1: set()}


async def test_connection_refused_is_retried_and_stop_ends_the_backoff_wait(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    box = mailbox(dovecot, user, password, url=f"imap://{user}@127.0.0.1:{_closed_port()}/INBOX")
    poller = make_poller(box, backoff_initial=30)
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = await _run(poller, stop)

        async def failed() -> bool:
            return any(entry["event"] == "imap_poll_failed" for entry in logs)

        await wait_for(failed)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 1
    assert "ConnectionRefusedError" in next(e["error"] for e in logs if e["event"] == "imap_poll_failed")


async def test_stop_does_not_wait_for_a_server_that_never_answers(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never greets
        port = silent.getsockname()[1]
        box = mailbox(
            dovecot, user, password, url=f"imap://{user}@127.0.0.1:{port}/INBOX", timeout_seconds=30
        )
        stop = asyncio.Event()
        task = await _run(make_poller(box), stop)
        await asyncio.sleep(0.3)
        assert not task.done()
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert time.monotonic() - started < 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_poll_all_once_drains_every_mailbox_and_reports_failures(
    db: Database, dovecot: Dovecot, make_poller: Poller
) -> None:
    user, password = dovecot.add_user()
    for n in range(3):
        append(dovecot, user, password, message(f"Waiting {n}"))
    good = make_poller(mailbox(dovecot, user, password, batch_size=2))
    bad = make_poller(mailbox(dovecot, user, "wrong-password", folder="Other"))

    results = await poll_all_once([good, bad])

    assert results[good.box.label] == PollResult(stored=3)
    assert isinstance(results[bad.box.label], str)
    assert "AUTHENTICATIONFAILED" in str(results[bad.box.label])
    assert len(await stored(db)) == 3


# --- operators: `kefu imap-poll --once` and `kefu worker` -------------------------------------------

KEFU = str(Path(sys.executable).parent / "kefu")


def kefu_env(db: Database, tmp_path: Path, mailboxes: list[dict[str, Any]], **extra: str) -> dict[str, str]:
    """The environment of a `kefu` process on the test database polling `mailboxes`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return base | {
        "KEFU_DATA_DIR": str(tmp_path / "data"),
        "KEFU_DATABASE_URL": db.url,
        "KEFU_SECRET_KEY": "imap-cli-test-secret-0123456789abcdef0123",
        "KEFU_LOG_LEVEL": "INFO",
        "KEFU_SMTP_LISTEN": "",
        "KEFU_IMAP_MAILBOXES": json.dumps(mailboxes),
        **extra,
    }


def cli_mailbox(server: Dovecot, user: str, **changes: Any) -> dict[str, Any]:
    return {"url": f"imap://{user}@127.0.0.1:{server.port}/INBOX", "address": SUPPORT} | changes


async def test_imap_poll_once_reports_each_mailbox(db: Database, dovecot: Dovecot, tmp_path: Path) -> None:
    user, password = dovecot.add_user()
    other, other_password = dovecot.add_user()
    append(dovecot, user, password, message("Via the CLI"))
    append(dovecot, user, password, message("Via the CLI, 2"))
    env = kefu_env(
        db,
        tmp_path,
        [
            cli_mailbox(dovecot, user, password_env="GOOD_IMAP_PASSWORD", after="delete"),
            cli_mailbox(dovecot, other, password="wrong-" + other_password, address="vip@kefu.test"),
        ],
        GOOD_IMAP_PASSWORD=password,
    )

    done = await asyncio.to_thread(
        subprocess.run, [KEFU, "imap-poll", "--once"], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 1, done.stderr
    assert f"{user}@127.0.0.1:{dovecot.port}/INBOX: 2 stored, 0 already stored, 0 too large" in done.stderr
    assert f"{other}@127.0.0.1:{dovecot.port}/INBOX: failed:" in done.stderr
    assert "AUTHENTICATIONFAILED" in done.stderr
    assert password not in done.stderr + done.stdout
    assert other_password not in done.stderr + done.stdout
    assert len(await stored(db)) == 2
    assert flags(dovecot, user, password) == {}


def test_imap_poll_without_mailboxes_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")} | {
        "KEFU_DATA_DIR": str(tmp_path / "data"),
        "KEFU_IMAP_MAILBOXES": "[]",
    }
    done = subprocess.run(
        [KEFU, "imap-poll", "--once"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "no IMAP mailboxes configured" in done.stderr


async def test_kefu_worker_polls_the_mailboxes_and_stops_on_sigterm(
    db: Database, dovecot: Dovecot, tmp_path: Path
) -> None:
    user, password = dovecot.add_user()
    append(dovecot, user, password, message("Picked up by the worker"))
    env = kefu_env(db, tmp_path, [cli_mailbox(dovecot, user, password=password, poll_seconds=3600)])
    process = await asyncio.create_subprocess_exec(
        KEFU, "worker", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_for(lambda: stored_count(db, 1), within=30)
        await asyncio.to_thread(append, dovecot, user, password, message("Pushed by IDLE to the worker"))
        await wait_for(lambda: stored_count(db, 2), within=10)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=15)
    stderr = err.decode()
    assert process.returncode == 0, stderr
    assert "imap_connected" in stderr
    assert password not in stderr
