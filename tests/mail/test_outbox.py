"""queue_email: checks everything before queuing, queues once per key, inside the caller's transaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.mail.outbox import MAIL_SEND, MAX_ATTEMPTS, dedupe_key_for, message_id_for, queue_email
from kefu.settings import Settings
from tests.conftest import Database

SIGN_IN: dict[str, Any] = {
    "code": "012345",
    "link": "https://kefu.test/hc/en/requests/sign-in?t=abc",
    "minutes": 15,
}


async def queue(session: AsyncSession, **changes: Any) -> bool:
    arguments: dict[str, Any] = {
        "template": "customer_sign_in",
        "to": "alice@example.com",
        "locale": "en",
        "context": SIGN_IN,
        "idempotency_key": "sign-in:1",
    }
    return await queue_email(session, **(arguments | changes))


async def jobs(db: Database) -> list[OutboxJob]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(OutboxJob)))


async def test_queues_one_checked_job_in_the_callers_transaction(db: Database, clock: FrozenClock) -> None:
    async with transaction(db.sessionmaker) as session:
        assert await queue(
            session,
            locale="zh-TW",
            reference="KF-12345678",
            in_reply_to="<p@example.com>",
            references=["<r@example.com>", "<p@example.com>"],
            anti_phishing_code="BLUE-42",
        )
    [job] = await jobs(db)
    assert job.name == MAIL_SEND == "mail.send"
    assert job.status == JobStatus.PENDING
    assert job.max_attempts == MAX_ATTEMPTS
    assert job.dedupe_key == dedupe_key_for("sign-in:1")
    assert job.payload == {
        "v": 1,
        "template": "customer_sign_in",
        "to": "alice@example.com",
        "locale": "zh-CN",  # every Chinese variant reads the Simplified catalog
        "context": SIGN_IN,
        "idempotency_key": "sign-in:1",
        "reference": "KF-12345678",
        "in_reply_to": "<p@example.com>",
        "references": ["<r@example.com>", "<p@example.com>"],
        "anti_phishing_code": "BLUE-42",
        "queued_at": "2025-03-01T12:00:00Z",
        "expires_at": "2025-03-01T12:15:00Z",  # a sign-in code is useless after its 15 minutes
    }


async def test_same_key_is_queued_once_and_a_rollback_queues_nothing(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        assert await queue(session)
        assert not await queue(session, to="bob@example.com")
    async with transaction(db.sessionmaker) as session:
        assert not await queue(session)
    async with db.sessionmaker() as session:
        assert await queue(session, idempotency_key="sign-in:2")
        await session.rollback()
    assert [job.payload["to"] for job in await jobs(db)] == ["alice@example.com"]


async def test_unknown_locale_falls_back_to_english(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        await queue(session, locale="fr-FR")
        await queue(session, locale="", idempotency_key="k2")
    assert {job.payload["locale"] for job in await jobs(db)} == {"en"}


@pytest.mark.parametrize(
    "changes",
    [
        {"template": "no_such_template"},
        {"context": {"code": "012345", "link": "https://kefu.test/x"}},  # minutes missing
        {"context": SIGN_IN | {"password": "x"}},  # not a key of this template
        {"context": SIGN_IN | {"code": 12345}},
        {"context": SIGN_IN | {"code": "12345a"}},
        {"context": SIGN_IN | {"link": "javascript:alert(1)"}},
        {"context": SIGN_IN | {"link": "https://kefu.test/a b"}},
        {"context": SIGN_IN | {"minutes": True}},
        {"context": SIGN_IN | {"minutes": 0}},
        {"context": "not a mapping"},
        {"to": "alice@example.com\r\nBcc: x@evil.example"},
        {"to": "alice@example.com, x@evil.example"},
        {"to": "Alice <alice@example.com>"},
        {"to": "not-an-address"},
        {"reference": "KF-1"},
        {"reference": "KF-12345678\r\nBcc: x@evil.example"},
        {"in_reply_to": "<a@b>\r\nBcc: x@evil.example"},
        {"references": "<a@b>"},  # a string is not a list of Message-IDs
        {"references": [f"<r{i}@b>" for i in range(21)]},
        {"anti_phishing_code": "x\r\ny"},
        {"anti_phishing_code": "x" * 41},
        {"anti_phishing_code": ""},
        {"idempotency_key": ""},
        {"idempotency_key": "k" * 201},
        {"idempotency_key": "a\nb"},
    ],
)
async def test_bad_input_raises_before_anything_is_queued(db: Database, changes: dict[str, Any]) -> None:
    async with transaction(db.sessionmaker) as session:
        with pytest.raises(ValueError):
            await queue(session, **changes)
        assert await session.scalar(select(func.count()).select_from(OutboxJob)) == 0


async def test_request_received_context_is_checked(db: Database) -> None:
    good: dict[str, Any] = {
        "reference": "KF-12345678",
        "subject": "Deposit",
        "first_response_due": "2025-03-01T14:00:00+08:00",
        "requests_url": "https://kefu.test/hc/en/requests",
    }
    bad: list[dict[str, Any]] = [
        {"first_response_due": "2025-03-01T14:00:00"},  # no offset: ambiguous
        {"first_response_due": "tomorrow"},
        {"time_zone": "Mars/Olympus"},
        {"subject": "x" * 1001},
        {"subject": None},
    ]
    async with transaction(db.sessionmaker) as session:
        for changes in bad:
            with pytest.raises(ValueError):
                await queue(session, template="request_received", context=good | changes)
        assert await queue(session, template="request_received", context=good, idempotency_key="ack:1")
    [job] = await jobs(db)
    assert job.payload["context"] == good | {"time_zone": "UTC"}
    assert job.payload["expires_at"] is None


def test_message_id_is_stable_per_key_and_unguessable_without_the_secret(mail_settings: Settings) -> None:
    first = message_id_for("ack:KF-12345678", mail_settings)
    assert first == message_id_for("ack:KF-12345678", mail_settings)
    assert re.fullmatch(r"<[0-9a-f]{32}@kefu\.test>", first)
    assert message_id_for("ack:KF-12345679", mail_settings) != first
    other_secret = mail_settings.model_copy(update={"secret_key": SecretStr("another-secret-" * 3)})
    assert message_id_for("ack:KF-12345678", other_secret) != first
    own_domain = mail_settings.model_copy(update={"mail_domain": "mail.kefu.test"})
    assert message_id_for("ack:KF-12345678", own_domain).endswith("@mail.kefu.test>")
    with pytest.raises(ValueError):
        message_id_for("", mail_settings)


def test_dedupe_keys_fit_the_column_for_any_key() -> None:
    assert len(dedupe_key_for("k" * 200)) == len("mail:") + 64
    assert dedupe_key_for("a") != dedupe_key_for("b")


async def test_queued_at_is_tz_aware(db: Database, clock: FrozenClock) -> None:
    async with transaction(db.sessionmaker) as session:
        await queue(session)
    [job] = await jobs(db)
    assert datetime.fromisoformat(job.payload["queued_at"]) == datetime(2025, 3, 1, 12, tzinfo=UTC)
