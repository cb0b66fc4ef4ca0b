"""State changes of automation: triggers, the auto-close policy, macros and saved views.

Actions never commit; the request or job transaction does.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.automation.macros import RenderedMacro, check_bodies, render_macro
from kefu.automation.models import AutoClosePolicy, Macro, SavedView, Trigger
from kefu.automation.rules import SetTeam
from kefu.automation.schemas import AutoCloseIn, MacroIn, SavedViewIn, TriggerIn
from kefu.automation.service import POLICY_ID, access_macro, access_view, get_trigger
from kefu.automation.triggers import ACTIVE_TRIGGERS
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation
from kefu.core.errors import InvalidInput, PermissionDenied
from kefu.db.upsert import insert_or_ignore
from kefu.inboxes.models import Team


async def _check_teams(session: AsyncSession, data: TriggerIn) -> None:
    for index, action in enumerate(data.actions):
        if isinstance(action, SetTeam) and await session.get(Team, action.team_id) is None:
            raise InvalidInput("unknown team", fields={f"actions.{index}.team_id": "no such team"})


def _fill_trigger(trigger: Trigger, data: TriggerIn) -> None:
    trigger.name = data.name
    trigger.position = data.position
    trigger.is_active = data.is_active
    trigger.on = data.on.value
    trigger.conditions = [c.model_dump(mode="json") for c in data.conditions]
    trigger.actions = [a.model_dump(mode="json") for a in data.actions]


async def do_create_trigger(session: AsyncSession, actor: AgentActor, data: TriggerIn) -> Trigger:
    """Add a trigger (caller is a supervisor); audited."""
    ACTIVE_TRIGGERS.invalidate_after_commit(session)
    await _check_teams(session, data)
    trigger = Trigger(created_by_id=actor.agent_id)
    _fill_trigger(trigger, data)
    session.add(trigger)
    await session.flush()
    await record_audit(
        session, action="trigger.created", actor=actor, target_type="trigger", target_id=str(trigger.id)
    )
    return trigger


async def do_update_trigger(
    session: AsyncSession, actor: AgentActor, trigger_id: uuid.UUID, data: TriggerIn
) -> Trigger:
    """Replace a trigger's definition (caller is a supervisor); audited."""
    ACTIVE_TRIGGERS.invalidate_after_commit(session)
    trigger = await get_trigger(session, trigger_id)
    await _check_teams(session, data)
    _fill_trigger(trigger, data)
    await session.flush()
    await record_audit(
        session, action="trigger.updated", actor=actor, target_type="trigger", target_id=str(trigger.id)
    )
    return trigger


async def do_delete_trigger(session: AsyncSession, actor: AgentActor, trigger_id: uuid.UUID) -> None:
    """Remove a trigger (caller is a supervisor); audited."""
    ACTIVE_TRIGGERS.invalidate_after_commit(session)
    trigger = await get_trigger(session, trigger_id)
    await session.delete(trigger)
    await session.flush()
    await record_audit(
        session, action="trigger.deleted", actor=actor, target_type="trigger", target_id=str(trigger_id)
    )


async def do_set_auto_close_policy(
    session: AsyncSession, actor: AgentActor, data: AutoCloseIn
) -> AutoClosePolicy:
    """Store the auto-close policy (caller is a supervisor); audited."""
    # Insert-or-ignore then lock: two supervisors saving at once never collide on the single row.
    await session.execute(insert_or_ignore(session, AutoClosePolicy), {"id": POLICY_ID})
    policy = await session.get(AutoClosePolicy, POLICY_ID, with_for_update=True, populate_existing=True)
    assert policy is not None
    policy.after_days = data.after_days
    policy.enabled = data.enabled
    policy.updated_by_id = actor.agent_id
    await session.flush()
    await record_audit(
        session,
        action="auto_close.updated",
        actor=actor,
        target_type="auto_close_policy",
        details={"after_days": data.after_days, "enabled": data.enabled},
    )
    return policy


def _check_macro(actor: AgentActor, data: MacroIn) -> None:
    if data.shared and not actor.is_supervisor_or_admin:
        raise PermissionDenied("only supervisors create or edit shared macros")
    check_bodies({str(k): v for k, v in data.bodies.items()})


def _fill_macro(macro: Macro, actor: AgentActor, data: MacroIn) -> None:
    macro.name = data.name
    macro.bodies = {str(k): v for k, v in data.bodies.items()}
    macro.actions = [a.model_dump(mode="json") for a in data.actions]
    macro.shared = data.shared
    # A macro made personal belongs to whoever saved it; a shared one to nobody.
    macro.owner_id = None if data.shared else actor.agent_id


async def do_create_macro(session: AsyncSession, actor: AgentActor, data: MacroIn) -> Macro:
    """Add a personal macro, or a shared one (supervisors only)."""
    _check_macro(actor, data)
    macro = Macro(created_by_id=actor.agent_id, usage_count=0)
    _fill_macro(macro, actor, data)
    session.add(macro)
    await session.flush()
    return macro


async def do_update_macro(
    session: AsyncSession, actor: AgentActor, macro_id: uuid.UUID, data: MacroIn
) -> Macro:
    """Replace a macro the actor may edit (own personal one; shared ones: supervisors)."""
    macro = await access_macro(session, actor, macro_id, write=True)
    _check_macro(actor, data)
    _fill_macro(macro, actor, data)
    await session.flush()
    return macro


async def do_delete_macro(session: AsyncSession, actor: AgentActor, macro_id: uuid.UUID) -> None:
    """Delete a macro the actor may edit."""
    macro = await access_macro(session, actor, macro_id, write=True)
    await session.delete(macro)
    await session.flush()


async def _contact_details(session: AsyncSession, contact_id: uuid.UUID) -> tuple[str, str]:
    name = await session.scalar(select(Contact.name).where(Contact.id == contact_id))
    email = await session.scalar(
        select(ContactIdentity.value)
        .where(ContactIdentity.contact_id == contact_id, ContactIdentity.kind == IdentityKind.EMAIL)
        .order_by(ContactIdentity.verified_at.desc().nulls_last(), ContactIdentity.value)
        .limit(1)
    )
    return name or "", email or ""


async def do_render_macro(
    session: AsyncSession, actor: AgentActor, conversation: Conversation, macro_id: uuid.UUID
) -> RenderedMacro:
    """Render a macro the actor may see for a conversation it passed the gate for; counts the use."""
    macro = await access_macro(session, actor, macro_id)
    contact_name, contact_email = await _contact_details(session, conversation.contact_id)
    agent_name = await session.scalar(select(Agent.name).where(Agent.id == actor.agent_id))
    rendered = render_macro(
        macro,
        locale=conversation.locale,
        conversation=conversation,
        contact_name=contact_name,
        contact_email=contact_email,
        agent_name=agent_name or "",
    )
    # One UPDATE, so concurrent renders never lose a count.
    await session.execute(
        update(Macro)
        .where(Macro.id == macro.id)
        .values(usage_count=Macro.usage_count + 1)
        .execution_options(synchronize_session=False)
    )
    return rendered


def _check_view(actor: AgentActor, data: SavedViewIn) -> None:
    if data.shared and not actor.is_supervisor_or_admin:
        raise PermissionDenied("only supervisors share views")


def _fill_view(view: SavedView, data: SavedViewIn) -> None:
    view.name = data.name
    view.filters = data.filters.model_dump(mode="json")
    view.shared = data.shared
    view.position = data.position


async def do_create_view(session: AsyncSession, actor: AgentActor, data: SavedViewIn) -> SavedView:
    """Save a view for the actor (shared: supervisors only)."""
    _check_view(actor, data)
    view = SavedView(owner_id=actor.agent_id)
    _fill_view(view, data)
    session.add(view)
    await session.flush()
    return view


async def do_update_view(
    session: AsyncSession, actor: AgentActor, view_id: uuid.UUID, data: SavedViewIn
) -> SavedView:
    """Replace one of the actor's views."""
    view = await access_view(session, actor, view_id, write=True)
    _check_view(actor, data)
    _fill_view(view, data)
    await session.flush()
    return view


async def do_delete_view(session: AsyncSession, actor: AgentActor, view_id: uuid.UUID) -> None:
    """Delete one of the actor's views."""
    view = await access_view(session, actor, view_id, write=True)
    await session.delete(view)
    await session.flush()
