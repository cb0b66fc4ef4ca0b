"""The console's incident card: what a conversation is linked to and what it could be linked to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.roles import Scope
from kefu.conversations.models import Conversation
from kefu.incidents.models import Incident
from kefu.incidents.service import incidents_for_conversation, list_current, list_scheduled
from kefu.incidents.states import IncidentStatus


def _item(incident: Incident) -> dict[str, object]:
    return {
        "id": str(incident.id),
        "kind": str(incident.kind),
        "titles": dict(incident.title),
        "severity": str(incident.severity),
        "status": str(incident.status),
        "components": list(incident.components),
        "over": incident.status in (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED),
    }


async def incidents_context(
    session: AsyncSession, actor: AgentActor, conversation: Conversation
) -> dict[str, object]:
    """Context for console/_incidents.html; `conversation` must already have passed the access gate."""
    linked = await incidents_for_conversation(session, actor, conversation.id)
    linked_ids = {incident.id for incident in linked}
    open_ones = [*await list_current(session), *await list_scheduled(session)]
    return {
        "incidents_linked": [_item(i) for i in linked],
        "incidents_available": [_item(i) for i in open_ones if i.id not in linked_ids],
        "incidents_can_link": actor.has_scope(Scope.CONVERSATIONS_WRITE),
    }
