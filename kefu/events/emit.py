"""Publish events only once the change they describe is durable."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.uow import after_commit
from kefu.events.bus import get_bus
from kefu.events.types import Event


def emit_on_commit(session: AsyncSession, event: Event) -> None:
    """Publish `event` on the process bus after `session`'s transaction commits; dropped on rollback."""

    async def publish() -> None:
        await get_bus().publish(event)

    after_commit(session, publish)
