"""Write jobs into the caller's transaction; they exist (and run) only if that transaction commits."""

from __future__ import annotations

import asyncio
import json
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import utcnow
from kefu.core.ids import new_id
from kefu.db.uow import after_commit
from kefu.db.upsert import insert_or_ignore
from kefu.jobs.models import DEDUPE_KEY_MAX, NAME_MAX, JobStatus, OutboxJob

_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def job_wakeup() -> asyncio.Event:
    """The event this process's workers wait on between polls (one per event loop)."""
    loop = asyncio.get_running_loop()
    event = _wakeups.get(loop)
    if event is None:
        event = _wakeups[loop] = asyncio.Event()
    return event


async def poke_workers() -> None:
    """Wake local workers now rather than at their next poll."""
    job_wakeup().set()


def _check(job: str, payload: dict[str, Any], dedupe_key: str | None, run_at: datetime | None) -> None:
    if not job or len(job) > NAME_MAX:
        raise ValueError(f"job name must be 1..{NAME_MAX} characters")
    if not isinstance(payload, dict):
        raise TypeError("a job payload is a dict")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job payload is not plain JSON: {exc}") from exc
    if dedupe_key is not None and not 0 < len(dedupe_key) <= DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key must be 1..{DEDUPE_KEY_MAX} characters")
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be tz-aware")


async def enqueue(
    session: AsyncSession,
    job: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> bool:
    """Add a job to the session's transaction (never commits); False when `dedupe_key` already exists."""
    _check(job, payload, dedupe_key, run_at)
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utcnow()
    values = {
        "id": new_id(),
        "name": str(job),
        "payload": payload,
        "dedupe_key": dedupe_key,
        "status": JobStatus.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or now,
        "created_at": now,
    }
    statement = insert_or_ignore(session, OutboxJob, index_elements=("dedupe_key",), returning=("id",))
    inserted = (await session.execute(statement, values)).scalar_one_or_none() is not None
    if inserted:
        after_commit(session, poke_workers)
    return inserted
