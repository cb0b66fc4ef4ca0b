"""Job handlers by name. A handler's database work shares the transaction that marks its job done."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler knows about its run; `session` is committed by the worker, never by the handler."""

    session: AsyncSession
    job_id: uuid.UUID
    name: str
    attempt: int
    # Same value on every retry: pass it to external APIs so a retried call is not applied twice.
    idempotency_key: str


JobHandler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Batchable:
    """Marks a handler whose jobs may share one transaction: up to `limit` claimed together run in one
    session and commit once, saving a session, a commit and a status update per job.

    For handlers that are idempotent and cheap per job (e.g. `mail.ingest`). If any job of a batch
    fails, the whole batch rolls back and each job runs again on its own, so one bad job never fails
    its neighbours.
    """

    handler: JobHandler
    limit: int = 16

    async def __call__(self, ctx: JobContext, payload: dict[str, Any]) -> None:
        await self.handler(ctx, payload)


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (malformed payload, target gone): the job dies now."""


class RetryAfter(Exception):
    """Raised when the peer said when to come back (HTTP 429 `Retry-After`, Telegram's `retry_after`):
    the next attempt waits at least that long, and still counts towards the job's attempts."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds:g} s")
        self.seconds = max(0.0, float(seconds))


class HandlerRegistry:
    """A typed name → handler map, filled explicitly at start-up."""

    def __init__(self, handlers: dict[str, JobHandler] | None = None) -> None:
        self._handlers: dict[str, JobHandler] = {}
        for name, handler in (handlers or {}).items():
            self.register(name, handler)

    def register(self, name: str, handler: JobHandler) -> None:
        """Register `handler` for jobs called `name`; a name has exactly one handler."""
        if not name:
            raise ValueError("a job name is required")
        if name in self._handlers:
            raise ValueError(f"a handler for job {name!r} is already registered")
        self._handlers[str(name)] = handler

    def get(self, name: str) -> JobHandler | None:
        """The handler for `name`, or None."""
        return self._handlers.get(name)

    def names(self) -> frozenset[str]:
        """Every registered job name."""
        return frozenset(self._handlers)
