"""The long-lived parts of a Kefu process, built once at start-up (never at import time)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import InitVar, dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.channels.adapter import ChannelAdapter
from kefu.channels.factory import build_adapters
from kefu.chat.limits import ChatLimits, create_chat_limits
from kefu.db.driver import close_driver_connections
from kefu.db.engine import create_engine, create_sessionmaker
from kefu.events.bus import EventBus, install_bus
from kefu.events.log import EventLog, MemoryEventLog, RedisEventLog
from kefu.inboxes.models import ChannelKind
from kefu.integrations.exchange.factory import create_exchange
from kefu.integrations.exchange.port import ExchangePort
from kefu.jobs.periodic import Scheduler
from kefu.jobs.registry import HandlerRegistry
from kefu.jobs.worker import Worker
from kefu.mail.factory import create_mail_transport
from kefu.mail.imap_poller import build_pollers, run_pollers
from kefu.mail.smtp_server import SmtpListener, listen_address, start_listener
from kefu.mail.transport import MailTransport
from kefu.pubsub.base import PubSub
from kefu.pubsub.factory import create_pubsub
from kefu.registry import bind_job_handlers, load_job_modules
from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.storage.factory import create_blob_store
from kefu.storage.s3 import S3BlobStore
from kefu.trust.scrubbing import configure_redaction

log = structlog.get_logger(__name__)


def build_job_handlers(runtime: Runtime) -> HandlerRegistry:
    """Every outbox job this process can run (each domain lists its own in its `jobs` module)."""
    return HandlerRegistry(bind_job_handlers(runtime))


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    pubsub: PubSub
    bus: EventBus
    exchange: ExchangePort
    # Outbound email. Built from the settings unless one is handed in (tests aim theirs at an SMTP sink).
    mail_transport: InitVar[MailTransport | None] = None
    mail: MailTransport = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    # The inbound SMTP listener, when this process runs one (start_smtp).
    smtp: SmtpListener | None = field(default=None, init=False)
    # Per-visitor chat limits (in Redis when configured, so every node counts together).
    chat_limits: ChatLimits = field(init=False)
    # The social and phone channels' adapters (kefu.channels.factory); tests hand in stand-ins.
    channel_adapters: dict[ChannelKind, ChannelAdapter] = field(default_factory=dict)
    # The reports' read replica (settings.reports_database_url), opened on first use.
    _reports_engine: AsyncEngine | None = field(default=None, init=False)
    _reports_sessionmaker: async_sessionmaker[AsyncSession] | None = field(default=None, init=False)

    def __post_init__(self, mail_transport: MailTransport | None) -> None:
        self.mail = mail_transport if mail_transport is not None else create_mail_transport(self.settings)
        self.chat_limits = create_chat_limits(
            self.settings.redis_url, max_posts_in_flight=self.settings.chat_max_posts_in_flight
        )

    @property
    def reports_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for the dashboards: a read replica when one is configured, else the primary.

        Reports only read, and their scans are the heaviest queries Kefu runs; on a replica they
        cannot slow down the writes that agents and customers wait for (docs/deployment.md).
        """
        url = self.settings.reports_database_url
        if not url:
            return self.sessionmaker
        if self._reports_sessionmaker is None:
            self._reports_engine = create_engine(url)
            self._reports_sessionmaker = create_sessionmaker(self._reports_engine)
        return self._reports_sessionmaker

    async def prepare(self) -> None:
        """One-off start-up work that needs the event loop (e.g. the S3 bucket must exist)."""
        if isinstance(self.blobs, S3BlobStore):
            await self.blobs.ensure_bucket()

    def start_worker(self) -> None:
        """Run the outbox worker loop in this process (the embedded default of `kefu serve`)."""
        worker = Worker(
            self.sessionmaker,
            build_job_handlers(self),
            concurrency=self.settings.worker_concurrency,
            poll_interval=self.settings.worker_poll_seconds,
        )
        self._tasks.append(asyncio.create_task(worker.run(self._stop), name="kefu-worker"))
        _handlers, periodic = load_job_modules()
        scheduler = Scheduler(self.sessionmaker, periodic)
        self._tasks.append(asyncio.create_task(scheduler.run(self._stop), name="kefu-scheduler"))
        self.start_imap()
        self.start_telegram_polling()
        # Reports follow conversation events within seconds (the minute job is the backstop).
        from kefu.reports.follow import follow_domain_events

        follow = follow_domain_events(self.bus, self.sessionmaker, self._stop)
        self._tasks.append(asyncio.create_task(follow, name="kefu-reports-follow"))

    def start_telegram_polling(self) -> None:
        """Long-poll the Telegram inboxes set to `polling` mode (nothing when there are none).

        Like IMAP it runs where the outbox worker runs; with several worker processes Telegram answers
        all but one poller with 409 and they back off (docs/channels/telegram.md).
        """
        adapter = self.channel_adapters.get(ChannelKind.TELEGRAM)
        if adapter is None:
            return
        from kefu.channels.telegram.polling import run_polling
        from kefu.trust.keys import keyring_from_settings

        polling = run_polling(
            adapter, self.sessionmaker, self.blobs, keyring_from_settings(self.settings), self._stop
        )
        self._tasks.append(asyncio.create_task(polling, name="kefu-telegram-polling"))

    def start_imap(self) -> None:
        """Poll the `imap_mailboxes` in this process; start_worker calls it, so mail is fetched wherever
        the outbox worker runs (`kefu worker`, `kefu serve` by default). Nothing when none is set."""
        if pollers := build_pollers(self.settings, self.sessionmaker, self.blobs):
            self._tasks.append(asyncio.create_task(run_pollers(pollers, self._stop), name="kefu-imap"))

    async def start_smtp(
        self, host: str | None = None, port: int | None = None, *, must_bind: bool = False
    ) -> SmtpListener | None:
        """Run the inbound SMTP listener on this loop (`kefu serve` by default, `kefu smtp`).

        `host`/`port` default to `smtp_listen` (empty: no listener). When the address cannot be used,
        `kefu serve` (must_bind False) logs an error and keeps serving HTTP without SMTP; `kefu smtp`
        (must_bind True) gets the OSError or ValueError.
        """
        try:
            if host is None or port is None:
                configured = listen_address(self.settings.smtp_listen)
                if configured is None:
                    return None
                host = configured[0] if host is None else host
                port = configured[1] if port is None else port
            self.smtp = await start_listener(self.sessionmaker, self.blobs, self.settings, host, port)
        except (OSError, ValueError) as exc:
            if must_bind:
                raise
            log.error("smtp_listener_not_started", listen=f"{host}:{port}", error=str(exc))
            return None
        return self.smtp

    async def stop_smtp(self) -> None:
        """Stop the SMTP listener, letting messages being stored finish first."""
        if self.smtp is not None:
            await self.smtp.close()
            self.smtp = None

    def request_stop(self) -> None:
        """Ask background loops to finish (signal handlers call this)."""
        self._stop.set()

    async def wait_stopped(self) -> None:
        """Wait until a stop has been requested."""
        await self._stop.wait()

    async def close(self) -> None:
        """Stop background loops and release connections."""
        self._stop.set()
        await self.stop_smtp()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        await self.exchange.aclose()
        for adapter in self.channel_adapters.values():
            await adapter.aclose()
        await self.blobs.close()
        await self.pubsub.close()
        await self.chat_limits.close()
        if isinstance(self.bus.log, RedisEventLog):
            await self.bus.log.close()
        await close_driver_connections(self.engine)
        await self.engine.dispose()
        await self.close_reports_replica()

    async def close_reports_replica(self) -> None:
        """Release the replica's connections (reopened on next use, e.g. after the URL changed)."""
        if self._reports_engine is not None:
            await self._reports_engine.dispose()
        self._reports_engine = self._reports_sessionmaker = None


def build_runtime(settings: Settings) -> Runtime:
    """Create engines and clients from settings; installs the process-wide event bus."""
    engine = create_engine(settings.database_url)
    pubsub = create_pubsub(settings)
    log: EventLog = RedisEventLog(settings.redis_url) if settings.redis_url else MemoryEventLog(pubsub)
    bus = EventBus(pubsub, log=log)
    install_bus(bus)
    configure_redaction(settings.redaction_patterns)
    return Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        blobs=create_blob_store(settings),
        pubsub=pubsub,
        bus=bus,
        exchange=create_exchange(settings),
        channel_adapters=build_adapters(settings),
    )
