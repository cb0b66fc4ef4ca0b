"""Clients and stand-ins for the inbound listener tests: smtplib in a thread, a raw SMTP dialogue
(for what polite clients never send), Debian's swaks, and blob stores that stall or fail."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import hashlib
import shutil
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from kefu.jobs.models import OutboxJob
from kefu.mail.models import InboundEmail
from kefu.mail.receive import MAIL_INGEST
from kefu.settings import Settings
from kefu.storage.local import LocalBlobStore
from tests.conftest import Database, service_unavailable

SUPPORT = "support@kefu.test"
VIP = "vip@kefu.test"
ALICE = "alice@example.com"
SWAKS = "/usr/bin/swaks"


def listener_settings(settings: Settings, **changes: object) -> Settings:
    """`settings` with two support mailboxes (support@ and vip@kefu.test) and `changes`."""
    return settings.model_copy(update={"support_addresses": f"{SUPPORT},{VIP}"} | changes)


def message(
    subject: str = "Deposit not credited",
    body: str = "My USDT deposit has not arrived.\n.a line that starts with a dot\n",
    *,
    sender: str = ALICE,
    to: str = SUPPORT,
    attachment: bytes | None = None,
) -> bytes:
    """A well-formed message with CRLF line ends, as a mail server would send it."""
    mail = EmailMessage()
    mail["From"] = f"Alice <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    digest = hashlib.sha256(f"{subject}|{body}|{sender}|{to}".encode()).hexdigest()[:24]
    mail["Message-ID"] = f"<{digest}@example.com>"
    mail.set_content(body)
    if attachment is not None:
        mail.add_attachment(attachment, maintype="application", subtype="pdf", filename="statement.pdf")
    return mail.as_bytes(policy=email.policy.SMTP)


async def send(port: int, mail_from: str, rcpts: Sequence[str], data: bytes) -> dict[str, tuple[int, bytes]]:
    """smtplib's `sendmail` in a thread (our listener runs on this loop); raises smtplib's errors."""

    def run() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.com", timeout=30) as client:
            return client.sendmail(mail_from, list(rcpts), data)

    return await asyncio.to_thread(run)


def parse_replies(data: bytes) -> list[str]:
    """Server output split into replies; a multi-line reply is one string with "\\n" between lines."""
    replies: list[str] = []
    current: list[str] = []
    for line in data.decode("utf-8", "replace").split("\r\n"):
        if not line:
            continue
        current.append(line)
        if len(line) < 4 or line[3] != "-":
            replies.append("\n".join(current))
            current = []
    return replies


class Dialogue:
    """A raw SMTP session: write exactly the given bytes, read replies one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> tuple[Dialogue, str]:
        """Connect; returns the dialogue and the greeting."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        dialogue = cls(reader, writer)
        return dialogue, await dialogue.reply()

    async def reply(self, within: float = 10) -> str:
        """The next complete reply (multi-line joined with "\\n"); "" when the server hung up."""
        lines: list[str] = []
        async with asyncio.timeout(within):
            while True:
                raw = await self.reader.readline()
                if not raw:
                    return "\n".join(lines)
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                lines.append(line)
                if len(line) < 4 or line[3] != "-":
                    return "\n".join(lines)

    async def send(self, data: bytes) -> None:
        """Write `data` as is."""
        self.writer.write(data)
        await self.writer.drain()

    async def command(self, line: bytes) -> str:
        """Send one command line (CRLF added) and return its reply."""
        await self.send(line + b"\r\n")
        return await self.reply()

    async def close(self) -> None:
        """Hang up without QUIT."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def script(port: int, data: bytes, within: float = 30) -> list[str]:
    """Send `data` in one write (pipelined), read until the server hangs up; every reply in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(within):
            output = await reader.read()
    finally:
        writer.close()
    return parse_replies(output)


def require_swaks() -> str:
    """Debian's swaks; skips (or fails under KEFU_REQUIRE_SERVICES=1) when it is not installed."""
    found = shutil.which(SWAKS) or shutil.which("swaks")
    if found is None:
        service_unavailable("swaks", "not installed (apt-get install swaks)")
    assert found is not None
    return found


async def swaks(port: int, *args: str) -> tuple[int, str]:
    """Run swaks against 127.0.0.1:`port`; (exit code, transcript)."""
    process = await asyncio.create_subprocess_exec(
        require_swaks(),
        "--server",
        f"127.0.0.1:{port}",
        "--helo",
        "client.example.com",
        "--timeout",
        "30",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode("utf-8", "replace")


async def stored(db: Database) -> list[InboundEmail]:
    """Every InboundEmail row, oldest first."""
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(InboundEmail).order_by(InboundEmail.received_at))
        return list(rows)


async def ingest_jobs(db: Database) -> list[OutboxJob]:
    """Every queued `mail.ingest` job."""
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_INGEST)))


class GatedBlobStore(LocalBlobStore):
    """Blob writes wait until `release` is set (a slow disk or S3): `entered` tells one is waiting."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def put(self, data: bytes) -> str:
        """Store `data` once released."""
        self.entered.set()
        await self.release.wait()
        return await super().put(data)


class FailingBlobStore(LocalBlobStore):
    """Blob writes succeed `ok` times, then raise (the store went down part-way)."""

    def __init__(self, root: Path, ok: int = 0) -> None:
        super().__init__(root)
        self.ok = ok

    async def put(self, data: bytes) -> str:
        """Store `data`, or fail once the budget is spent."""
        if self.ok <= 0:
            raise OSError("blob store unavailable")
        self.ok -= 1
        return await super().put(data)
