"""Reads of incidents and maintenance: the banner, the status page, and links to conversations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor
from kefu.conversations.access import access_conversation_by_id, visible_conversations
from kefu.conversations.models import Conversation
from kefu.core.clock import utcnow
from kefu.core.errors import NotFound
from kefu.i18n import DEFAULT_LOCALE
from kefu.incidents.components import ComponentStatus, component_keys, component_name
from kefu.incidents.models import Incident, IncidentConversation, IncidentUpdate
from kefu.incidents.states import SEVERITY_RANK, IncidentKind, IncidentStatus, Severity

BANNER_LOOKAHEAD: Final = timedelta(hours=24)
RECENT_DAYS_MAX: Final = 90
_CURRENT: Final = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.IN_PROGRESS,
)


@dataclass(frozen=True)
class Banner:
    """The notice the help center shows on every page while an incident or maintenance is current."""

    title: str
    status: str  # investigating | identified | monitoring | scheduled | in_progress
    url: str  # the incident's page on the status page
    severity: str  # minor | major | critical | maintenance


@dataclass(frozen=True)
class ComponentState:
    key: str
    name: str
    status: ComponentStatus


def localized(texts: dict[str, str], locale: str) -> str:
    """The text in `locale`, else English, else whichever language was written (else "")."""
    return texts.get(locale) or texts.get(DEFAULT_LOCALE) or next(iter(texts.values()), "")


def incident_url(locale: str, incident_id: uuid.UUID) -> str:
    """The public page of an incident on the status page."""
    return f"/hc/{locale}/status/incidents/{incident_id}"


def _severity_order(incident: Incident) -> tuple[int, float]:
    started = incident.started_at or incident.created_at
    return SEVERITY_RANK[Severity(incident.severity)], -started.timestamp()


async def list_current(session: AsyncSession) -> list[Incident]:
    """Ongoing incidents (most severe, then newest first) followed by maintenance in progress."""
    rows = list(await session.scalars(select(Incident).where(Incident.status.in_(_CURRENT))))
    return sorted(rows, key=_severity_order)


async def list_scheduled(session: AsyncSession) -> list[Incident]:
    """Maintenance that has not started yet, soonest first."""
    rows = await session.scalars(
        select(Incident)
        .where(Incident.status == IncidentStatus.SCHEDULED)
        .order_by(Incident.starts_at, Incident.created_at)
    )
    return list(rows)


async def list_recent(session: AsyncSession, days: int = 14) -> list[Incident]:
    """Incidents and maintenance that ended in the last `days` days (1..90), newest first."""
    days = max(1, min(days, RECENT_DAYS_MAX))
    since = utcnow() - timedelta(days=days)
    rows = await session.scalars(
        select(Incident)
        .where(Incident.resolved_at.is_not(None), Incident.resolved_at >= since)
        .order_by(Incident.resolved_at.desc())
    )
    return list(rows)


async def get_incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    """One incident or maintenance (public: every incident is on the status page); NotFound otherwise."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident not found")
    return incident


async def list_updates(
    session: AsyncSession, incident_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[IncidentUpdate]]:
    """The timed updates of each incident, newest first."""
    found: dict[uuid.UUID, list[IncidentUpdate]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return found
    rows = await session.scalars(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id.in_(incident_ids))
        .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())
    )
    for row in rows:
        found[row.incident_id].append(row)
    return found


async def list_feed_updates(session: AsyncSession, limit: int = 50) -> list[tuple[Incident, IncidentUpdate]]:
    """The newest timed updates across every incident, for the Atom feed."""
    rows = await session.execute(
        select(Incident, IncidentUpdate)
        .join(IncidentUpdate, IncidentUpdate.incident_id == Incident.id)
        .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())
        .limit(limit)
    )
    return [(incident, update) for incident, update in rows]


async def list_linked_conversations(
    session: AsyncSession, actor: Actor, incident_id: uuid.UUID
) -> list[Conversation]:
    """The linked conversations `actor` may see (others stay invisible), newest link first."""
    rows = await session.scalars(
        select(Conversation)
        .join(IncidentConversation, IncidentConversation.conversation_id == Conversation.id)
        .where(IncidentConversation.incident_id == incident_id, visible_conversations(actor))
        .order_by(IncidentConversation.linked_at.desc())
    )
    return list(rows)


async def incidents_for_conversation(
    session: AsyncSession, actor: Actor, conversation_id: uuid.UUID
) -> list[Incident]:
    """Incidents linked to a conversation `actor` may see (NotFound otherwise), newest link first."""
    await access_conversation_by_id(session, actor, conversation_id)
    rows = await session.scalars(
        select(Incident)
        .join(IncidentConversation, IncidentConversation.incident_id == Incident.id)
        .where(IncidentConversation.conversation_id == conversation_id)
        .order_by(IncidentConversation.linked_at.desc())
    )
    return list(rows)


def _status_of(incident: Incident) -> ComponentStatus:
    if incident.kind == IncidentKind.MAINTENANCE:
        return ComponentStatus.MAINTENANCE
    return ComponentStatus.OUTAGE if incident.severity == Severity.CRITICAL else ComponentStatus.DEGRADED


# Worst first: an outage during maintenance shows as an outage.
_COMPONENT_RANK: Final = {
    ComponentStatus.OUTAGE: 0,
    ComponentStatus.DEGRADED: 1,
    ComponentStatus.MAINTENANCE: 2,
    ComponentStatus.OPERATIONAL: 3,
}


def component_states(
    current: list[Incident], networks: tuple[str, ...] | list[str], locale: str
) -> list[ComponentState]:
    """Each component's status from the current incidents; networks named only by incidents show too."""
    worst: dict[str, ComponentStatus] = {}
    named: set[str] = set()
    for incident in current:
        status = _status_of(incident)
        for key in incident.components:
            if _COMPONENT_RANK[status] < _COMPONENT_RANK[worst.get(key, ComponentStatus.OPERATIONAL)]:
                worst[key] = status
            if ":" in key:
                named.add(key.partition(":")[2])
    keys = component_keys([*networks, *named])
    return [
        ComponentState(k, component_name(k, locale), worst.get(k, ComponentStatus.OPERATIONAL)) for k in keys
    ]


def _banner(incident: Incident, locale: str) -> Banner:
    return Banner(
        title=localized(incident.title, locale),
        status=str(incident.status),
        url=incident_url(locale, incident.id),
        severity=str(incident.severity),
    )


async def get_banner(session: AsyncSession, locale: str) -> Banner | None:
    """The most important current incident or maintenance for the help-center banner, if any."""
    current = await list_current(session)
    incidents = [i for i in current if i.kind == IncidentKind.INCIDENT]
    if incidents:
        return _banner(incidents[0], locale)
    in_progress = [i for i in current if i.kind == IncidentKind.MAINTENANCE]
    if in_progress:
        return _banner(in_progress[0], locale)
    soon = await session.scalar(
        select(Incident)
        .where(
            Incident.status == IncidentStatus.SCHEDULED,
            or_(Incident.starts_at.is_(None), Incident.starts_at <= utcnow() + BANNER_LOOKAHEAD),
        )
        .order_by(Incident.starts_at)
        .limit(1)
    )
    return None if soon is None else _banner(soon, locale)


def latest_update_time(incident: Incident, updates: list[IncidentUpdate]) -> datetime:
    """When an incident last changed (its newest update, else its creation)."""
    return updates[0].created_at if updates else incident.created_at
