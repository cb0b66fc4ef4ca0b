"""The blocking IMAP session: TLS against a real Dovecot, and hostile or broken servers scripted byte
for byte (a server is a peer we do not control, even when an operator configured it)."""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kefu.mail.imap_client import ImapError, ImapSession
from kefu.mail.imap_config import ImapMailbox
from tests.mail.dovecot import Dovecot, require_dovecot, run_dovecot

Reply = Callable[[bytes, bytes], bytes]  # (tag, command line) -> bytes to send
HANG_UP = b"<hang up>"  # a reply ending with this closes the connection after sending the rest


class ScriptedServer:
    """One connection on 127.0.0.1: sends `greeting`, then answers each command line with `reply`."""

    def __init__(self, greeting: bytes, reply: Reply) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._greeting = greeting
        self._reply = reply
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self._listener.accept()
            with conn:
                conn.sendall(self._greeting)
                buffer = b""
                while chunk := conn.recv(4096):
                    buffer += chunk
                    while b"\r\n" in buffer:
                        line, buffer = buffer.split(b"\r\n", 1)
                        self.received.append(line)
                        tag = line.split(b" ", 1)[0]
                        answer = self._reply(tag, line)
                        conn.sendall(answer.removesuffix(HANG_UP))
                        if answer.endswith(HANG_UP):
                            return

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def scripted(greeting: bytes, reply: Reply) -> Iterator[ScriptedServer]:
    server = ScriptedServer(greeting, reply)
    try:
        yield server
    finally:
        server.close()


def config(port: int, **changes: Any) -> ImapMailbox:
    values = {
        "url": f"imap://kefu@127.0.0.1:{port}/INBOX",
        "password": "pw",
        "address": "support@kefu.test",
        "timeout_seconds": 2,
    }
    return ImapMailbox.model_validate(values | changes)


def open_session(box: ImapMailbox) -> ImapSession:
    return ImapSession(box)


CAPS = b"IMAP4rev1 STARTTLS AUTH=PLAIN"


def _standard(tag: bytes, line: bytes) -> bytes:
    if b" CAPABILITY" in line:
        return b"* CAPABILITY " + CAPS + b"\r\n" + tag + b" OK done\r\n"
    if b" LOGOUT" in line:
        return b"* BYE bye\r\n" + tag + b" OK done\r\n"
    return b""


# --- hostile and broken servers ------------------------------------------------------------------


def test_bytes_injected_before_the_starttls_handshake_are_refused() -> None:
    def reply(tag: bytes, line: bytes) -> bytes:
        if line.endswith(b" STARTTLS"):
            # CVE-2011-0411 style: plaintext that would be read as if it came over TLS.
            return tag + b" OK begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"
        return _standard(tag, line)

    with scripted(b"* OK ready\r\n", reply) as server, pytest.raises(ImapError, match="before the TLS"):
        open_session(config(server.port, starttls=True))
    assert not any(b"AUTHENTICATE" in line or b"LOGIN" in line for line in server.received)


def test_a_server_without_starttls_never_gets_the_password() -> None:
    with scripted(b"* OK ready\r\n", _no_starttls) as server:
        with pytest.raises(ImapError, match="does not offer STARTTLS"):
            open_session(config(server.port, starttls=True))
        assert not any(b"AUTHENTICATE" in line or b"LOGIN" in line for line in server.received)


def _no_starttls(tag: bytes, line: bytes) -> bytes:
    if b" CAPABILITY" in line:
        return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
    return b""


def test_login_disabled_without_sasl_plain_is_refused() -> None:
    def reply(tag: bytes, line: bytes) -> bytes:
        if b" CAPABILITY" in line:
            return b"* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n" + tag + b" OK done\r\n"
        return b""

    with scripted(b"* OK ready\r\n", reply) as server, pytest.raises(ImapError, match="refuses LOGIN"):
        open_session(config(server.port))


def test_an_endless_response_line_is_refused() -> None:
    endless = b"* OK " + b"x" * 1_100_000
    with (
        scripted(endless, lambda tag, line: b"") as server,
        pytest.raises(imaplib.IMAP4.error, match="longer"),
    ):
        open_session(config(server.port, timeout_seconds=10))


def test_a_silent_server_times_out() -> None:
    started = time.monotonic()
    with scripted(b"", lambda tag, line: b"") as server, pytest.raises((TimeoutError, imaplib.IMAP4.abort)):
        open_session(config(server.port, timeout_seconds=0.5))
    assert time.monotonic() - started < 5


def test_a_server_that_hangs_up_mid_session() -> None:
    def reply(tag: bytes, line: bytes) -> bytes:
        if b" CAPABILITY" in line:
            return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
        if b"AUTHENTICATE" in line:
            return b"+ \r\n"
        return b"* BYE going away\r\n" + HANG_UP  # the SASL response: hang up instead of answering

    with scripted(b"* OK ready\r\n", reply) as server, pytest.raises(imaplib.IMAP4.abort):
        open_session(config(server.port))


def test_bye_during_idle_ends_the_session() -> None:
    with scripted(b"* OK ready\r\n", _idle_then_bye()) as server:
        session = open_session(config(server.port))
        try:
            with pytest.raises(imaplib.IMAP4.abort, match="shutting down"):
                session.idle(5, threading.Event())
        finally:
            session.close_quietly()


def _idle_then_bye() -> Reply:
    pending: list[bytes] = []

    def reply(tag: bytes, line: bytes) -> bytes:
        if b" CAPABILITY" in line:
            return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE\r\n" + tag + b" OK done\r\n"
        if b" AUTHENTICATE" in line:
            pending.append(tag)
            return b"+ \r\n"
        if pending and re.fullmatch(rb"[A-Za-z0-9+/=]+", line):
            return pending.pop() + b" OK logged in\r\n"
        if line.endswith(b" IDLE"):
            return b"+ idling\r\n* BYE shutting down\r\n"
        return b""

    return reply


def test_idle_returns_when_halted_and_reads_literals_whole() -> None:
    pending: list[bytes] = []

    def reply(tag: bytes, line: bytes) -> bytes:
        if b" CAPABILITY" in line:
            return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE\r\n" + tag + b" OK done\r\n"
        if b" AUTHENTICATE" in line:
            pending.append(tag)
            return b"+ \r\n"
        if line.endswith(b" IDLE"):
            pending.append(tag)
            # A keep-alive, then a literal whose bytes look like a tagged reply: neither ends IDLE.
            return b"+ idling\r\n* OK still here\r\n"
        if line == b"DONE":
            fake = pending[-1] + b" OK fake\r\n"
            return (
                b"* 1 FETCH (X {%d}\r\n" % len(fake) + fake + b")\r\n" + pending.pop() + b" OK idle done\r\n"
            )
        if pending and re.fullmatch(rb"[A-Za-z0-9+/=]+", line):
            return pending.pop() + b" OK logged in\r\n"
        return _standard(tag, line)

    with scripted(b"* OK ready\r\n", reply) as server:
        session = open_session(config(server.port))
        try:
            halt = threading.Event()
            threading.Timer(0.3, halt.set).start()
            started = time.monotonic()
            assert session.idle(30, halt) is True  # the FETCH after DONE counts as a change
            assert time.monotonic() - started < 2
        finally:
            session.close_quietly()


# --- TLS against Dovecot ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[Dovecot]:
    """Dovecot with a self-signed certificate for 127.0.0.1: STARTTLS on `port`, TLS on `tls_port`."""
    require_dovecot()
    with run_dovecot(tls=True) as server:
        yield server


def tls_box(server: Dovecot, user: str, password: str, *, implicit: bool, **changes: Any) -> ImapMailbox:
    port = server.tls_port if implicit else server.port
    values: dict[str, Any] = {
        "url": f"{'imaps' if implicit else 'imap'}://{user}@127.0.0.1:{port}/INBOX",
        "password": password,
        "address": "support@kefu.test",
        "timeout_seconds": 10,
    }
    if not implicit:
        values["starttls"] = True
    return ImapMailbox.model_validate(values | changes)


@pytest.mark.parametrize("implicit", [True, False], ids=["imaps", "starttls"])
def test_tls_with_the_servers_certificate_trusted(tls_dovecot: Dovecot, implicit: bool) -> None:
    user, password = tls_dovecot.add_user()
    box = tls_box(tls_dovecot, user, password, implicit=implicit, tls_ca_file=str(tls_dovecot.cert_file))
    session = open_session(box)
    try:
        assert isinstance(session.sock, ssl.SSLSocket)
        assert session.open_folder("INBOX") > 0
    finally:
        session.close_quietly()
    # Dovecot's log process writes asynchronously: under load the login line can lag the session.
    deadline = time.monotonic() + 10
    logins: list[str] = []
    while not logins and time.monotonic() < deadline:
        logins = [line for line in tls_dovecot.log().splitlines() if f"user=<{user}>" in line]
        if not logins:
            time.sleep(0.1)
    assert logins, "dovecot never logged the login"
    assert ", TLS," in logins[0]


@pytest.mark.parametrize("implicit", [True, False], ids=["imaps", "starttls"])
def test_an_untrusted_certificate_is_refused(tls_dovecot: Dovecot, implicit: bool) -> None:
    user, password = tls_dovecot.add_user()
    with pytest.raises(ssl.SSLCertVerificationError):
        open_session(tls_box(tls_dovecot, user, password, implicit=implicit))
    assert f"user=<{user}>" not in tls_dovecot.log()  # the password never left


def test_insecure_tls_accepts_a_self_signed_certificate(tls_dovecot: Dovecot) -> None:
    user, password = tls_dovecot.add_user()
    session = open_session(tls_box(tls_dovecot, user, password, implicit=True, insecure_tls=True))
    try:
        assert session.open_folder("INBOX") > 0
    finally:
        session.close_quietly()


def test_close_quietly_is_idempotent(tls_dovecot: Dovecot) -> None:
    user, password = tls_dovecot.add_user()
    session = open_session(tls_box(tls_dovecot, user, password, implicit=True, insecure_tls=True))
    session.close_quietly()
    session.close_quietly()
    session.shutdown()
