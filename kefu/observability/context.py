"""Ids that ride on every log line of the work in progress (structlog contextvars).

Only opaque ids are bound: conversation ids, job ids, public `KF-` references. Never names,
addresses or message text (docs/operations.md, "Logs").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import structlog

# Payload keys of outbox jobs that name the conversation work is about (or a record inside one).
_JOB_ID_KEYS: Final = ("conversation_id", "message_id", "inbound_id", "incident_id")


def bind_conversation(conversation_id: uuid.UUID) -> None:
    """Tag the rest of this request's (or job's) log lines with the conversation being worked on."""
    structlog.contextvars.bind_contextvars(conversation_id=str(conversation_id))


def job_log_ids(payload: Mapping[str, Any]) -> dict[str, str]:
    """The ids in an outbox job's payload worth logging (well-formed UUIDs and `KF-` references only)."""
    ids: dict[str, str] = {}
    for key in _JOB_ID_KEYS:
        value = payload.get(key)
        if isinstance(value, str):
            try:
                ids[key] = str(uuid.UUID(value))
            except ValueError:
                continue
    reference = payload.get("reference")
    if isinstance(reference, str) and reference.startswith("KF-") and reference[3:].isalnum():
        ids["conversation_ref"] = reference[:20]
    return ids


@contextmanager
def job_log_context(job_id: uuid.UUID, name: str, payload: Mapping[str, Any]) -> Iterator[None]:
    """Bind the job's id, name and the conversation ids of its payload while its handler runs."""
    ids = job_log_ids(payload)
    try:
        with structlog.contextvars.bound_contextvars(job_id=str(job_id), job=name, **ids):
            yield
    finally:
        # The access gate may have bound one inside the handler: it must not outlive the job.
        if "conversation_id" not in ids:
            structlog.contextvars.unbind_contextvars("conversation_id")
