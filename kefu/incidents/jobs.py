"""Outbox job handlers and periodic tasks of this domain."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.conversations.timeline import NewMessage, append_message
from kefu.i18n import DEFAULT_LOCALE, get_translator, normalise_locale
from kefu.inboxes.models import ChannelKind
from kefu.incidents.components import component_name
from kefu.incidents.models import Incident
from kefu.incidents.service import localized
from kefu.incidents.states import NOTIFY_JOB, IncidentKind
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError

log = structlog.get_logger(__name__)


def notice_client_id(incident_id: uuid.UUID) -> str:
    """The message client_id of an incident's notice: one per conversation, so a retry adds nothing."""
    return f"incident-notify:{incident_id}"


def notice_text(incident: Incident, locale: str) -> str:
    """The customer-facing notice that an incident is resolved (or maintenance completed), in `locale`."""
    t = get_translator(locale)
    title = localized(incident.title, locale)
    names = ", ".join(component_name(key, locale) for key in incident.components)
    if incident.kind == IncidentKind.MAINTENANCE:
        return t.gettext(
            "The maintenance “%(title)s” (%(components)s) is complete and everything is working again. "
            "Thank you for your patience.",
            title=title,
            components=names,
        )
    return t.gettext(
        "The issue affecting %(components)s (“%(title)s”) has been resolved. "
        "If you still have a problem, reply to this message and we will help you.",
        title=title,
        components=names,
    )


def _ids(payload: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        return uuid.UUID(str(payload["incident_id"])), uuid.UUID(str(payload["conversation_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError(f"malformed incident.notify payload: {exc}") from exc


async def notify_conversation(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Post the resolution notice as a system reply in the conversation's language (once, ever)."""
    incident_id, conversation_id = _ids(payload)
    session = ctx.session
    incident = await session.get(Incident, incident_id)
    conversation = await session.get(Conversation, conversation_id)
    if incident is None or conversation is None:
        return  # deleted since: nobody left to tell
    if conversation.status == Status.CLOSED:
        log.info("incident_notice_skipped_closed", conversation_id=str(conversation_id))
        return
    client_id = notice_client_id(incident_id)
    already = await session.scalar(
        select(Message.id).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
    )
    if already is not None:
        return
    locale = normalise_locale(conversation.locale) or DEFAULT_LOCALE
    new = NewMessage(
        body=notice_text(incident, locale),
        kind=MessageKind.REPLY,
        client_id=client_id,
        data={"incident_id": str(incident_id)},
    )
    try:
        async with session.begin_nested():
            await append_message(
                session,
                conversation,
                None,
                new,
                author=AuthorKind.SYSTEM,
                channel=ChannelKind(conversation.channel),
            )
    except IntegrityError:
        return  # another run posted it first (the unique client_id held)


HANDLERS: dict[str, JobHandler] = {NOTIFY_JOB: notify_conversation}
PERIODIC: tuple[PeriodicTask, ...] = ()
