"""Running a privacy request's job the way the worker does (its handler, in a transaction)."""

from __future__ import annotations

import uuid

from kefu.db.uow import transaction
from kefu.jobs.registry import JobContext
from kefu.registry import bind_job_handlers
from kefu.runtime import Runtime


async def run_request_job(runtime: Runtime, job: str, request_id: str) -> None:
    """Run the handler of `job` for the request, committed as the worker would."""
    handler = bind_job_handlers(runtime)[job]
    async with transaction(runtime.sessionmaker) as session:
        await handler(
            JobContext(session, uuid.uuid4(), job, 1, f"test:{request_id}"), {"request_id": request_id}
        )
