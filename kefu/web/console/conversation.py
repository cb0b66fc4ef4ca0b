"""The conversation workspace: timeline, form card, customer panel, SLA, composer and controls.

Reads only: the composer and the controls post to the JSON API (see kefu.web.console.context).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from kefu.auth.models import Agent
from kefu.automation.service import list_macros
from kefu.conversations.access import access_conversation_by_reference
from kefu.conversations.forms import FORMS
from kefu.conversations.models import Conversation, Message
from kefu.conversations.service import list_messages
from kefu.conversations.states import Category, MessageKind, Priority, Status
from kefu.core.errors import NotFound
from kefu.inboxes.models import Team
from kefu.sla.service import get_conversation_sla
from kefu.trust.identity import pending_challenge, verification_of
from kefu.web.console.context import Console, ConsoleDep, ConsoleNotFound
from kefu.web.console.inbox import category_label, channel_label, labels
from kefu.web.console.incidents import incidents_context
from kefu.web.deps import DbSession, RuntimeDep
from kefu.workspace.customer_panel import get_customer_panel

router = APIRouter()

CONVERSATION_PATH: Final = "/console/conversations/{reference}"
TIMELINE_SIZE: Final = 100


async def _conversation(console: Console, session: DbSession, reference: str) -> Conversation:
    if len(reference) > 20:
        raise ConsoleNotFound("conversation not found")
    try:
        return await access_conversation_by_reference(session, console.actor, reference)
    except NotFound:
        raise ConsoleNotFound("conversation not found") from None


async def _timeline(console: Console, session: DbSession, conversation: Conversation) -> list[Message]:
    after = max(0, conversation.last_seq - TIMELINE_SIZE)
    return list(
        await list_messages(session, console.actor, conversation, after_seq=after, limit=TIMELINE_SIZE)
    )


async def _names(session: DbSession) -> tuple[dict[str, str], list[Team], list[Agent]]:
    agents = list(await session.scalars(select(Agent).where(Agent.is_active.is_(True)).order_by(Agent.name)))
    teams = list(await session.scalars(select(Team).order_by(Team.name)))
    names = {str(a.id): a.name for a in agents} | {str(t.id): t.name for t in teams}
    return names, teams, agents


def _form_card(console: Console, conversation: Conversation) -> list[tuple[str, str]]:
    """The structured form fields in the category's field order, labelled for people."""
    model = FORMS[Category(conversation.category)]
    values = conversation.form_fields
    rows = []
    for name, info in model.model_fields.items():
        if values.get(name) not in (None, "", []):
            rows.append((info.title or name.replace("_", " ").capitalize(), str(values[name])))
    return rows


def identity_labels(console: Console) -> dict[str, str]:
    """Kinds of customer identity as agents read them."""
    t = console.page.t
    return {
        "email": t.gettext("Email"),
        "phone": t.gettext("Phone"),
        "exchange_uid": t.gettext("Exchange UID"),
        "telegram": "Telegram",
        "messenger": "Messenger",
        "x": "X",
        "widget": t.gettext("Chat widget visitor"),
    }


@router.get(CONVERSATION_PATH)
async def conversation_page(
    reference: str,
    console: ConsoleDep,
    session: DbSession,
    runtime: RuntimeDep,
    fragment: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Signed-in agents who may see the conversation (404 page otherwise)."""
    conversation = await _conversation(console, session, reference)
    messages = await _timeline(console, session, conversation)
    names, teams, agents = await _names(session)
    context = {
        "conversation": conversation,
        "messages": messages,
        "names": names,
        "MessageKind": MessageKind,
        "labels": labels(console),
    }
    if fragment == "timeline":
        return console.render("console/_timeline.html", **context)
    context.update(await incidents_context(session, console.actor, conversation))
    return console.render(
        "console/conversation.html",
        panel=await get_customer_panel(session, console.actor, conversation, runtime.exchange),
        sla=await get_conversation_sla(session, conversation.id),
        form_card=_form_card(console, conversation),
        macros=await list_macros(session, console.actor),
        teams=teams,
        agents=agents,
        statuses=list(Status),
        priorities=list(Priority),
        categories=[(c, category_label(console, c)) for c in Category],
        channel=channel_label(console, conversation.channel),
        identity_labels=identity_labels(console),
        verification=await verification_of(session, conversation, runtime.settings),
        pending_code=await pending_challenge(session, conversation),
        category=category_label(console, conversation.category),
        **context,
    )
