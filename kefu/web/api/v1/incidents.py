"""Incidents and maintenance: the public status API, supervisors' updates, and conversation links."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.incidents.actions import (
    do_create_incident,
    do_link_conversation,
    do_post_update,
    do_resolve,
    do_unlink_conversation,
)
from kefu.incidents.components import known_networks
from kefu.incidents.models import Incident, IncidentUpdate
from kefu.incidents.schemas import IncidentCreate, ResolveIn, UpdateCreate
from kefu.incidents.service import (
    component_states,
    get_incident,
    incident_url,
    incidents_for_conversation,
    list_current,
    list_linked_conversations,
    list_recent,
    list_scheduled,
    list_updates,
    localized,
)
from kefu.web.deps import AgentReader, AgentWriter, DbSession, RuntimeDep, Supervisor

router = APIRouter(tags=["incidents"])


class IncidentState(StrEnum):
    CURRENT = "current"
    RECENT = "recent"


class UpdateOut(BaseModel):
    id: uuid.UUID
    status: str
    body: dict[str, str]
    created_at: datetime
    author_id: uuid.UUID | None


class IncidentOut(BaseModel):
    id: uuid.UUID
    kind: str
    title: dict[str, str]
    severity: str
    status: str
    components: list[str]
    starts_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    updates: list[UpdateOut]


class LinkedConversationOut(BaseModel):
    id: uuid.UUID
    reference: str
    status: str


class IncidentDetailOut(IncidentOut):
    conversations: list[LinkedConversationOut]


class PublicUpdateOut(BaseModel):
    status: str
    body: str
    created_at: datetime


class PublicIncidentOut(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    severity: str
    status: str
    components: list[str]
    starts_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    url: str
    updates: list[PublicUpdateOut]


class ComponentOut(BaseModel):
    key: str
    name: str
    status: str


class StatusOut(BaseModel):
    locale: str
    components: list[ComponentOut]
    current: list[PublicIncidentOut]
    scheduled: list[PublicIncidentOut]


def _update_out(update: IncidentUpdate) -> UpdateOut:
    return UpdateOut.model_validate(update, from_attributes=True)


def incident_out(incident: Incident, updates: list[IncidentUpdate]) -> IncidentOut:
    """The staff view of an incident (every language) with its updates, newest first."""
    return IncidentOut(
        id=incident.id,
        kind=str(incident.kind),
        title=incident.title,
        severity=str(incident.severity),
        status=str(incident.status),
        components=list(incident.components),
        starts_at=incident.starts_at,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        updates=[_update_out(u) for u in updates],
    )


def _public_out(incident: Incident, updates: list[IncidentUpdate], locale: str) -> PublicIncidentOut:
    return PublicIncidentOut(
        id=incident.id,
        kind=str(incident.kind),
        title=localized(incident.title, locale),
        severity=str(incident.severity),
        status=str(incident.status),
        components=list(incident.components),
        starts_at=incident.starts_at,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        url=incident_url(locale, incident.id),
        updates=[
            PublicUpdateOut(status=str(u.status), body=localized(u.body, locale), created_at=u.created_at)
            for u in updates
        ],
    )


async def _with_updates(session: DbSession, incident: Incident) -> IncidentOut:
    updates = await list_updates(session, [incident.id])
    return incident_out(incident, updates[incident.id])


@router.get("/status", response_model=StatusOut)
async def status(
    session: DbSession,
    runtime: RuntimeDep,
    locale: Annotated[str | None, Query(max_length=35)] = None,
) -> StatusOut:
    """Public: every component's status, current incidents and scheduled maintenance."""
    chosen = normalise_locale(locale) or DEFAULT_LOCALE
    current = await list_current(session)
    scheduled = await list_scheduled(session)
    updates = await list_updates(session, [i.id for i in (*current, *scheduled)])
    networks = await known_networks(runtime.exchange)
    return StatusOut(
        locale=chosen,
        components=[
            ComponentOut(key=c.key, name=c.name, status=c.status.value)
            for c in component_states(current, networks, chosen)
        ],
        current=[_public_out(i, updates[i.id], chosen) for i in current],
        scheduled=[_public_out(i, updates[i.id], chosen) for i in scheduled],
    )


@router.get("/incidents", response_model=list[IncidentOut])
async def list_incidents(
    actor: AgentReader,
    session: DbSession,
    state: IncidentState = IncidentState.CURRENT,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
) -> list[IncidentOut]:
    """Staff: ongoing incidents with scheduled maintenance, or those that ended in the last `days`."""
    del actor  # the status page is public; staff see every language and the authors
    if state == IncidentState.CURRENT:
        rows = [*await list_current(session), *await list_scheduled(session)]
    else:
        rows = await list_recent(session, days)
    updates = await list_updates(session, [i.id for i in rows])
    return [incident_out(i, updates[i.id]) for i in rows]


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut)
async def get_incident_route(
    incident_id: uuid.UUID, actor: AgentReader, session: DbSession
) -> IncidentDetailOut:
    """Staff: one incident with its updates and the linked conversations this agent may see."""
    incident = await get_incident(session, incident_id)
    base = await _with_updates(session, incident)
    linked = await list_linked_conversations(session, actor, incident_id)
    return IncidentDetailOut(
        **base.model_dump(),
        conversations=[
            LinkedConversationOut(id=c.id, reference=c.reference, status=str(c.status)) for c in linked
        ],
    )


@router.post("/incidents", status_code=201, response_model=IncidentOut)
async def create_incident(body: IncidentCreate, actor: Supervisor, session: DbSession) -> IncidentOut:
    """Supervisors open an incident or schedule maintenance."""
    incident = await do_create_incident(session, actor, body)
    return await _with_updates(session, incident)


@router.post("/incidents/{incident_id}/updates", status_code=201, response_model=IncidentOut)
async def post_update(
    incident_id: uuid.UUID, body: UpdateCreate, actor: Supervisor, session: DbSession
) -> IncidentOut:
    """Supervisors post a timed update (409 for a status move the machine forbids)."""
    await do_post_update(session, actor, incident_id, body)
    return await _with_updates(session, await get_incident(session, incident_id))


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentOut)
async def resolve(
    incident_id: uuid.UUID, body: ResolveIn, actor: Supervisor, session: DbSession
) -> IncidentOut:
    """Supervisors resolve an incident or complete maintenance; linked customers are told."""
    await do_resolve(session, actor, incident_id, body)
    return await _with_updates(session, await get_incident(session, incident_id))


@router.get("/conversations/{conversation_id}/incidents", response_model=list[IncidentOut])
async def conversation_incidents(
    conversation_id: uuid.UUID, actor: AgentReader, session: DbSession
) -> list[IncidentOut]:
    """Staff who may see the conversation: the incidents it is linked to."""
    rows = await incidents_for_conversation(session, actor, conversation_id)
    updates = await list_updates(session, [i.id for i in rows])
    return [incident_out(i, updates[i.id]) for i in rows]


@router.post("/conversations/{conversation_id}/incidents/{incident_id}", response_model=IncidentOut)
async def link(
    conversation_id: uuid.UUID,
    incident_id: uuid.UUID,
    actor: AgentWriter,
    session: DbSession,
    response: Response,
) -> IncidentOut:
    """Link a conversation to an ongoing incident (201; 200 when it already was)."""
    _link, created = await do_link_conversation(session, actor, conversation_id, incident_id)
    response.status_code = 201 if created else 200
    return await _with_updates(session, await get_incident(session, incident_id))


@router.delete(
    "/conversations/{conversation_id}/incidents/{incident_id}", status_code=204, response_class=Response
)
async def unlink(
    conversation_id: uuid.UUID, incident_id: uuid.UUID, actor: AgentWriter, session: DbSession
) -> Response:
    """Remove a link (404 when there is none)."""
    await do_unlink_conversation(session, actor, conversation_id, incident_id)
    return Response(status_code=204)
