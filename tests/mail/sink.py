"""A real SMTP server (aiosmtpd, in a thread of this process) that records what it accepts.

Outbound-mail tests talk SMTP to it over loopback TCP, so the client side is exercised for real:
connection, EHLO, envelope, DATA, dot-stuffing and the server's replies. Replies can be scripted
(`refuse_recipients`, `data_reply`) to test how failures are classified.
"""

from __future__ import annotations

import asyncio
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One accepted message: its envelope and the exact bytes that came over the wire."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        """The message parsed with the modern policy (header objects, `.get_body()`)."""
        parsed = BytesParser(policy=email.policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    # address (lower case) -> reply, e.g. "550 5.1.1 No such user"
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refuse_recipients.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on an ephemeral port (port 0)."""

    def _trigger_server(self) -> None:
        # The server is bound by now; learn the port the kernel chose before connecting to it.
        server = self.server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpSink:
    """An SMTP server on 127.0.0.1; `port` 0 picks a free one. Use as a context manager or start/stop."""

    def __init__(self, port: int = 0) -> None:
        self._handler = _Handler()
        self._controller = _Controller(
            self._handler, hostname="127.0.0.1", port=port, server_hostname="sink.kefu.test", ready_timeout=10
        )

    @property
    def port(self) -> int:
        """The port the sink listens on (known once started)."""
        port: int = self._controller.port
        return port

    @property
    def received(self) -> list[Received]:
        """What was accepted so far, oldest first (a copy)."""
        with self._handler.lock:
            return list(self._handler.received)

    def refuse_recipient(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        """Answer RCPT TO:<address> with `reply` (a 5xx is permanent, a 4xx transient)."""
        self._handler.refuse_recipients[address.lower()] = reply

    def refuse_data(self, reply: str) -> None:
        """Answer every DATA with `reply` instead of accepting the message."""
        self._handler.data_reply = reply

    def start(self) -> SmtpSink:
        """Listen and serve (in a background thread)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> tuple[socket.socket, int]:
    """A bound but not listening socket and its port: connecting is refused (a relay that is down).

    Keep the socket until the port is to be reused, so no other process can take it meanwhile.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    return sock, port
