"""Imports every domain's models so `Base.metadata` is complete (Alembic, schema tests).

Explicit on purpose: a model that is not listed here is not part of the schema.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import MetaData

from kefu.db.base import Base
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobHandler

if TYPE_CHECKING:
    from kefu.runtime import Runtime

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
    "kefu.channels.models",
    "kefu.request_forms.models",
    "kefu.mail.models",
    "kefu.ratings.models",
    "kefu.chat.bot.models",
    "kefu.trust.models",
    "kefu.recovery.models",
    "kefu.channels.phone.models",
    "kefu.privacy.models",
    "kefu.webhooks.models",
    "kefu.reports.models",
)

# Modules that define outbox job handlers: each exports `HANDLERS` (name → handler) and `PERIODIC`
# (a tuple of kefu.jobs.periodic.PeriodicTask). A handler that needs the process's services (the mail
# transport, say) comes from an optional `bind_handlers(runtime) -> dict[str, JobHandler]` instead.
JOB_MODULES = (
    "kefu.auth.jobs",
    "kefu.sla.jobs",
    "kefu.routing.jobs",
    "kefu.automation.jobs",
    "kefu.incidents.jobs",
    "kefu.mail.jobs",
    "kefu.recovery.jobs",
    "kefu.channels.jobs",
    "kefu.privacy.jobs",
    "kefu.webhooks.jobs",
    "kefu.reports.jobs",
    "kefu.jobs.prune",
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


def bind_job_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """Every job handler of this process: each module's `HANDLERS` plus what `bind_handlers` gives."""
    handlers, _periodic = load_job_modules()
    for name in JOB_MODULES:
        bind: Callable[[Runtime], dict[str, JobHandler]] | None = getattr(
            importlib.import_module(name), "bind_handlers", None
        )
        for job, handler in (bind(runtime) if bind else {}).items():
            if job in handlers:
                raise ValueError(f"job {job!r} has two handlers")
            handlers[job] = handler
    return handlers
