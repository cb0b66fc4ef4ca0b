"""Incident state changes: open, post timed updates, resolve, and link conversations.

Actions never commit. Resolving queues one outbox job per linked conversation in the same
transaction, so customers hear about it only if the resolution is durable (and exactly once).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.channels.announce import queue_announcements
from kefu.conversations.access import access_conversation_by_id
from kefu.conversations.actions import notify_conversation_updated
from kefu.conversations.models import Conversation
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kefu.i18n import DEFAULT_LOCALE
from kefu.inboxes.models import ChannelKind
from kefu.incidents.models import Incident, IncidentConversation, IncidentUpdate
from kefu.incidents.schemas import IncidentCreate, ResolveIn, UpdateCreate
from kefu.incidents.states import (
    FINAL_STATUS,
    INCIDENT_SEVERITIES,
    INITIAL_STATUS,
    NOTIFY_JOB,
    IncidentKind,
    IncidentStatus,
    Severity,
    can_transition,
    is_final,
)
from kefu.jobs.enqueue import enqueue


def _check_supervisor(actor: AgentActor) -> None:
    if not actor.is_supervisor_or_admin:
        raise PermissionDenied("incidents are managed by supervisors")


def notify_dedupe_key(incident_id: uuid.UUID, conversation_id: uuid.UUID) -> str:
    """The outbox dedupe key of one resolution notice (one per incident and conversation, ever)."""
    return f"incident-notify:{incident_id}:{conversation_id}"


async def do_create_incident(session: AsyncSession, actor: AgentActor, data: IncidentCreate) -> Incident:
    """Open an incident (status investigating) or schedule maintenance (status scheduled)."""
    _check_supervisor(actor)
    now = utcnow()
    if data.kind == IncidentKind.MAINTENANCE:
        if data.severity not in (None, Severity.MAINTENANCE):
            raise InvalidInput("maintenance has no severity", fields={"severity": "leave empty"})
        if data.starts_at is None or data.starts_at.tzinfo is None:
            raise InvalidInput(
                "maintenance needs a start time", fields={"starts_at": "required, with a time zone"}
            )
        severity, starts_at, started_at = Severity.MAINTENANCE, data.starts_at, None
    else:
        if data.severity is not None and data.severity not in INCIDENT_SEVERITIES:
            raise InvalidInput("an incident is minor, major or critical", fields={"severity": "invalid"})
        if data.starts_at is not None:
            raise InvalidInput("only maintenance is scheduled", fields={"starts_at": "leave empty"})
        severity, starts_at, started_at = data.severity or Severity.MINOR, None, now
    incident = Incident(
        kind=data.kind,
        title=dict(data.title),
        severity=severity,
        status=INITIAL_STATUS[data.kind],
        components=list(data.components),
        starts_at=starts_at,
        started_at=started_at,
        created_by=actor.agent_id,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    await session.flush()
    if data.body:
        first = IncidentUpdate(
            incident_id=incident.id,
            status=incident.status,
            body=dict(data.body),
            author_id=actor.agent_id,
            created_at=now,
        )
        session.add(first)
        await session.flush()
        await queue_announcements(session, first)
    return incident


async def _incident_for_update(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if incident is None:
        raise NotFound("incident not found")
    return incident


async def do_post_update(
    session: AsyncSession, actor: AgentActor, incident_id: uuid.UUID, data: UpdateCreate
) -> IncidentUpdate:
    """Post a timed update, moving the status; Conflict for a move the status machine forbids."""
    _check_supervisor(actor)
    incident = await _incident_for_update(session, incident_id)
    kind = IncidentKind(incident.kind)
    current = IncidentStatus(incident.status)
    if not can_transition(kind, current, data.status):
        raise Conflict(f"a {current.value} {kind.value} cannot become {data.status.value}")
    if data.status == current and not data.body:
        raise InvalidInput("an update without a status change needs text", fields={"body": "required"})
    now = utcnow()
    incident.status = data.status
    incident.updated_at = now
    if data.status == IncidentStatus.IN_PROGRESS or (is_final(data.status) and incident.started_at is None):
        incident.started_at = incident.started_at or now
    update = IncidentUpdate(
        incident_id=incident.id,
        status=data.status,
        body=dict(data.body),
        author_id=actor.agent_id,
        created_at=now,
    )
    session.add(update)
    if is_final(data.status):
        incident.resolved_at = now
        await _queue_notices(session, incident)
    await session.flush()
    await queue_announcements(session, update)
    return update


async def do_resolve(
    session: AsyncSession, actor: AgentActor, incident_id: uuid.UUID, data: ResolveIn
) -> IncidentUpdate:
    """Resolve an incident (or complete maintenance) and queue a notice to every linked customer."""
    incident = await _incident_for_update(session, incident_id)
    final = FINAL_STATUS[IncidentKind(incident.kind)]
    return await do_post_update(session, actor, incident_id, UpdateCreate(status=final, body=data.body))


async def _queue_notices(session: AsyncSession, incident: Incident) -> int:
    linked = await session.scalars(
        select(IncidentConversation.conversation_id).where(IncidentConversation.incident_id == incident.id)
    )
    queued = 0
    for conversation_id in linked:
        payload = {"incident_id": str(incident.id), "conversation_id": str(conversation_id)}
        key = notify_dedupe_key(incident.id, conversation_id)
        queued += await enqueue(session, NOTIFY_JOB, payload, dedupe_key=key)
    return queued


def _title(incident: Incident) -> str:
    texts = incident.title
    return texts.get(DEFAULT_LOCALE) or next(iter(texts.values()), "")


async def _record_link(
    session: AsyncSession,
    actor: AgentActor,
    conversation: Conversation,
    incident: Incident,
    *,
    linked: bool,
) -> None:
    # An internal event (agents only): "changed incident from — to <title>" in the timeline.
    title = _title(incident)
    data: dict[str, object] = {
        "field": "incident",
        "from": None if linked else title,
        "to": title if linked else None,
        "incident_id": str(incident.id),
    }
    await append_message(
        session,
        conversation,
        actor,
        NewMessage(body="", kind=MessageKind.EVENT, data=data),
        author=AuthorKind.AGENT,
        channel=ChannelKind(conversation.channel),
    )
    notify_conversation_updated(session, conversation)


async def do_link_conversation(
    session: AsyncSession, actor: AgentActor, conversation_id: uuid.UUID, incident_id: uuid.UUID
) -> tuple[IncidentConversation, bool]:
    """Link a conversation the agent may see to an ongoing incident; idempotent. Returns (link, created)."""
    conversation = await access_conversation_by_id(session, actor, conversation_id)
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident not found")
    existing = await session.get(IncidentConversation, (incident_id, conversation_id))
    if existing is not None:
        return existing, False
    if is_final(IncidentStatus(incident.status)):
        raise Conflict(f"this {incident.kind} is already over")
    link = IncidentConversation(
        incident_id=incident_id, conversation_id=conversation_id, linked_by=actor.agent_id, linked_at=utcnow()
    )
    try:
        async with session.begin_nested():
            session.add(link)
            await session.flush()
    except IntegrityError:
        # A colleague linked it at the same moment: theirs stands.
        raced = await session.get(IncidentConversation, (incident_id, conversation_id))
        if raced is None:
            raise
        return raced, False
    await _record_link(session, actor, conversation, incident, linked=True)
    return link, True


async def do_unlink_conversation(
    session: AsyncSession, actor: AgentActor, conversation_id: uuid.UUID, incident_id: uuid.UUID
) -> None:
    """Remove a link (the customer will then not hear of the resolution); NotFound if not linked."""
    conversation = await access_conversation_by_id(session, actor, conversation_id)
    link = await session.get(IncidentConversation, (incident_id, conversation_id))
    incident = await session.get(Incident, incident_id)
    if link is None or incident is None:
        raise NotFound("this conversation is not linked to that incident")
    await session.delete(link)
    await session.flush()
    await _record_link(session, actor, conversation, incident, linked=False)
