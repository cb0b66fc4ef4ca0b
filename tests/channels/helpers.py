"""Builders for contact-page facts: conversations at chosen times, schedules, agents' presence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.ids import new_reference
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.routing.models import AgentPresence, Presence
from kefu.schedules.actions import do_add_exception, do_create_schedule
from kefu.schedules.schemas import ExceptionIn, ScheduleIn

OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


async def customer(session: AsyncSession, email: str = "someone@example.com") -> uuid.UUID:
    """A contact to hang conversations on."""
    contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, email)
    return contact_id


def conversation(
    contact_id: uuid.UUID,
    created_at: datetime,
    *,
    answered_after: timedelta | None = None,
    channel: ChannelKind = ChannelKind.WEB,
    status: Status = Status.SOLVED,
    assignee_id: uuid.UUID | None = None,
) -> Conversation:
    """A conversation row created at `created_at`, first answered `answered_after` later (or never)."""
    return Conversation(
        reference=new_reference(),
        contact_id=contact_id,
        channel=channel,
        status=status,
        assignee_id=assignee_id,
        created_at=created_at,
        updated_at=created_at,
        last_activity_at=created_at,
        first_response_at=created_at + answered_after if answered_after is not None else None,
    )


async def seed(maker: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    """Commit one conversation per `rows` entry (keyword arguments of `conversation`)."""
    async with transaction(maker) as session:
        contact_id = await customer(session)
        session.add_all([conversation(contact_id, **row) for row in rows])


async def default_schedule(
    maker: async_sessionmaker[AsyncSession],
    *,
    timezone: str = "Asia/Shanghai",
    hours: dict[str, list[list[str]]] | None = None,
    holiday_country: str | None = "CN",
    team_id: uuid.UUID | None = None,
    closed: tuple[tuple[str, str], ...] = (),
) -> None:
    """A schedule (the organisation default unless `team_id`), with named closed days, committed."""
    async with transaction(maker) as session:
        schedule = await do_create_schedule(
            session,
            ScheduleIn(
                name="Office" if team_id else "Default",
                timezone=timezone,
                weekly_hours=hours or OFFICE,
                holiday_country=holiday_country,
                team_id=team_id,
                is_default=team_id is None,
            ),
        )
        for day, name in closed:
            await do_add_exception(
                session, schedule, ExceptionIn.model_validate({"date": day, "name": name, "kind": "closed"})
            )


async def set_online(
    maker: async_sessionmaker[AsyncSession], agent_id: uuid.UUID, status: Presence = Presence.ONLINE
) -> None:
    """Record the agent's presence directly (routing side effects are not what these tests are about)."""
    async with transaction(maker) as session:
        found = await session.get(AgentPresence, agent_id)
        if found is None:
            session.add(AgentPresence(agent_id=agent_id, status=status, auto=False))
        else:
            found.status = status
