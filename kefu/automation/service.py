"""Reads and gates: triggers, the auto-close policy, the macros and views an agent may see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.automation.models import AutoClosePolicy, Macro, SavedView, Trigger
from kefu.core.errors import NotFound, PermissionDenied

POLICY_ID = 1


async def list_triggers(session: AsyncSession) -> Sequence[Trigger]:
    """Every trigger in evaluation order (staff may read them all)."""
    rows = await session.scalars(select(Trigger).order_by(Trigger.position, Trigger.created_at, Trigger.id))
    return rows.all()


async def get_trigger(session: AsyncSession, trigger_id: uuid.UUID) -> Trigger:
    """The trigger, or NotFound."""
    trigger = await session.get(Trigger, trigger_id)
    if trigger is None:
        raise NotFound("trigger not found")
    return trigger


async def get_auto_close_policy(session: AsyncSession) -> AutoClosePolicy:
    """The stored policy, or the default (4 days, enabled) when none was saved yet."""
    policy = await session.get(AutoClosePolicy, POLICY_ID)
    return policy or AutoClosePolicy(id=POLICY_ID, after_days=4, enabled=True)


async def list_macros(session: AsyncSession, actor: AgentActor) -> Sequence[Macro]:
    """Shared macros and the actor's own, by name."""
    rows = await session.scalars(
        select(Macro)
        .where(or_(Macro.shared.is_(True), Macro.owner_id == actor.agent_id))
        .order_by(Macro.name, Macro.id)
    )
    return rows.all()


async def access_macro(
    session: AsyncSession, actor: AgentActor, macro_id: uuid.UUID, *, write: bool = False
) -> Macro:
    """A macro the actor may see (shared, or personal and theirs); NotFound for anyone else's.

    With `write`, shared macros need a supervisor (PermissionDenied: the agent can see it anyway).
    """
    macro = await session.get(Macro, macro_id)
    if macro is None or (not macro.shared and macro.owner_id != actor.agent_id):
        raise NotFound("macro not found")
    if write and macro.shared and not actor.is_supervisor_or_admin:
        raise PermissionDenied("only supervisors edit shared macros")
    return macro


async def list_views(session: AsyncSession, actor: AgentActor) -> Sequence[SavedView]:
    """The actor's views and the shared ones, in position order."""
    rows = await session.scalars(
        select(SavedView)
        .where(or_(SavedView.shared.is_(True), SavedView.owner_id == actor.agent_id))
        .order_by(SavedView.position, SavedView.name, SavedView.id)
    )
    return rows.all()


async def access_view(
    session: AsyncSession, actor: AgentActor, view_id: uuid.UUID, *, write: bool = False
) -> SavedView:
    """A view the actor may see (own or shared); NotFound otherwise. Only the owner may change it."""
    view = await session.get(SavedView, view_id)
    if view is None or (not view.shared and view.owner_id != actor.agent_id):
        raise NotFound("view not found")
    if write and view.owner_id != actor.agent_id:
        raise PermissionDenied("only the owner edits a view")
    return view
