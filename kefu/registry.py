"""Imports every domain's models so `Base.metadata` is complete (Alembic, schema tests).

Explicit on purpose: a model that is not listed here is not part of the schema.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from kefu.db.base import Base
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobHandler

MODEL_MODULES = (
    "kefu.audit.models",
    "kefu.auth.models",
    "kefu.contacts.models",
    "kefu.inboxes.models",
    "kefu.conversations.models",
    "kefu.jobs.models",
    "kefu.schedules.models",
    "kefu.sla.models",
    "kefu.routing.models",
    "kefu.automation.models",
    "kefu.kb.models",
    "kefu.search.models",
    "kefu.incidents.models",
)

# Modules that define outbox job handlers: each exports `HANDLERS` (name → handler) and `PERIODIC`
# (a tuple of kefu.jobs.periodic.PeriodicTask).
JOB_MODULES = (
    "kefu.sla.jobs",
    "kefu.routing.jobs",
    "kefu.automation.jobs",
    "kefu.incidents.jobs",
)


def load_models() -> MetaData:
    """Import every models module and return the complete metadata."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def load_job_modules() -> tuple[dict[str, JobHandler], tuple[PeriodicTask, ...]]:
    """Every domain's job handlers and periodic tasks."""
    handlers: dict[str, JobHandler] = {}
    periodic: list[PeriodicTask] = []
    for name in JOB_MODULES:
        module = importlib.import_module(name)
        for job, handler in module.HANDLERS.items():
            if job in handlers:
                raise ValueError(f"job {job!r} has two handlers")
            handlers[job] = handler
        periodic.extend(module.PERIODIC)
    return handlers, tuple(periodic)
