"""The inbound SMTP listener, spoken to over loopback TCP by smtplib, swaks and raw dialogues.

Every test runs a real listener on an ephemeral port on the test's loop, storing into the real
database (SQLite and PostgreSQL) and blob store, and checks both the replies and what was stored.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.db.engine import create_engine, create_sessionmaker
from kefu.mail.inbound.raw import decompress_raw
from kefu.mail.mailboxes import resolve_recipient
from kefu.mail.models import InboundSource, InboundStatus
from kefu.mail.smtp_server import MAX_RECIPIENTS, InboundHandler, SmtpListener
from kefu.runtime import Runtime
from kefu.storage.base import BlobStore
from tests.conftest import Database
from tests.mail.smtp_helpers import (
    ALICE,
    SUPPORT,
    VIP,
    Dialogue,
    FailingBlobStore,
    GatedBlobStore,
    ingest_jobs,
    listener_settings,
    message,
    script,
    send,
    stored,
    swaks,
)

Listen = Callable[..., Awaitable[SmtpListener]]


@pytest.fixture
async def listen(runtime: Runtime) -> AsyncIterator[Listen]:
    """Start listeners on 127.0.0.1:0 with the test runtime's database and blobs (or stand-ins)."""
    started: list[SmtpListener] = []

    async def start(
        *,
        blobs: BlobStore | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        max_connections: int | None = None,
        idle_timeout: float = 30,
        **changes: Any,
    ) -> SmtpListener:
        settings = listener_settings(runtime.settings, **changes)
        handler = InboundHandler(sessionmaker or runtime.sessionmaker, blobs or runtime.blobs, settings)
        listener = SmtpListener(
            handler,
            "127.0.0.1",
            0,
            hostname="mx.kefu.test",
            max_connections=max_connections,
            idle_timeout=idle_timeout,
        )
        started.append(await listener.start())
        return listener

    yield start
    for listener in started:
        await listener.close(grace=5)


@pytest.fixture
async def listener(listen: Listen) -> SmtpListener:
    return await listen()


# --- accepting ----------------------------------------------------------------------------------


async def test_ehlo_advertises_size_8bitmime_pipelining_and_no_auth(listen: Listen) -> None:
    listener = await listen(inbound_max_bytes=100_000)
    dialogue, greeting = await Dialogue.open(listener.port)
    assert greeting.startswith("220 mx.kefu.test ESMTP Kefu")
    ehlo = await dialogue.command(b"EHLO client.example.com")
    lines = ehlo.split("\n")
    assert lines[0] == "250-mx.kefu.test"
    assert {"250-SIZE 100000", "250-8BITMIME", "250-SMTPUTF8", "250-PIPELINING"} <= set(lines)
    assert not any("AUTH" in line or "STARTTLS" in line for line in lines)
    assert (await dialogue.command(b"AUTH PLAIN AHVzZXIAcGFzcw==")).startswith("5")
    assert (await dialogue.command(b"QUIT")).startswith("221")
    await dialogue.close()


async def test_message_is_stored_before_the_250(listen: Listen, runtime: Runtime, db: Database) -> None:
    blobs = GatedBlobStore(runtime.settings.blob_dir)
    listener = await listen(blobs=blobs)
    data = message()
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    assert (await dialogue.command(f"MAIL FROM:<{ALICE}>".encode())).startswith("250")
    assert (await dialogue.command(f"RCPT TO:<{SUPPORT}>".encode())).startswith("250")
    assert (await dialogue.command(b"DATA")).startswith("354")
    # Dot-stuffing on the wire, as clients do; the stored bytes are unstuffed.
    wire = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in data.split(b"\r\n"))
    await dialogue.send(wire + b".\r\n")
    await asyncio.wait_for(blobs.entered.wait(), 10)
    with pytest.raises(TimeoutError):
        await dialogue.reply(within=0.3)  # no answer while the store is still writing
    assert await stored(db) == []
    blobs.release.set()
    reply = await dialogue.reply()
    [row] = await stored(db)
    assert reply == f"250 2.0.0 OK: stored as {row.id}"
    assert (row.mailbox, row.source, row.status) == (SUPPORT, InboundSource.SMTP, InboundStatus.RECEIVED)
    assert (row.envelope_from, row.peer_ip, row.helo) == (ALICE, "127.0.0.1", "client.example.com")
    assert row.size == len(data)
    assert decompress_raw(await runtime.blobs.get(row.raw_key)) == data  # nothing prepended
    [job] = await ingest_jobs(db)
    assert job.payload == {"inbound_id": str(row.id)}
    assert (await dialogue.command(b"QUIT")).startswith("221")
    await dialogue.close()


async def test_smtplib_delivery_to_two_mailboxes_is_stored_once_per_mailbox(
    listener: SmtpListener, db: Database
) -> None:
    refused = await send(listener.port, ALICE, [SUPPORT, VIP, "support+KF-12345678@kefu.test"], message())
    assert refused == {}
    rows = await stored(db)
    assert sorted(row.mailbox for row in rows) == [SUPPORT, VIP]  # the plus-address is support@'s
    assert len({row.raw_sha256 for row in rows}) == 1
    assert len(await ingest_jobs(db)) == 2


async def test_plus_address_and_case_are_the_base_mailbox(listener: SmtpListener, db: Database) -> None:
    assert await send(listener.port, ALICE, ["Support+KF-12345678@KEFU.test"], message()) == {}
    [row] = await stored(db)
    assert row.mailbox == SUPPORT


async def test_console_inbox_address_is_accepted(listen: Listen, runtime: Runtime, db: Database) -> None:
    from kefu.db.uow import transaction
    from kefu.inboxes.models import ChannelKind, Inbox, Team

    async with transaction(runtime.sessionmaker) as session:
        team = Team(name="Security", slug="security")
        session.add(team)
        await session.flush()
        session.add(
            Inbox(name="Security", channel=ChannelKind.EMAIL, address="security@kefu.test", team_id=team.id)
        )
    listener = await listen()
    assert await send(listener.port, ALICE, ["security@kefu.test"], message(to="security@kefu.test")) == {}
    [row] = await stored(db)
    assert row.mailbox == "security@kefu.test"


async def test_bounce_with_null_sender_is_accepted(listener: SmtpListener, db: Database) -> None:
    bounce = message("Undelivered Mail Returned to Sender", sender="mailer-daemon@example.com")
    assert await send(listener.port, "", [SUPPORT], bounce) == {}
    [row] = await stored(db)
    assert row.envelope_from is None


async def test_the_same_message_twice_is_stored_once(listener: SmtpListener, db: Database) -> None:
    data = message()
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    replies = []
    for _ in range(2):  # a sender that lost our first 250 sends again
        await dialogue.command(f"MAIL FROM:<{ALICE}>".encode())
        await dialogue.command(f"RCPT TO:<{SUPPORT}>".encode())
        await dialogue.command(b"DATA")
        replies.append(await dialogue.command(data + b"."))
    await dialogue.close()
    [row] = await stored(db)
    assert replies == [f"250 2.0.0 OK: stored as {row.id}"] * 2
    assert len(await ingest_jobs(db)) == 1


async def test_five_megabyte_message_with_attachment(
    listener: SmtpListener, runtime: Runtime, db: Database
) -> None:
    attachment = os.urandom(5 * 1024 * 1024)
    data = message("Bank statement", attachment=attachment)
    assert await send(listener.port, ALICE, [SUPPORT], data) == {}
    [row] = await stored(db)
    assert row.size == len(data) > 5 * 1024 * 1024
    assert decompress_raw(await runtime.blobs.get(row.raw_key)) == data


async def test_several_pipelined_messages_in_one_session(listener: SmtpListener, db: Database) -> None:
    commands = b"EHLO client.example.com\r\n"
    for n in range(3):
        commands += f"MAIL FROM:<{ALICE}>\r\nRCPT TO:<{SUPPORT}>\r\nDATA\r\n".encode()
        commands += message(f"Question {n}") + b".\r\n"
    replies = await script(listener.port, commands + b"QUIT\r\n")
    codes = [reply[:3] for reply in replies]
    assert codes == ["220", "250"] + ["250", "250", "354", "250"] * 3 + ["221"]
    assert len(await stored(db)) == 3
    assert len(await ingest_jobs(db)) == 3


# --- refusing -----------------------------------------------------------------------------------


async def test_unknown_recipient_is_refused_at_rcpt(listener: SmtpListener, db: Database) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await send(listener.port, ALICE, ["nobody@kefu.test"], message())
    assert refused.value.recipients == {
        "nobody@kefu.test": (550, b"5.1.1 <nobody@kefu.test>: no such mailbox here")
    }
    assert await stored(db) == []


@pytest.mark.parametrize(
    "rcpt",
    [
        "victim@gmail.com",
        "support%gmail.com@kefu.test",  # the percent hack
        "support@kefu.test@gmail.com",
        "support@kefu.test.evil.com",
        '"support@kefu.test"@gmail.com',
        "support@[127.0.0.1]",
    ],
)
async def test_never_an_open_relay(listener: SmtpListener, db: Database, rcpt: str) -> None:
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO attacker.example.net")
    assert (await dialogue.command(b"MAIL FROM:<spammer@example.net>")).startswith("250")
    reply = await dialogue.command(f"RCPT TO:<{rcpt}>".encode())
    assert reply[0] == "5", reply
    assert (await dialogue.command(b"DATA")).startswith("503")  # no recipient, no message
    await dialogue.close()
    assert await stored(db) == []


async def test_mixed_recipients_store_only_ours(listener: SmtpListener, db: Database) -> None:
    refused = await send(listener.port, ALICE, ["victim@gmail.com", SUPPORT], message())
    assert refused == {"victim@gmail.com": (550, b"5.1.1 <victim@gmail.com>: no such mailbox here")}
    [row] = await stored(db)
    assert row.mailbox == SUPPORT


async def test_too_many_recipients_is_a_452(listener: SmtpListener) -> None:
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    await dialogue.command(f"MAIL FROM:<{ALICE}>".encode())
    for n in range(MAX_RECIPIENTS):
        assert (await dialogue.command(f"RCPT TO:<support+{n}@kefu.test>".encode())).startswith("250")
    assert await dialogue.command(b"RCPT TO:<vip@kefu.test>") == "452 4.5.3 too many recipients"
    await dialogue.close()


async def test_oversized_message_is_a_552_and_not_stored(listen: Listen, db: Database) -> None:
    listener = await listen(inbound_max_bytes=64 * 1024)
    big = message("Big", body=("y" * 76 + "\n") * 2000)
    with pytest.raises(smtplib.SMTPSenderRefused) as declared:  # smtplib declares SIZE= at MAIL
        await send(listener.port, ALICE, [SUPPORT], big)
    assert declared.value.smtp_code == 552
    assert declared.value.smtp_error.startswith(b"5.3.4 message too big")
    dialogue, _ = await Dialogue.open(listener.port)  # a client that does not declare the size
    await dialogue.command(b"EHLO client.example.com")
    await dialogue.command(f"MAIL FROM:<{ALICE}>".encode())
    await dialogue.command(f"RCPT TO:<{SUPPORT}>".encode())
    await dialogue.command(b"DATA")
    assert (
        await dialogue.command(big + b".") == "552 5.3.4 message too big for this mailbox (limit 65536 bytes)"
    )
    assert (await dialogue.command(b"QUIT")).startswith("221")
    await dialogue.close()
    assert await stored(db) == []


# --- our side failing ---------------------------------------------------------------------------


async def test_blob_store_down_is_a_451_and_nothing_stored(
    listen: Listen, runtime: Runtime, db: Database
) -> None:
    listener = await listen(blobs=FailingBlobStore(runtime.settings.blob_dir))
    with pytest.raises(smtplib.SMTPDataError) as failed:
        await send(listener.port, ALICE, [SUPPORT], message())
    assert (failed.value.smtp_code, failed.value.smtp_error) == (
        451,
        b"4.3.0 temporary failure, try again later",
    )
    assert await stored(db) == []
    assert await ingest_jobs(db) == []


async def test_database_down_is_a_451_and_nothing_stored(
    listen: Listen, runtime: Runtime, db: Database, tmp_path: Path
) -> None:
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'kefu.db'}")
    try:
        listener = await listen(sessionmaker=create_sessionmaker(broken))
        # Mailboxes cannot be looked up either: the RCPT is deferred, not refused.
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await send(listener.port, ALICE, [SUPPORT], message())
        assert refused.value.recipients[SUPPORT][0] == 451
        # With the mailboxes still cached, the store itself fails: 451 after DATA.
        async with runtime.sessionmaker() as session:
            assert await resolve_recipient(session, listener.handler.settings, SUPPORT) is not None
        with pytest.raises(smtplib.SMTPDataError) as failed:
            await send(listener.port, ALICE, [SUPPORT], message())
        assert (failed.value.smtp_code, failed.value.smtp_error) == (
            451,
            b"4.3.0 temporary failure, try again later",
        )
    finally:
        await broken.dispose()
    assert await stored(db) == []
    assert await ingest_jobs(db) == []


async def test_failure_part_way_then_retry_stores_the_rest(
    listen: Listen, runtime: Runtime, db: Database
) -> None:
    data = message()
    failing = await listen(blobs=FailingBlobStore(runtime.settings.blob_dir, ok=1))
    with pytest.raises(smtplib.SMTPDataError):
        await send(failing.port, ALICE, [SUPPORT, VIP], data)
    assert [row.mailbox for row in await stored(db)] == [SUPPORT]  # committed before the failure
    healthy = await listen()
    assert await send(healthy.port, ALICE, [SUPPORT, VIP], data) == {}
    assert sorted(row.mailbox for row in await stored(db)) == [SUPPORT, VIP]
    assert len(await ingest_jobs(db)) == 2


async def test_overload_is_a_4xx_and_the_first_message_still_lands(
    listen: Listen, runtime: Runtime, db: Database
) -> None:
    blobs = GatedBlobStore(runtime.settings.blob_dir)
    listener = await listen(blobs=blobs, smtp_max_inflight=1)
    late, _ = await Dialogue.open(listener.port)  # got its envelope in before the house was full
    await late.command(b"EHLO late.example.com")
    await late.command(f"MAIL FROM:<{ALICE}>".encode())
    await late.command(f"RCPT TO:<{SUPPORT}>".encode())
    assert (await late.command(b"DATA")).startswith("354")

    first = asyncio.create_task(send(listener.port, ALICE, [SUPPORT], message("First")))
    await asyncio.wait_for(blobs.entered.wait(), 10)  # the first message is being stored
    with pytest.raises(smtplib.SMTPSenderRefused) as busy:
        await send(listener.port, ALICE, [SUPPORT], message("Second"))
    assert (busy.value.smtp_code, busy.value.smtp_error) == (451, b"4.3.2 too busy, try again later")
    assert await late.command(message("Late") + b".") == "451 4.3.2 too busy, try again later"
    await late.close()

    blobs.release.set()
    assert await first == {}
    [row] = await stored(db)
    assert row.size == len(message("First"))


async def test_connection_cap_answers_421(listen: Listen) -> None:
    listener = await listen(max_connections=1)
    first, greeting = await Dialogue.open(listener.port)
    assert greeting.startswith("220")
    second, refusal = await Dialogue.open(listener.port)
    assert refusal == "421 4.3.2 too many connections, try again later"
    assert await second.reply() == ""  # and hung up
    await second.close()
    assert (await first.command(b"QUIT")).startswith("221")
    await first.close()
    for _ in range(50):  # the place is free again once the server saw the first one go
        if listener.sessions == 0:
            break
        await asyncio.sleep(0.05)
    third, greeting = await Dialogue.open(listener.port)
    assert greeting.startswith("220")
    await third.close()


async def test_idle_client_is_disconnected(listen: Listen) -> None:
    listener = await listen(idle_timeout=0.3)
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    assert await dialogue.reply(within=5) == ""  # EOF: the server closed the connection
    await dialogue.close()


# --- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (b"MAIL FROM:<" + b"a" * 600 + b"@example.com>", "500"),  # longer than a command line may be
        (b"MAIL FROM:<" + b"a" * 330 + b"@example.com>", "553"),  # longer than an address may be
        (b"MAIL FROM:<ali\x00ce@example.com>", "5"),
        (b"MAIL FROM:<\xff\xfe@example.com>", "553"),
        (b"MAIL FROM:<alice>", "553"),
        (b"MAIL FROM:<alice@example.com> SIZE=99999999999", "552"),
        (b"MAIL FROM:<alice@example.com> BODY=BINARYMIME", "501"),
        (b"RCPT TO:<support@kefu.test>", "503"),  # before MAIL
        (b"DATA", "503"),
        (b"VRFY <support@kefu.test>", "252"),  # says nothing about who exists
        (b"VRFY <\xff@kefu.test>", "252"),
        (b"EXPN support", "502"),
        (b"AUTH LOGIN", "5"),
        (b"\x00\x00\x00", "500"),
    ],
)
async def test_hostile_commands_are_refused(listener: SmtpListener, command: bytes, code: str) -> None:
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    reply = await dialogue.command(command)
    assert reply.startswith(code), reply
    assert "Error: (" not in reply  # no exception text leaks into a reply
    assert (await dialogue.command(b"NOOP")).startswith("250")  # the session goes on
    await dialogue.close()


@pytest.mark.parametrize(
    "rcpt",
    [
        b"<" + b"s" * 400 + b"@kefu.test>",
        b"<supp\x00ort@kefu.test>",
        b"<support@kefu.test\x01>",
        b"<\xe5\xae\xa2\xe6\x9c\x8d@kefu.test>",
        b"<>",
        b"support@kefu.test",  # no angle brackets: fine if it is ours
    ],
)
async def test_hostile_recipients(listener: SmtpListener, db: Database, rcpt: bytes) -> None:
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    await dialogue.command(f"MAIL FROM:<{ALICE}>".encode())
    reply = await dialogue.command(b"RCPT TO:" + rcpt)
    expected = "2" if rcpt == b"support@kefu.test" else "5"
    assert reply.startswith(expected), reply
    await dialogue.close()
    assert await stored(db) == []


async def test_hostile_helo_is_refused(listener: SmtpListener) -> None:
    dialogue, _ = await Dialogue.open(listener.port)
    assert (await dialogue.command(b"EHLO bad\x00name")).startswith("501")
    assert (await dialogue.command(b"HELO bad\x01name")).startswith("501")
    assert (await dialogue.command(b"MAIL FROM:<alice@example.com>")).startswith("503")  # still no HELO
    assert (await dialogue.command(b"HELO client.example.com")).startswith("250")
    await dialogue.close()


@pytest.mark.parametrize(
    "content",
    [
        b"Subject: bare LF\nFrom: a@example.com\n\nhello\r\n",
        b"Subject: bare CR\r\n\r\nhello\rworld\r\n",
        # SMTP smuggling: a second message hidden behind a non-standard end of data.
        b"Subject: first\r\n\r\nhi\r\n\n.\nMAIL FROM:<ceo@kefu.test>\nRCPT TO:<support@kefu.test>\nDATA\n"
        b"Subject: smuggled\n\nsend the coins\r\n",
    ],
)
async def test_bare_newlines_in_data_are_refused(
    listener: SmtpListener, db: Database, content: bytes
) -> None:
    replies = await script(
        listener.port,
        b"EHLO client.example.com\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<support@kefu.test>\r\nDATA\r\n"
        + content
        + b".\r\nQUIT\r\n",
    )
    assert replies[-2] == "550 5.6.0 bare CR or LF in message: lines must end with CRLF"
    assert replies[-1].startswith("221")
    assert await stored(db) == []


async def test_long_line_nul_bytes_and_garbage_leave_the_listener_serving(
    listener: SmtpListener, db: Database
) -> None:
    envelope = (
        b"EHLO client.example.com\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<support@kefu.test>\r\nDATA\r\n"
    )
    replies = await script(
        listener.port, envelope + b"Subject: x\r\n\r\n" + b"z" * 5000 + b"\r\n.\r\nQUIT\r\n"
    )
    assert replies[-2].startswith("500")  # a line over 1000 octets (RFC 5321 4.5.3.1.6)
    # NUL bytes in content are the parser's business: stored as they came.
    replies = await script(listener.port, envelope + b"Subject: nul\r\n\r\na\x00b\r\n.\r\nQUIT\r\n")
    assert replies[-2].startswith("250")
    replies = await script(
        listener.port, (bytes(range(256)) * 16).replace(b"\n", b"") + b"\r\n" * 3 + b"QUIT\r\n"
    )
    assert replies[0].startswith("220")
    assert all(reply[0] == "5" for reply in replies[1:-1])
    assert await send(listener.port, ALICE, [SUPPORT], message("Still here")) == {}
    assert len(await stored(db)) == 2


async def test_client_vanishing_mid_data_stores_nothing(listener: SmtpListener, db: Database) -> None:
    dialogue, _ = await Dialogue.open(listener.port)
    await dialogue.command(b"EHLO client.example.com")
    await dialogue.command(f"MAIL FROM:<{ALICE}>".encode())
    await dialogue.command(f"RCPT TO:<{SUPPORT}>".encode())
    await dialogue.command(b"DATA")
    await dialogue.send(message()[:200])
    await dialogue.close()
    await asyncio.sleep(0.2)
    assert await stored(db) == []
    assert await send(listener.port, ALICE, [SUPPORT], message()) == {}


# --- swaks --------------------------------------------------------------------------------------


async def test_swaks_pipelined_with_attachment(listener: SmtpListener, db: Database, tmp_path: Path) -> None:
    statement = tmp_path / "statement.pdf"
    statement.write_bytes(b"%PDF-1.4\n" + os.urandom(200_000))
    code, transcript = await swaks(
        listener.port,
        "--pipeline",
        "--from",
        ALICE,
        "--to",
        "support+KF-12345678@kefu.test",
        "--header",
        "Subject: Withdrawal stuck",
        "--body",
        "My BTC withdrawal has been pending for two days.",
        "--attach",
        f"@{statement}",
    )
    assert code == 0, transcript
    assert "PIPELINING" in transcript
    [row] = await stored(db)
    assert f"250 2.0.0 OK: stored as {row.id}" in transcript
    assert (row.mailbox, row.envelope_from, row.helo) == (SUPPORT, ALICE, "client.example.com")


async def test_swaks_unknown_recipient_and_bounce(listener: SmtpListener, db: Database) -> None:
    code, transcript = await swaks(listener.port, "--from", ALICE, "--to", "ceo@kefu.test")
    assert code == 24, transcript  # "no RCPTs accepted"
    assert "550 5.1.1 <ceo@kefu.test>: no such mailbox here" in transcript
    assert await stored(db) == []
    code, transcript = await swaks(listener.port, "--from", "<>", "--to", VIP)
    assert code == 0, transcript
    [row] = await stored(db)
    assert (row.mailbox, row.envelope_from) == (VIP, None)
