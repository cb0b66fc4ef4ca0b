"""Job names stored in `outbox_jobs.name`; renaming one strands the queued jobs, so only ever add."""

from __future__ import annotations

from enum import StrEnum


class JobName(StrEnum):
    EMAIL_SEND = "email.send"
    CHANNEL_DELIVER = "channel.deliver"
    WEBHOOK_DELIVER = "webhook.deliver"
    INCIDENT_NOTIFY = "incident.notify"
