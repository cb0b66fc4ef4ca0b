"""Business-hours schedules and their dated exceptions: agents read, supervisors write."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from kefu.schedules.actions import (
    do_add_exception,
    do_create_schedule,
    do_delete_exception,
    do_delete_schedule,
    do_update_schedule,
)
from kefu.schedules.schemas import ExceptionIn, ExceptionOut, ScheduleIn, ScheduleOut
from kefu.schedules.service import get_schedule, list_exceptions, list_schedules
from kefu.web.deps import AgentReader, DbSession, Supervisor

router = APIRouter(prefix="/schedules", tags=["schedules"])


@router.get("", response_model=list[ScheduleOut])
async def schedules(actor: AgentReader, session: DbSession) -> list[ScheduleOut]:
    """Every schedule, the organisation default first."""
    del actor
    return [ScheduleOut.model_validate(s) for s in await list_schedules(session)]


@router.post("", status_code=201, response_model=ScheduleOut)
async def create_schedule(body: ScheduleIn, actor: Supervisor, session: DbSession) -> ScheduleOut:
    """Supervisors add a schedule for a team (or the default); 409 if one exists already."""
    del actor
    return ScheduleOut.model_validate(await do_create_schedule(session, body))


@router.get("/{schedule_id}", response_model=ScheduleOut)
async def schedule(schedule_id: uuid.UUID, actor: AgentReader, session: DbSession) -> ScheduleOut:
    """One schedule."""
    del actor
    return ScheduleOut.model_validate(await get_schedule(session, schedule_id))


@router.put("/{schedule_id}", response_model=ScheduleOut)
async def update_schedule(
    schedule_id: uuid.UUID, body: ScheduleIn, actor: Supervisor, session: DbSession
) -> ScheduleOut:
    """Supervisors replace a schedule."""
    del actor
    found = await get_schedule(session, schedule_id)
    return ScheduleOut.model_validate(await do_update_schedule(session, found, body))


@router.delete("/{schedule_id}", status_code=204)
async def delete_schedule(schedule_id: uuid.UUID, actor: Supervisor, session: DbSession) -> Response:
    """Supervisors delete a schedule; its team falls back to the default."""
    del actor
    await do_delete_schedule(session, await get_schedule(session, schedule_id))
    return Response(status_code=204)


@router.get("/{schedule_id}/exceptions", response_model=list[ExceptionOut])
async def exceptions(schedule_id: uuid.UUID, actor: AgentReader, session: DbSession) -> list[ExceptionOut]:
    """A schedule's closed days and make-up working days, by date."""
    del actor
    found = await get_schedule(session, schedule_id)
    return [ExceptionOut.model_validate(e) for e in await list_exceptions(session, found.id)]


@router.post("/{schedule_id}/exceptions", status_code=201, response_model=ExceptionOut)
async def add_exception(
    schedule_id: uuid.UUID, body: ExceptionIn, actor: Supervisor, session: DbSession
) -> ExceptionOut:
    """Supervisors add a closed day or a make-up working day; 409 if the date has one."""
    del actor
    found = await get_schedule(session, schedule_id)
    return ExceptionOut.model_validate(await do_add_exception(session, found, body))


@router.delete("/{schedule_id}/exceptions/{exception_id}", status_code=204)
async def delete_exception(
    schedule_id: uuid.UUID, exception_id: uuid.UUID, actor: Supervisor, session: DbSession
) -> Response:
    """Supervisors remove an exception."""
    del actor
    await do_delete_exception(session, await get_schedule(session, schedule_id), exception_id)
    return Response(status_code=204)
