"""Automation routes: triggers, auto-close, macros, saved views, reply checks. Thin: parse, gate, act."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from kefu.automation.actions import (
    do_create_macro,
    do_create_trigger,
    do_create_view,
    do_delete_macro,
    do_delete_trigger,
    do_delete_view,
    do_render_macro,
    do_set_auto_close_policy,
    do_update_macro,
    do_update_trigger,
    do_update_view,
)
from kefu.automation.models import Macro, SavedView, Trigger
from kefu.automation.reply_checks import check_reply
from kefu.automation.schemas import (
    AutoCloseIn,
    AutoCloseOut,
    MacroIn,
    MacroOut,
    RenderedMacroOut,
    ReplyCheckIn,
    ReplyCheckOut,
    ReplyWarningOut,
    SavedViewIn,
    SavedViewOut,
    TriggerIn,
    TriggerOut,
)
from kefu.automation.service import (
    access_macro,
    access_view,
    get_auto_close_policy,
    get_trigger,
    list_macros,
    list_triggers,
    list_views,
)
from kefu.conversations.access import access_conversation_by_id
from kefu.web.deps import AgentReader, AgentWriter, DbSession, Supervisor

router = APIRouter(tags=["automation"])


def _trigger_out(trigger: Trigger) -> TriggerOut:
    return TriggerOut.model_validate(trigger, from_attributes=True)


def _macro_out(macro: Macro) -> MacroOut:
    return MacroOut.model_validate(macro, from_attributes=True)


def _view_out(view: SavedView) -> SavedViewOut:
    return SavedViewOut.model_validate(view, from_attributes=True)


@router.get("/triggers", response_model=list[TriggerOut])
async def triggers_list(actor: AgentReader, session: DbSession) -> list[TriggerOut]:
    """Staff: every trigger in evaluation order."""
    del actor  # every agent may read the rules that act on their conversations
    return [_trigger_out(t) for t in await list_triggers(session)]


@router.get("/triggers/{trigger_id}", response_model=TriggerOut)
async def trigger_get(trigger_id: uuid.UUID, actor: AgentReader, session: DbSession) -> TriggerOut:
    """Staff: one trigger."""
    del actor
    return _trigger_out(await get_trigger(session, trigger_id))


@router.post("/triggers", status_code=201, response_model=TriggerOut)
async def trigger_create(body: TriggerIn, actor: Supervisor, session: DbSession) -> TriggerOut:
    """Supervisors add a trigger."""
    return _trigger_out(await do_create_trigger(session, actor, body))


@router.put("/triggers/{trigger_id}", response_model=TriggerOut)
async def trigger_update(
    trigger_id: uuid.UUID, body: TriggerIn, actor: Supervisor, session: DbSession
) -> TriggerOut:
    """Supervisors replace a trigger."""
    return _trigger_out(await do_update_trigger(session, actor, trigger_id, body))


@router.delete("/triggers/{trigger_id}", status_code=204)
async def trigger_delete(trigger_id: uuid.UUID, actor: Supervisor, session: DbSession) -> Response:
    """Supervisors delete a trigger."""
    await do_delete_trigger(session, actor, trigger_id)
    return Response(status_code=204)


@router.get("/auto-close", response_model=AutoCloseOut)
async def auto_close_get(actor: AgentReader, session: DbSession) -> AutoCloseOut:
    """Staff: when solved conversations close by themselves."""
    del actor
    return AutoCloseOut.model_validate(await get_auto_close_policy(session), from_attributes=True)


@router.put("/auto-close", response_model=AutoCloseOut)
async def auto_close_put(body: AutoCloseIn, actor: Supervisor, session: DbSession) -> AutoCloseOut:
    """Supervisors set the auto-close policy."""
    policy = await do_set_auto_close_policy(session, actor, body)
    return AutoCloseOut.model_validate(policy, from_attributes=True)


@router.get("/macros", response_model=list[MacroOut])
async def macros_list(actor: AgentReader, session: DbSession) -> list[MacroOut]:
    """Staff: shared macros and their own."""
    return [_macro_out(m) for m in await list_macros(session, actor)]


@router.get("/macros/{macro_id}", response_model=MacroOut)
async def macro_get(macro_id: uuid.UUID, actor: AgentReader, session: DbSession) -> MacroOut:
    """Staff: a shared macro or one of their own (404 for anyone else's)."""
    return _macro_out(await access_macro(session, actor, macro_id))


@router.post("/macros", status_code=201, response_model=MacroOut)
async def macro_create(body: MacroIn, actor: AgentWriter, session: DbSession) -> MacroOut:
    """Staff add a personal macro; supervisors may add shared ones."""
    return _macro_out(await do_create_macro(session, actor, body))


@router.put("/macros/{macro_id}", response_model=MacroOut)
async def macro_update(
    macro_id: uuid.UUID, body: MacroIn, actor: AgentWriter, session: DbSession
) -> MacroOut:
    """Owners replace their macro; supervisors replace shared ones."""
    return _macro_out(await do_update_macro(session, actor, macro_id, body))


@router.delete("/macros/{macro_id}", status_code=204)
async def macro_delete(macro_id: uuid.UUID, actor: AgentWriter, session: DbSession) -> Response:
    """Owners delete their macro; supervisors delete shared ones."""
    await do_delete_macro(session, actor, macro_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/macros/{macro_id}/render", response_model=RenderedMacroOut)
async def macro_render(
    conversation_id: uuid.UUID, macro_id: uuid.UUID, actor: AgentWriter, session: DbSession
) -> RenderedMacroOut:
    """Staff: a macro's text filled in for a conversation they can see (the composer inserts it)."""
    conversation = await access_conversation_by_id(session, actor, conversation_id)
    rendered = await do_render_macro(session, actor, conversation, macro_id)
    return RenderedMacroOut(text=rendered.text, locale=rendered.locale, actions=rendered.actions)


@router.get("/views", response_model=list[SavedViewOut])
async def views_list(actor: AgentReader, session: DbSession) -> list[SavedViewOut]:
    """Staff: their saved views and the shared ones."""
    return [_view_out(v) for v in await list_views(session, actor)]


@router.get("/views/{view_id}", response_model=SavedViewOut)
async def view_get(view_id: uuid.UUID, actor: AgentReader, session: DbSession) -> SavedViewOut:
    """Staff: one of their views or a shared one (404 for anyone else's)."""
    return _view_out(await access_view(session, actor, view_id))


@router.post("/views", status_code=201, response_model=SavedViewOut)
async def view_create(body: SavedViewIn, actor: AgentWriter, session: DbSession) -> SavedViewOut:
    """Staff save a view; supervisors may share it."""
    return _view_out(await do_create_view(session, actor, body))


@router.put("/views/{view_id}", response_model=SavedViewOut)
async def view_update(
    view_id: uuid.UUID, body: SavedViewIn, actor: AgentWriter, session: DbSession
) -> SavedViewOut:
    """Owners replace their view."""
    return _view_out(await do_update_view(session, actor, view_id, body))


@router.delete("/views/{view_id}", status_code=204)
async def view_delete(view_id: uuid.UUID, actor: AgentWriter, session: DbSession) -> Response:
    """Owners delete their view."""
    await do_delete_view(session, actor, view_id)
    return Response(status_code=204)


@router.post("/reply-checks", response_model=ReplyCheckOut)
async def reply_checks(body: ReplyCheckIn, actor: AgentReader) -> ReplyCheckOut:
    """Staff: warnings for a draft reply that asks the customer for a password, code, key or seed phrase."""
    del actor
    warnings = [
        ReplyWarningOut(kind=w.kind.value, start=w.start, end=w.end, text=w.text)
        for w in check_reply(body.text)
    ]
    return ReplyCheckOut(warnings=warnings)
