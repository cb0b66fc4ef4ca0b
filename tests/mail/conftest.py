"""Mail test fixtures: a real SMTP sink, settings aimed at it, a frozen clock and a mail-only worker."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kefu.core.clock import FrozenClock, set_clock
from kefu.jobs.registry import HandlerRegistry
from kefu.jobs.worker import Worker
from kefu.mail.jobs import mail_handlers
from kefu.mail.smtp import SmtpTransport
from kefu.mail.transport import MailTransport
from kefu.settings import Settings
from tests.conftest import TEST_SECRET, Database
from tests.mail.sink import SmtpSink

MAIL_FROM = "Kefu Support <support@kefu.test>"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP sink on an ephemeral loopback port."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def mail_settings(tmp_path: Path) -> Settings:
    """Settings for tests without a database: SMTP to 127.0.0.1 (point `smtp_port` at a sink)."""
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        secret_key=SecretStr(TEST_SECRET),
        base_url="http://kefu.test",
        mail_transport="smtp",
        mail_from=MAIL_FROM,
        smtp_timeout_seconds=5,
    )


def smtp_settings(settings: Settings, port: int, **changes: Any) -> Settings:
    """`settings` sending through SMTP to 127.0.0.1:`port`."""
    update = {
        "mail_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout_seconds": 5,
        "mail_from": MAIL_FROM,
    }
    return settings.model_copy(update=update | changes)


def smtp_transport(port: int, **options: Any) -> SmtpTransport:
    """A transport to 127.0.0.1:`port` with a short timeout."""
    return SmtpTransport(host="127.0.0.1", port=port, timeout=5, **options)


def mail_worker(db: Database, settings: Settings, transport: MailTransport) -> Worker:
    """A worker that runs only mail jobs, with fixed jitter so "not due yet" checks cannot flake."""
    registry = HandlerRegistry(mail_handlers(settings, transport))
    return Worker(db.sessionmaker, registry, rng=random.Random(7), backoff_cap=3600)


async def run_all(worker: Worker) -> int:
    """Run due jobs until none is left; how many were claimed."""
    total = 0
    while claimed := await worker.run_once():
        total += claimed
    return total


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Freeze Kefu's clock (Date headers, run_at, expiry) at 2025-03-01 12:00 UTC."""
    frozen = FrozenClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)
