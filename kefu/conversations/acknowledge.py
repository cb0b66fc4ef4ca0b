"""The "we received your request" email: reference, when we aim to answer, where to follow it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation
from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.mail.outbox import queue_email
from kefu.schedules.service import get_calendar_for_team
from kefu.sla.models import ConversationSla


def acknowledgement_key(conversation: Conversation) -> str:
    """One acknowledgement per conversation, however often the create request is retried."""
    return f"request-received:{conversation.id}"


async def contact_email(session: AsyncSession, contact_id: uuid.UUID) -> str | None:
    """The contact's email address (verified ones first), or None when they have none."""
    return await session.scalar(
        select(ContactIdentity.value)
        .where(ContactIdentity.contact_id == contact_id, ContactIdentity.kind == IdentityKind.EMAIL)
        .order_by(ContactIdentity.verified_at.is_(None), ContactIdentity.value)
        .limit(1)
    )


async def queue_acknowledgement(
    session: AsyncSession, conversation: Conversation, *, email: str, requests_url: str
) -> bool:
    """Queue the acknowledgement in the caller's transaction; False when it was queued before.

    The promised time is the SLA's first-response deadline (business hours and holidays already
    applied), shown in the team's time zone; without an SLA the email makes no promise.
    """
    sla = await session.get(ConversationSla, conversation.id)
    due = sla.first_response_due_at if sla is not None else None
    calendar = await get_calendar_for_team(session, conversation.team_id)
    locale = normalise_locale(conversation.locale) or DEFAULT_LOCALE
    return await queue_email(
        session,
        template="request_received",
        to=email,
        locale=locale,
        context={
            "reference": conversation.reference,
            "subject": conversation.subject,
            "first_response_due": due.isoformat() if due is not None else None,
            "time_zone": calendar.zone.key,
            "requests_url": requests_url,
        },
        idempotency_key=acknowledgement_key(conversation),
        reference=conversation.reference,
    )
