"""A blocking IMAP4rev1 session on one mailbox, built on stdlib imaplib, for `kefu.mail.imap_poller`.

Every call blocks, so the poller runs each session in its own single worker thread. imaplib lacks IDLE
before Python 3.14 and reads through a buffered file whose contents cannot be inspected, which makes
"wait for the server, but stop when asked" impossible; this class therefore reads the socket through
its own buffer, implements IDLE (RFC 2177) on top of it, and refuses bytes smuggled before a STARTTLS
upgrade (the CVE-2011-0411 class of injection).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import select
import socket
import ssl
import threading
import time
from typing import Any, Final

from kefu.mail.imap_config import ImapMailbox, encode_mailbox_name

TOO_LARGE_KEYWORD: Final = "$KefuTooLarge"
_RECV_BYTES = 64 * 1024
# A single response line longer than this is hostile or broken (imaplib uses the same bound).
_MAX_LINE = 1_000_000
_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r?\n$")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_IDLE_SLICE_SECONDS = 0.5


class ImapError(Exception):
    """The server refused a command or answered something this client cannot use."""


def quote(value: str) -> str:
    """`value` as an IMAP quoted string (callers have refused CR/LF)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list[Any]) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d is not None]
    return " ".join(parts)[:300]


def _ok(result: tuple[str, list[Any]], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {_text(data)}")
    return data


def _tls_context(box: ImapMailbox) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=box.tls_ca_file)
    if box.insecure_tls:
        # Lab servers with self-signed certificates only (documented; logged at start-up).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class ImapSession(imaplib.IMAP4):
    """A logged-in connection to `box`; use from one thread at a time, `close()` when done."""

    def __init__(self, box: ImapMailbox) -> None:
        self._box = box
        self._implicit_tls = _tls_context(box) if box.scheme == "imaps" else None
        self._rbuf = bytearray()
        self._idle_count = 0
        self._closed = False
        self._dead = False  # the server said BYE or we cut the connection: no LOGOUT
        self.caps: frozenset[str] = frozenset()
        self.keywords_allowed = True
        super().__init__(box.host, box.port, timeout=box.timeout_seconds)
        try:
            self._start()
        except BaseException:
            self.shutdown()
            raise

    # --- transport: imaplib calls these; our own buffer lets IDLE ask "is anything waiting?" ---------

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((self._box.host, self._box.port), timeout)
        if self._implicit_tls is not None:
            return self._implicit_tls.wrap_socket(sock, server_hostname=self._box.host)
        return sock

    def _fill(self) -> None:
        chunk = self.sock.recv(_RECV_BYTES)
        if not chunk:
            raise self.abort("connection closed by the server")
        self._rbuf += chunk

    def read(self, size: int) -> bytes:
        """Exactly `size` bytes (a literal)."""
        while len(self._rbuf) < size:
            self._fill()
        data = bytes(self._rbuf[:size])
        del self._rbuf[:size]
        return data

    def readline(self) -> bytes:
        """One response line including its CRLF."""
        while (end := self._rbuf.find(b"\n")) < 0:
            if len(self._rbuf) > _MAX_LINE:
                raise self.error(f"response line longer than {_MAX_LINE} bytes")
            self._fill()
        line = bytes(self._rbuf[: end + 1])
        del self._rbuf[: end + 1]
        return line

    def _readable(self, timeout: float) -> bool:
        if self._rbuf or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
            return True
        ready, _, _ = select.select([self.sock], [], [], timeout)
        return bool(ready)

    # --- session set-up ----------------------------------------------------------------------------

    def _start(self) -> None:
        self.caps = frozenset(self.capabilities)
        if self._box.use_starttls:
            self._starttls()
        self._login()
        # Servers announce more (MOVE, UIDPLUS, IDLE) after login; imaplib does not ask again.
        self.caps = self._capabilities()

    def _capabilities(self) -> frozenset[str]:
        data = _ok(self.capability(), "CAPABILITY")
        return frozenset(
            b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace").upper().split()
        )

    def _starttls(self) -> None:
        if "STARTTLS" not in self.caps:
            raise ImapError("the server does not offer STARTTLS")
        _ok(self.xatom("STARTTLS"), "STARTTLS")
        if self._rbuf:
            raise ImapError("the server sent data before the TLS handshake (possible injection)")
        self.file.close()
        self.sock = _tls_context(self._box).wrap_socket(self.sock, server_hostname=self._box.host)
        self.file = self.sock.makefile("rb")
        self.caps = self._capabilities()

    def _login(self) -> None:
        user, password = self._box.username, self._box.secret()
        if "AUTH=PLAIN" in self.caps:
            # SASL PLAIN carries UTF-8 names and passwords; LOGIN is ASCII-only in imaplib.
            token = f"\0{user}\0{password}".encode()
            self.authenticate("PLAIN", lambda _challenge: token)
        elif "LOGINDISABLED" in self.caps:
            raise ImapError("the server refuses LOGIN on this connection and offers no AUTH=PLAIN")
        else:
            self.login(quote(user), password)

    # --- mailbox operations ------------------------------------------------------------------------

    def open_folder(self, folder: str) -> int:
        """SELECT `folder` (read-write) and return its UIDVALIDITY."""
        _ok(self.select(quote(encode_mailbox_name(folder))), f"SELECT {folder}")
        validity = self.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
        flags = self.untagged_responses.get("PERMANENTFLAGS", [b"\\*"])[-1]
        self.keywords_allowed = b"\\*" in (flags if isinstance(flags, bytes) else b"")
        # imaplib keeps every untagged response until asked for it: drop them, or a session polling
        # for weeks grows without bound.
        self.untagged_responses.clear()
        return int(validity) if isinstance(validity, bytes) and validity.isdigit() else 0

    def ensure_folder(self, folder: str) -> None:
        """Create `folder` unless it exists (the target of after=move)."""
        name = quote(encode_mailbox_name(folder))
        if not [item for item in _ok(self.list('""', name), "LIST") if item]:
            _ok(self.create(name), f"CREATE {folder}")

    def find_uids(self, *criteria: str) -> list[int]:
        """UIDs matching `criteria`, ascending."""
        data = _ok(self.uid("SEARCH", *criteria), "UID SEARCH")
        return sorted({int(n) for item in data if isinstance(item, bytes) for n in item.split()})

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each of `uids` still present."""
        data = _ok(self.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)"), "UID FETCH size")
        found: dict[int, int] = {}
        for item in data:
            head = item[0] if isinstance(item, tuple) else item
            if isinstance(head, bytes) and (uid := _UID.search(head)) and (size := _SIZE.search(head)):
                found[int(uid.group(1))] = int(size.group(1))
        return found

    def fetch_raw(self, uid: int, limit: int) -> bytes | None:
        """The message's bytes without setting \\Seen (BODY.PEEK), at most `limit` + 1 of them;
        None when it is gone."""
        data = _ok(self.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{limit + 1}>)"), "UID FETCH body")
        for item in data:
            if isinstance(item, tuple) and b"BODY[]" in item[0]:
                return bytes(item[1])
        return None

    def add_flags(self, uid: int, flags: str) -> None:
        """Add `flags` to message `uid`."""
        _ok(self.uid("STORE", str(uid), "+FLAGS.SILENT", f"({flags})"), "UID STORE")

    def move(self, uid: int, folder: str) -> None:
        """Move message `uid` to `folder` (MOVE, or COPY + \\Deleted + expunge)."""
        target = quote(encode_mailbox_name(folder))
        if "MOVE" in self.caps:
            _ok(self.uid("MOVE", str(uid), target), "UID MOVE")
            return
        _ok(self.uid("COPY", str(uid), target), "UID COPY")
        self.delete_message(uid)

    def delete_message(self, uid: int) -> None:
        """Flag `uid` \\Deleted and expunge it (UID EXPUNGE; plain EXPUNGE without UIDPLUS)."""
        self.add_flags(uid, "\\Deleted")
        if "UIDPLUS" in self.caps:
            _ok(self.uid("EXPUNGE", str(uid)), "UID EXPUNGE")
        else:
            # Expunges every \Deleted message of the folder: it is Kefu's to empty (after=move/delete).
            _ok(self.expunge(), "EXPUNGE")

    # --- IDLE ----------------------------------------------------------------------------------------

    def idle(self, seconds: float, halt: threading.Event) -> bool:
        """IDLE until the server reports a change (True), `seconds` pass or `halt` is set (False)."""
        self._idle_count += 1
        tag = f"KIDLE{self._idle_count}".encode()
        self.send(tag + b" IDLE\r\n")
        first = self._response_line()
        if not first.startswith(b"+"):
            raise ImapError(f"IDLE refused: {first[:200]!r}")
        changed = False
        deadline = time.monotonic() + seconds
        while not changed and not halt.is_set() and (left := deadline - time.monotonic()) > 0:
            if self._readable(min(left, _IDLE_SLICE_SECONDS)):
                changed = self._is_change(self._response_line())
        self.send(b"DONE\r\n")
        while not (line := self._response_line()).startswith(tag + b" "):
            changed = self._is_change(line) or changed
        if not line[len(tag) + 1 :].upper().startswith(b"OK"):
            raise ImapError(f"IDLE ended with {line[:200]!r}")
        return changed

    def _response_line(self) -> bytes:
        """One response with any literals it carries (so a literal is never misread as lines)."""
        line = self.readline()
        while match := _LITERAL_AT_END.search(line):
            line += self.read(int(match.group(1))) + self.readline()
        return line

    def _is_change(self, line: bytes) -> bool:
        if line.upper().startswith(b"* BYE"):
            self._dead = True
            raise self.abort(line[:200].decode("ascii", "replace"))
        # "* OK Still here" keeps the connection alive; EXISTS, EXPUNGE, FETCH… mean something moved.
        return line.startswith(b"* ") and not line.upper().startswith(b"* OK")

    def shutdown(self) -> None:
        """Release the socket (idempotent: imaplib's LOGOUT already calls this)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            super().shutdown()

    def interrupt(self) -> None:
        """Cut the connection from any thread: a call blocked on the socket fails at once. The owning
        thread still calls `close_quietly` to release the socket."""
        self._dead = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close_quietly(self) -> None:
        """LOGOUT if the connection still works, then release the socket."""
        try:
            if not (self._closed or self._dead) and self.state in ("AUTH", "SELECTED"):
                self.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
        finally:
            self.shutdown()
