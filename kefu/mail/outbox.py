"""Queue an email in the caller's transaction: it is sent (once) only if that transaction commits.

The job carries the template name and its checked context, not the rendered message: it is rendered,
composed and DKIM-signed when it runs, by `kefu.mail.sender`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import utcnow
from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.jobs.enqueue import enqueue
from kefu.mail.compose import MAX_REFERENCES
from kefu.mail.headers import check_message_id, clean_address, mail_domain
from kefu.mail.specs import check_anti_phishing_code, check_reference, get_spec
from kefu.settings import Settings

MAIL_SEND: Final = "mail.send"
# With the worker's full-jitter backoff (capped at an hour) this rides out a relay outage of ~7 hours.
MAX_ATTEMPTS: Final = 24
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 200


class MailJob(BaseModel):
    """The `mail.send` payload (plain JSON in outbox_jobs.payload); `v` versions its shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    template: str
    to: str
    locale: str
    context: dict[str, Any]
    idempotency_key: str
    reference: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    anti_phishing_code: str | None = None
    queued_at: datetime
    # Past this the email is useless (a sign-in code that has expired): dropped, never sent late.
    expires_at: datetime | None = None


def check_idempotency_key(key: str) -> str:
    """1..200 printable characters; ValueError otherwise."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise ValueError(f"idempotency_key must be 1..{MAX_IDEMPOTENCY_KEY_LENGTH} printable characters")
    return key


def message_id_for(idempotency_key: str, settings: Settings) -> str:
    """The Message-ID of the email queued under `idempotency_key`: the same on every (re)send.

    Keyed with the secret key, so nobody can predict the Message-ID of another customer's email and
    forge an In-Reply-To that threads a spoofed reply into their conversation.
    """
    check_idempotency_key(idempotency_key)
    secret = settings.secret_key.get_secret_value().encode()
    mac = hmac.new(secret, b"kefu.mail.message-id\0" + idempotency_key.encode(), hashlib.sha256)
    # 128 bits are plenty to be unguessable, and keep "Message-ID: <…>" on one 78-character line.
    digest = mac.hexdigest()[:32]
    return f"<{digest}@{mail_domain(settings)}>"


def dedupe_key_for(idempotency_key: str) -> str:
    """The outbox dedupe key of an email (fits the column whatever the caller's key looks like)."""
    return "mail:" + hashlib.sha256(check_idempotency_key(idempotency_key).encode()).hexdigest()


async def queue_email(
    session: AsyncSession,
    *,
    template: str,
    to: str,
    locale: str,
    context: Mapping[str, Any],
    idempotency_key: str,
    reference: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    anti_phishing_code: str | None = None,
) -> bool:
    """Queue one templated email in the session's transaction (never commits).

    Everything is checked first (template, context keys and values, address, Message-IDs): on
    ValueError nothing is queued. False when an email with this idempotency key was queued before.
    """
    spec = get_spec(template)
    checked = spec.check_context(context)
    if isinstance(references, str) or len(references) > MAX_REFERENCES:
        raise ValueError(f"references is a sequence of at most {MAX_REFERENCES} Message-IDs")
    now = utcnow()
    lifetime = checked[spec.lifetime_field] if spec.lifetime_field else None
    job = MailJob(
        template=spec.name,
        to=clean_address(to),
        locale=normalise_locale(locale) or DEFAULT_LOCALE,
        context=checked,
        idempotency_key=check_idempotency_key(idempotency_key),
        reference=check_reference(reference) if reference is not None else None,
        in_reply_to=check_message_id(in_reply_to) if in_reply_to is not None else None,
        references=tuple(check_message_id(value) for value in references),
        anti_phishing_code=check_anti_phishing_code(anti_phishing_code),
        queued_at=now,
        expires_at=now + timedelta(minutes=lifetime) if lifetime is not None else None,
    )
    return await enqueue(
        session,
        MAIL_SEND,
        job.model_dump(mode="json"),
        dedupe_key=dedupe_key_for(idempotency_key),
        max_attempts=MAX_ATTEMPTS,
    )
