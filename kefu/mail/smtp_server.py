"""The inbound SMTP listener: aiosmtpd on the caller's asyncio loop, for Kefu's support mailboxes only.

`kefu serve` runs it by default (Runtime.start_smtp) and `kefu smtp` runs it alone. It is a final
destination, never a relay: RCPT accepts only addresses `resolve_recipient` knows. DATA answers 250
only after `accept_inbound` committed the raw bytes, the row and the ingest job for every accepted
mailbox; anything that goes wrong on our side is a 4xx, so the sender keeps the message and retries.

The stored bytes are exactly what came over the wire (no `Received:` line is prepended): a retried
message then has the same digest and is stored once, and the trace facts (peer IP, HELO, MAIL FROM,
time) live in the InboundEmail columns, where sender authentication reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import AnyStr, Final

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.mail.headers import mail_domain
from kefu.mail.mailboxes import resolve_recipient, split_address
from kefu.mail.models import InboundSource
from kefu.mail.receive import Envelope as StoreEnvelope
from kefu.mail.receive import accept_inbound
from kefu.observability.metrics import EMAIL_INBOUND_REJECTED
from kefu.settings import Settings
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)

# RFC 5321 4.5.3.1.8 asks servers to take at least 100; a support mailbox never needs more than a few.
MAX_RECIPIENTS: Final = 50
# RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the next command.
IDLE_TIMEOUT_SECONDS: Final = 300.0
# A database that hangs must not hold the sender forever (it waits 10 minutes for the DATA reply).
STORE_TIMEOUT_SECONDS: Final = 60.0
# Open sessions per configured in-flight store: each may buffer up to `inbound_max_bytes` in DATA.
CONNECTIONS_PER_INFLIGHT: Final = 4
# Per session and command (aiosmtpd answers 421 and hangs up beyond): slows address harvesting.
COMMAND_CALL_LIMIT: Final = {"*": 200, "RCPT": 1000}
NULL_SENDER: Final = "<>"  # what aiosmtpd hands over for `MAIL FROM:<>` (bounces)
IDENT: Final = "ESMTP Kefu"

REPLY_STORED: Final = "250 2.0.0 OK: stored as {id}"
REPLY_SENDER_OK: Final = "250 2.1.0 OK"
REPLY_RECIPIENT_OK: Final = "250 2.1.5 OK"
REPLY_UNKNOWN_RECIPIENT: Final = "550 5.1.1 <{address}>: no such mailbox here"
REPLY_TOO_MANY_RECIPIENTS: Final = "452 4.5.3 too many recipients"
REPLY_BAD_SENDER: Final = "553 5.1.7 malformed sender address"
REPLY_BAD_HELO: Final = "501 5.5.4 invalid HELO/EHLO name"
REPLY_BARE_NEWLINE: Final = "550 5.6.0 bare CR or LF in message: lines must end with CRLF"
REPLY_TOO_BIG: Final = "552 5.3.4 message too big for this mailbox (limit {limit} bytes)"
REPLY_TEMPORARY: Final = "451 4.3.0 temporary failure, try again later"
REPLY_BUSY: Final = "451 4.3.2 too busy, try again later"
REPLY_TOO_MANY_CONNECTIONS: Final = b"421 4.3.2 too many connections, try again later\r\n"


def listen_address(value: str) -> tuple[str, int] | None:
    """`KEFU_SMTP_LISTEN` ("host:port", "[::1]:2525") as (host, port); None when empty (disabled).

    Raises ValueError for anything else, so a typo is reported instead of listening somewhere else.
    """
    value = value.strip()
    if not value:
        return None
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"smtp_listen must be host:port, got {value!r}")
    return host, int(port)


def _shown(address: str) -> str:
    """An address fit to echo in a reply or log line: printable and short (it comes from the client)."""
    cleaned = "".join(ch if ch.isprintable() and ch not in "<>" else "?" for ch in address[:100])
    return cleaned + ("..." if len(address) > 100 else "")


def _peer_ip(session: Session) -> str | None:
    peer = session.peer
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return None


class InboundEnvelope(Envelope):
    """aiosmtpd's envelope plus the distinct support mailboxes its recipients resolved to."""

    def __init__(self) -> None:
        super().__init__()
        # Base address -> None, in RCPT order: `support@` and `support+KF-1@` are one mailbox.
        self.mailboxes: dict[str, None] = {}


class InboundHandler:
    """aiosmtpd hooks deciding each reply; stores through `accept_inbound` on the running loop.

    `max_inflight` caps messages being stored at once (checked without waiting: a full house answers
    451 and the sender retries). Log lines carry the envelope, size and outcome, never the message.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        settings: Settings,
        *,
        max_inflight: int | None = None,
        store_timeout: float = STORE_TIMEOUT_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.blobs = blobs
        self.settings = settings
        self.max_inflight = max_inflight or settings.smtp_max_inflight
        self.store_timeout = store_timeout
        self._inflight = asyncio.Semaphore(self.max_inflight)
        self._storing = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        """True when `max_inflight` messages are being stored right now."""
        return self._inflight.locked()

    async def wait_idle(self) -> None:
        """Return once no message is being stored (shutdown lets stores finish before closing)."""
        await self._idle.wait()

    async def handle_HELO(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        """Remember the HELO name (SPF checks it) unless it is not printable text."""
        if not hostname.isprintable() or len(hostname) > 255:
            return REPLY_BAD_HELO
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """As HELO, and advertise PIPELINING (aiosmtpd reads pipelined commands in order)."""
        if not hostname.isprintable() or len(hostname) > 255:
            return [REPLY_BAD_HELO]
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        """Accept any well-formed sender and the null sender of bounces; refuse early when busy."""
        if address != NULL_SENDER and (not address.isprintable() or split_address(address) is None):
            log.info("smtp_sender_refused", peer_ip=_peer_ip(session), mail_from=_shown(address))
            EMAIL_INBOUND_REJECTED.labels(reason="bad_sender").inc()
            return REPLY_BAD_SENDER
        if self.busy:
            log.warning("smtp_busy", peer_ip=_peer_ip(session), stage="mail")
            EMAIL_INBOUND_REJECTED.labels(reason="busy").inc()
            return REPLY_BUSY
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return REPLY_SENDER_OK

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Accept support mailboxes (plus-addresses included) and nothing else: never an open relay."""
        assert isinstance(envelope, InboundEnvelope)
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return REPLY_TOO_MANY_RECIPIENTS
        try:
            async with self.sessionmaker() as db:
                recipient = await resolve_recipient(db, self.settings, address)
        except Exception:
            log.exception("smtp_recipient_lookup_failed", peer_ip=_peer_ip(session))
            return REPLY_TEMPORARY
        if recipient is None:
            log.info("smtp_recipient_refused", peer_ip=_peer_ip(session), rcpt=_shown(address))
            EMAIL_INBOUND_REJECTED.labels(reason="unknown_recipient").inc()
            return REPLY_UNKNOWN_RECIPIENT.format(address=_shown(address))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        envelope.mailboxes[recipient.mailbox.address] = None
        return REPLY_RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Store the message once per mailbox; 250 only after every store committed, else 4xx/5xx."""
        assert isinstance(envelope, InboundEnvelope)
        raw = envelope.original_content or b""
        sender = envelope.mail_from if envelope.mail_from != NULL_SENDER else None
        facts = {
            "peer_ip": _peer_ip(session),
            "helo": session.host_name,
            "mail_from": sender or NULL_SENDER,
            "mailboxes": list(envelope.mailboxes),
            "size": len(raw),
        }
        # aiosmtpd ends DATA only at CRLF.CRLF; a lone CR or LF is how SMTP smuggling hides a second
        # message, and RFC 5321 2.3.8 / RFC 6152 forbid it in 7bit and 8BITMIME content alike.
        if raw.count(b"\n") != raw.count(b"\r\n") or raw.count(b"\r") != raw.count(b"\r\n"):
            log.info("smtp_message_refused", reason="bare_newline", **facts)
            EMAIL_INBOUND_REJECTED.labels(reason="bare_newline").inc()
            return REPLY_BARE_NEWLINE
        if self.busy:
            log.warning("smtp_busy", stage="data", **facts)
            EMAIL_INBOUND_REJECTED.labels(reason="busy").inc()
            return REPLY_BUSY
        async with self._inflight:
            self._storing += 1
            self._idle.clear()
            try:
                results = await self._store(raw, envelope, sender, session)
            except Exception:
                log.exception("smtp_store_failed", **facts)
                EMAIL_INBOUND_REJECTED.labels(reason="store_failed").inc()
                return REPLY_TEMPORARY
            finally:
                self._storing -= 1
                if not self._storing:
                    self._idle.set()
        ids = [str(row_id) for row_id, _new in results]
        duplicate = not any(new for _id, new in results)
        log.info("smtp_message_accepted", inbound_ids=ids, duplicate=duplicate, **facts)
        return REPLY_STORED.format(id=ids[0])

    async def _store(
        self, raw: bytes, envelope: InboundEnvelope, sender: str | None, session: Session
    ) -> list[tuple[uuid.UUID, bool]]:
        # One row per mailbox: each is its own conversation source. A failure part-way answers 451;
        # the retry finds the stored ones by digest and adds only the rest.
        results: list[tuple[uuid.UUID, bool]] = []
        async with asyncio.timeout(self.store_timeout):
            for mailbox in envelope.mailboxes:
                stored = StoreEnvelope(
                    mailbox=mailbox,
                    source=InboundSource.SMTP,
                    envelope_from=sender,
                    peer_ip=_peer_ip(session),
                    helo=session.host_name,
                )
                results.append(await accept_inbound(self.sessionmaker, self.blobs, raw, stored))
        return results

    async def handle_exception(self, error: Exception) -> str:
        """Any other failure inside a command: a temporary error without internals in the reply."""
        log.error("smtp_session_error", error=type(error).__name__, exc_info=error)
        return REPLY_TEMPORARY


class InboundSMTP(SMTP):
    """aiosmtpd's protocol with Kefu's envelope, replies with enhanced codes and a session cap."""

    def __init__(self, handler: InboundHandler, listener: SmtpListener, **options: object) -> None:
        super().__init__(handler, **options)  # type: ignore[arg-type]
        self._listener = listener
        self._refused = False

    def _create_envelope(self) -> InboundEnvelope:
        return InboundEnvelope()

    async def push(self, status: AnyStr) -> None:
        """Send a reply; aiosmtpd's own size refusals get their RFC 3463 code and the limit."""
        if isinstance(status, str) and status.startswith("552 Error:"):
            EMAIL_INBOUND_REJECTED.labels(reason="too_big").inc()
            await super().push(REPLY_TOO_BIG.format(limit=self.data_size_limit))
            return
        await super().push(status)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Serve the session, or answer 421 and hang up when `max_connections` are open."""
        if not self._listener.admit(self):
            self._refused = True
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(REPLY_TOO_MANY_CONNECTIONS)
            transport.close()
            return
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        """Free the session's place (a refused one never took one)."""
        if self._refused:
            return
        self._listener.release(self)
        super().connection_lost(error)


class SmtpListener:
    """A listening socket on the running loop serving InboundSMTP sessions; `start()`, then `close()`."""

    def __init__(
        self,
        handler: InboundHandler,
        host: str,
        port: int,
        *,
        hostname: str,
        max_connections: int | None = None,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.hostname = hostname
        self.max_connections = max_connections or handler.max_inflight * CONNECTIONS_PER_INFLIGHT
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._sessions: set[InboundSMTP] = set()

    def admit(self, protocol: InboundSMTP) -> bool:
        """Count a new session in; False when the listener is full."""
        if len(self._sessions) >= self.max_connections:
            log.warning("smtp_busy", stage="connect", sessions=len(self._sessions))
            return False
        self._sessions.add(protocol)
        return True

    def release(self, protocol: InboundSMTP) -> None:
        """Count a closed session out."""
        self._sessions.discard(protocol)

    @property
    def sessions(self) -> int:
        """Sessions open right now."""
        return len(self._sessions)

    def _protocol(self) -> InboundSMTP:
        return InboundSMTP(
            self.handler,
            self,
            data_size_limit=self.handler.settings.inbound_max_bytes,
            decode_data=False,
            enable_SMTPUTF8=True,
            hostname=self.hostname,
            ident=IDENT,
            timeout=self.idle_timeout,
            # No AUTH at all: there is nothing to log in to, and no relaying to unlock.
            auth_exclude_mechanism=["LOGIN", "PLAIN"],
            command_call_limit=COMMAND_CALL_LIMIT,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> SmtpListener:
        """Bind and listen (OSError when the address is taken or not ours); `port` 0 picks a free one."""
        # aiosmtpd logs every command at INFO and DATA lines at DEBUG: keep only its warnings.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "smtp_listening",
            host=self.host,
            port=self.port,
            max_bytes=self.handler.settings.inbound_max_bytes,
        )
        return self

    async def close(self, *, grace: float = 10.0) -> None:
        """Stop accepting, let messages being stored finish (up to `grace` seconds), then hang up."""
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.handler.wait_idle()
        for protocol in list(self._sessions):
            if protocol.transport is not None:
                protocol.transport.close()
        await self._server.wait_closed()
        self._server = None
        log.info("smtp_stopped", host=self.host, port=self.port)


async def start_listener(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    settings: Settings,
    host: str,
    port: int,
    *,
    hostname: str | None = None,
    idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    max_connections: int | None = None,
) -> SmtpListener:
    """A started listener on `host`:`port` of the running loop; OSError when it cannot bind."""
    handler = InboundHandler(sessionmaker, blobs, settings)
    listener = SmtpListener(
        handler,
        host,
        port,
        hostname=hostname or mail_domain(settings),
        idle_timeout=idle_timeout,
        max_connections=max_connections,
    )
    return await listener.start()
