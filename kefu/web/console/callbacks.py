"""The call-back queue in the console: promised calls soonest first, overdue ones flagged, and the
outcome logged in place (static/callbacks.js posts to `/api/v1/callbacks/{id}/outcome`)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from kefu.channels.phone.models import CallbackStatus
from kefu.channels.phone.outcomes import list_callbacks
from kefu.conversations.models import Conversation
from kefu.core.clock import utcnow
from kefu.web.console.context import Console, ConsoleDep
from kefu.web.deps import DbSession

router = APIRouter()

CALLBACKS_PATH: Final = "/console/callbacks"


def status_labels(console: Console) -> dict[str, str]:
    """Call-back states in the agent's language."""
    _ = console.page.t.gettext
    return {
        CallbackStatus.REQUESTED: _("Requested on a call"),
        CallbackStatus.SCHEDULED: _("Scheduled"),
        CallbackStatus.NO_ANSWER: _("No answer yet"),
        CallbackStatus.DONE: _("Done"),
        CallbackStatus.CANCELLED: _("Cancelled"),
    }


@router.get(CALLBACKS_PATH)
async def callbacks_page(
    console: ConsoleDep, session: DbSession, status: Annotated[str, Query(max_length=20)] = "open"
) -> Response:
    """Signed-in agents: the call backs of conversations they may see (open ones by default)."""
    chosen = CallbackStatus(status) if status in CallbackStatus.__members__.values() else None
    rows = await list_callbacks(session, console.actor, chosen)
    ids = [row.conversation_id for row in rows]
    references = dict(
        (
            await session.execute(
                select(Conversation.id, Conversation.reference).where(Conversation.id.in_(ids))
            )
        ).all()
        if ids
        else []
    )
    now = utcnow()
    return console.render(
        "console/callbacks.html",
        items=[(row, references.get(row.conversation_id, ""), row.window_end < now) for row in rows],
        chosen=chosen.value if chosen else "open",
        statuses=status_labels(console),
    )
