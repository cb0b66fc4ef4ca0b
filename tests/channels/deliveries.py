"""Running the queued `channel.deliver` jobs through one adapter, as the worker would."""

from __future__ import annotations

from sqlalchemy import select

from kefu.channels.adapter import ChannelAdapter
from kefu.channels.delivery import CHANNEL_DELIVER, bind_deliver
from kefu.db.uow import transaction
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings


async def run_deliveries(runtime: Runtime, adapter: ChannelAdapter) -> None:
    """Run every queued delivery job once (attempt 1), each in its own transaction."""
    handler = bind_deliver({adapter.channel: adapter}, runtime.blobs, keyring_from_settings(runtime.settings))
    async with runtime.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == CHANNEL_DELIVER)))
    for job in jobs:
        async with transaction(runtime.sessionmaker) as session:
            await handler(
                JobContext(session, job.id, CHANNEL_DELIVER, 1, job.dedupe_key or ""), dict(job.payload)
            )
