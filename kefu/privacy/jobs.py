"""Privacy jobs: the hourly retention purge (and expiry of export ZIPs), and the export and erasure
requests' work. Each needs the process's blob store and settings, so all are bound to the runtime."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError
from kefu.privacy.actions import ERASURE_JOB, EXPORT_JOB, do_run_erasure, do_run_export, purge_expired_exports
from kefu.privacy.retention import RetentionPolicy, run_retention

if TYPE_CHECKING:
    from kefu.runtime import Runtime

RETENTION_JOB: Final = "privacy.retention"


def _request_id(payload: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload["request_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError(f"malformed privacy job payload: {exc}") from exc


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """The handlers, closed over the runtime's blob store and settings."""
    settings = runtime.settings

    async def retention(ctx: JobContext, payload: dict[str, Any]) -> None:
        del payload
        policy = RetentionPolicy.of(
            settings.retention_attachment_days,
            settings.retention_personal_data_days,
            settings.retention_batch_size,
        )
        await run_retention(ctx.session, runtime.blobs, policy)
        await purge_expired_exports(ctx.session, runtime.blobs)

    async def export(ctx: JobContext, payload: dict[str, Any]) -> None:
        await do_run_export(
            ctx.session, runtime.blobs, _request_id(payload), keep_days=settings.privacy_export_days
        )

    async def erase(ctx: JobContext, payload: dict[str, Any]) -> None:
        await do_run_erasure(
            ctx.session, runtime.blobs, _request_id(payload), keep_notes=settings.privacy_erasure_keeps_notes
        )

    return {RETENTION_JOB: retention, EXPORT_JOB: export, ERASURE_JOB: erase}


HANDLERS: dict[str, JobHandler] = {}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(RETENTION_JOB, timedelta(hours=1)),)
