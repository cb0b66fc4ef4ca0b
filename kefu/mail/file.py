"""The development transport: each message becomes an .eml file, so `make run` needs no relay."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import structlog

from kefu.mail.transport import TransientMailError, envelope, message_bytes

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FileTransport:
    """Writes `<digest of Message-ID>.eml` under `directory`: a resend overwrites, it never duplicates."""

    directory: Path

    def path_for(self, message: EmailMessage) -> Path:
        """Where `message` is (or will be) written; needs a Message-ID."""
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("a message needs a Message-ID to be written to a file")
        digest = hashlib.sha256(str(message_id).encode()).hexdigest()[:32]
        return self.directory / f"{digest}.eml"

    async def send(self, message: EmailMessage) -> None:
        """Write the message's wire bytes atomically; TransientMailError if the disk refuses."""
        envelope(message)  # the same checks as a relay would need
        path = self.path_for(message)
        data = message_bytes(message)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise TransientMailError(f"cannot write {path}: {exc.strerror or exc}") from None
        log.info("mail_written_to_file", path=str(path), message_id=str(message["Message-ID"]))


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readers (a developer's mail client, tests) never see half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
