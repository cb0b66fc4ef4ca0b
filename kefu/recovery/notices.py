"""The customer's emails about a recovery case: received, and the decision. Never any document."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.acknowledge import my_requests_url
from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.mail.outbox import queue_email
from kefu.mail.render import format_due
from kefu.recovery.models import RecoveryCase, RecoveryStatus
from kefu.recovery.reasons import HOLD_REASONS, TEMPLATES
from kefu.settings import Settings


def _locale(case: RecoveryCase) -> str:
    return normalise_locale(case.locale) or DEFAULT_LOCALE


async def queue_recovery_received(
    session: AsyncSession, case: RecoveryCase, reference: str, *, settings: Settings
) -> bool:
    """Queue the acknowledgement of a new case to the address the customer gave (once per case)."""
    locale = _locale(case)
    return await queue_email(
        session,
        template="recovery_received",
        to=case.email,
        locale=locale,
        context={
            "reference": reference,
            "purge_days": settings.recovery_purge_days,
            "requests_url": my_requests_url(settings.base_url, locale),
        },
        idempotency_key=f"recovery-received:{case.id}",
        reference=reference,
    )


async def queue_recovery_decided(
    session: AsyncSession, case: RecoveryCase, reference: str, *, settings: Settings
) -> bool:
    """Queue the decision email in the case's language (once per case); the case must be decided."""
    if case.decision_template is None or case.status not in (
        RecoveryStatus.APPROVED,
        RecoveryStatus.REJECTED,
    ):
        raise ValueError("the case has no decision yet")
    locale = _locale(case)
    template = TEMPLATES[case.decision_template]
    hold_reason = HOLD_REASONS.get(case.security_hold_reason or "")
    hold_until = case.security_hold_until
    return await queue_email(
        session,
        template="recovery_decided",
        to=case.email,
        locale=locale,
        context={
            "reference": reference,
            "outcome": str(case.status),
            "reason": template.customer_text,
            "purge_days": settings.recovery_purge_days,
            "requests_url": my_requests_url(settings.base_url, locale),
            "hold_reason": hold_reason,
            # Worded now: the reader's language is known, and the email states the hold's end in UTC.
            "hold_until": format_due(hold_until.isoformat(), "UTC", locale) if hold_until else None,
        },
        idempotency_key=f"recovery-decided:{case.id}",
        reference=reference,
    )
