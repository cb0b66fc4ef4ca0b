"""Outbox job handlers and periodic tasks of this domain."""

from __future__ import annotations

from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobHandler

HANDLERS: dict[str, JobHandler] = {}
PERIODIC: tuple[PeriodicTask, ...] = ()
