"""Changes to schedules and their exceptions. Actions never commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.create import check_team
from kefu.core.errors import Conflict, NotFound
from kefu.schedules.models import Schedule, ScheduleException
from kefu.schedules.schemas import ExceptionIn, ScheduleIn
from kefu.schedules.service import TEAM_CALENDARS


async def _check_unique(session: AsyncSession, data: ScheduleIn, current: Schedule | None) -> None:
    """Conflict if another schedule already holds the team or the default role."""
    query = None
    if data.team_id is not None:
        await check_team(session, data.team_id)
        query = select(Schedule.id).where(Schedule.team_id == data.team_id)
    elif data.is_default:
        query = select(Schedule.id).where(Schedule.is_default.is_(True))
    if query is None:
        return
    if current is not None:
        query = query.where(Schedule.id != current.id)
    if await session.scalar(query.limit(1)) is not None:
        what = "this team already has a schedule" if data.team_id else "a default schedule already exists"
        raise Conflict(what)


def _apply(schedule: Schedule, data: ScheduleIn) -> None:
    schedule.name = data.name
    schedule.timezone = data.timezone
    schedule.weekly_hours = data.weekly_hours
    schedule.holiday_country = data.holiday_country
    schedule.holiday_subdivision = data.holiday_subdivision
    schedule.team_id = data.team_id
    schedule.is_default = data.is_default


async def do_create_schedule(session: AsyncSession, data: ScheduleIn) -> Schedule:
    """A new schedule (Conflict if its team, or the default, already has one)."""
    TEAM_CALENDARS.invalidate_after_commit(session)
    await _check_unique(session, data, None)
    schedule = Schedule(version=1)
    _apply(schedule, data)
    session.add(schedule)
    await session.flush()
    return schedule


async def do_update_schedule(session: AsyncSession, schedule: Schedule, data: ScheduleIn) -> Schedule:
    """Replace every field of `schedule`; conversations pick up new hours on their next SLA change."""
    TEAM_CALENDARS.invalidate_after_commit(session)
    await _check_unique(session, data, schedule)
    _apply(schedule, data)
    schedule.version += 1
    await session.flush()
    return schedule


async def do_delete_schedule(session: AsyncSession, schedule: Schedule) -> None:
    """Delete `schedule` and its exceptions; its team falls back to the default."""
    TEAM_CALENDARS.invalidate_after_commit(session)
    await session.delete(schedule)
    await session.flush()


async def do_add_exception(session: AsyncSession, schedule: Schedule, data: ExceptionIn) -> ScheduleException:
    """Add a dated exception (Conflict if the date already has one)."""
    TEAM_CALENDARS.invalidate_after_commit(session)
    taken = await session.scalar(
        select(ScheduleException.id).where(
            ScheduleException.schedule_id == schedule.id, ScheduleException.date == data.date
        )
    )
    if taken is not None:
        raise Conflict("this date already has an exception")
    item = ScheduleException(
        schedule_id=schedule.id, date=data.date, name=data.name, kind=data.kind, intervals=data.intervals
    )
    session.add(item)
    schedule.version += 1
    await session.flush()
    return item


async def do_delete_exception(session: AsyncSession, schedule: Schedule, exception_id: object) -> None:
    """Delete one exception of `schedule`; NotFound if it is not one of its exceptions."""
    TEAM_CALENDARS.invalidate_after_commit(session)
    item = await session.get(ScheduleException, exception_id)
    if item is None or item.schedule_id != schedule.id:
        raise NotFound("exception not found")
    await session.delete(item)
    schedule.version += 1
    await session.flush()
