"""What domain code counts: outbox job outcomes, inbound and outbound email, SLA breaches."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue
from kefu.jobs.registry import HandlerRegistry, JobContext, PermanentJobError
from kefu.jobs.worker import Worker
from kefu.mail.file import FileTransport
from kefu.mail.jobs import mail_handlers
from kefu.mail.models import InboundSource
from kefu.mail.outbox import queue_email
from kefu.mail.receive import Envelope, accept_inbound
from kefu.observability.metrics import REGISTRY
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.sla.jobs import do_scan_sla
from tests.conftest import Database
from tests.factories import make_agent, open_conversation
from tests.schedules.conftest import api
from tests.sla.conftest import clock
from tests.sla.helpers import add_policy

__all__ = ["api", "clock"]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _worker_run(db: Database, handlers: dict[str, Any], jobs: list[tuple[str, dict[str, Any]]]) -> None:
    async with transaction(db.sessionmaker) as session:
        for name, payload in jobs:
            await enqueue(session, name, payload, max_attempts=2)
    worker = Worker(db.sessionmaker, HandlerRegistry(handlers), rng=random.Random(1))
    await worker.run_once()


async def test_job_outcomes_are_counted_and_logged_with_their_ids(db: Database) -> None:
    conversation_id = str(uuid.uuid4())

    async def fine(ctx: JobContext, payload: dict[str, Any]) -> None:
        structlog.get_logger("probe").info("inside_job")

    async def broken(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise PermanentJobError("cannot ever work")

    before = {
        outcome: value("kefu_outbox_jobs_finished_total", job=job, outcome=outcome)
        for job, outcome in (("test.fine", "done"), ("test.broken", "dead"))
    }
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await _worker_run(
            db,
            {"test.fine": fine, "test.broken": broken},
            [
                ("test.fine", {"conversation_id": conversation_id, "email": "a@example.com"}),
                ("test.broken", {}),
            ],
        )
    assert value("kefu_outbox_jobs_finished_total", job="test.fine", outcome="done") == before["done"] + 1
    assert value("kefu_outbox_jobs_finished_total", job="test.broken", outcome="dead") == before["dead"] + 1
    assert value("kefu_outbox_job_duration_seconds_count", job="test.fine") >= 1
    [inside] = [line for line in logs if line["event"] == "inside_job"]
    assert inside["conversation_id"] == conversation_id
    assert inside["job"] == "test.fine"
    assert "job_id" in inside
    assert "a@example.com" not in repr(logs)
    assert "conversation_id" not in structlog.contextvars.get_contextvars()


async def test_inbound_mail_is_counted_stored_then_duplicate(runtime: Runtime) -> None:
    raw = b"From: a@example.com\r\nTo: support@kefu.test\r\nSubject: hi\r\n\r\nhello\r\n"
    envelope = Envelope(mailbox="support@kefu.test", source=InboundSource.IMAP)
    stored = value("kefu_email_inbound_total", source="imap", result="stored")
    duplicate = value("kefu_email_inbound_total", source="imap", result="duplicate")
    await accept_inbound(runtime.sessionmaker, runtime.blobs, raw, envelope)
    await accept_inbound(runtime.sessionmaker, runtime.blobs, raw, envelope)
    assert value("kefu_email_inbound_total", source="imap", result="stored") == stored + 1
    assert value("kefu_email_inbound_total", source="imap", result="duplicate") == duplicate + 1


async def test_outbound_mail_is_counted_when_sent(db: Database, settings: Settings, tmp_path: Path) -> None:
    sent = value("kefu_email_outbound_total", template="customer_sign_in", result="sent")
    async with transaction(db.sessionmaker) as session:
        await queue_email(
            session,
            template="customer_sign_in",
            to="bob@example.com",
            locale="en",
            context={"code": "654321", "link": "https://kefu.test/hc/en/x", "minutes": 15},
            idempotency_key="sign-in:metrics",
        )
    handlers = mail_handlers(settings, FileTransport(tmp_path / "outbox"))
    await Worker(db.sessionmaker, HandlerRegistry(handlers)).run_once()
    assert value("kefu_email_outbound_total", template="customer_sign_in", result="sent") == sent + 1


async def test_sla_breaches_are_counted_once_and_only_when_committed(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    await add_policy(api, boss, first_response_minutes=60)
    await open_conversation(api, boss)
    clock.advance(timedelta(hours=3))
    before = value("kefu_sla_breaches_total", target="first_response")

    async def scan_then_roll_back() -> None:
        async with transaction(db.sessionmaker) as session:
            assert await do_scan_sla(session, clock.now()) == (1, 0)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await scan_then_roll_back()
    assert value("kefu_sla_breaches_total", target="first_response") == before

    async with transaction(db.sessionmaker) as session:
        assert await do_scan_sla(session, clock.now()) == (1, 0)
    async with transaction(db.sessionmaker) as session:
        assert await do_scan_sla(session, clock.now()) == (0, 0)
    assert value("kefu_sla_breaches_total", target="first_response") == before + 1
