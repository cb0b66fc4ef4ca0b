"""The "we received your request" email: reference, when we aim to answer, where to follow it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation
from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.mail.models import ThreadDirection
from kefu.mail.outbox import message_id_for, queue_email
from kefu.mail.threading import remember_message_ids
from kefu.schedules.service import get_calendar_for_team
from kefu.settings import Settings
from kefu.sla.models import ConversationSla


def my_requests_url(base_url: str, locale: str) -> str:
    """Where a customer follows their requests (the help center's My requests, in their language)."""
    hc_locale = "zh-CN" if locale.lower().startswith("zh") else "en"
    return f"{base_url.rstrip('/')}/hc/{hc_locale}/my/requests"


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
    session: AsyncSession,
    conversation: Conversation,
    *,
    email: str,
    settings: Settings,
    in_reply_to: str | None = None,
) -> bool:
    """Queue the acknowledgement in the caller's transaction; False when it was queued before.

    The promised time is the SLA's first-response deadline (business hours and holidays already
    applied), shown in the team's time zone; without an SLA the email makes no promise. Its Message-ID
    is remembered, so the customer's reply to it threads into this conversation, and so is
    `in_reply_to` (the customer's email being acknowledged) in the same statement.
    """
    sla = await session.get(ConversationSla, conversation.id)
    due = sla.first_response_due_at if sla is not None else None
    calendar = await get_calendar_for_team(session, conversation.team_id)
    locale = normalise_locale(conversation.locale) or DEFAULT_LOCALE
    key = acknowledgement_key(conversation)
    queued = await queue_email(
        session,
        template="request_received",
        to=email,
        locale=locale,
        context={
            "reference": conversation.reference,
            "subject": conversation.subject,
            "first_response_due": due.isoformat() if due is not None else None,
            "time_zone": calendar.zone.key,
            "requests_url": my_requests_url(settings.base_url, locale),
        },
        idempotency_key=key,
        reference=conversation.reference,
        in_reply_to=in_reply_to,
        references=(in_reply_to,) if in_reply_to else (),
    )
    await remember_message_ids(
        session,
        conversation.id,
        [message_id_for(key, settings)] if queued else [],
        ThreadDirection.OUT,
        incoming=[in_reply_to],
    )
    return queued
