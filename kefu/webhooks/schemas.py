"""What the webhooks API reads and writes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from kefu.conversations.schemas import refuse_nul
from kefu.webhooks.models import URL_MAX


class WebhookEvent(StrEnum):
    """Events an endpoint may subscribe to (the names of kefu.events.names.EventName)."""

    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    MESSAGE_CREATED = "message.created"


# Sent by "send a test ping" only; never subscribed to.
PING_EVENT = "webhook.ping"

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=URL_MAX)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _no_nul = field_validator("*", mode="before")(refuse_nul)

    @field_validator("events", mode="after", check_fields=False)
    @classmethod
    def _unique(cls, events: list[WebhookEvent] | None) -> list[WebhookEvent] | None:
        return None if events is None else sorted(set(events))


class EndpointIn(_Input):
    url: Url
    description: Description = ""
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent))
    # Also internal notes and timeline events (message.created); off, only public replies.
    include_internal: bool = False
    is_active: bool = True


class EndpointChange(_Input):
    url: Url | None = None
    description: Description | None = None
    events: list[WebhookEvent] | None = Field(default=None, min_length=1, max_length=len(WebhookEvent))
    include_internal: bool | None = None
    is_active: bool | None = None


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    include_internal: bool
    is_active: bool
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: datetime | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    # Shown once (at creation and rotation); Kefu cannot show it again.
    secret: str


class DeliveryOut(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str
    event_name: str
    status: str
    attempts: int
    response_status: int | None
    response_excerpt: str | None
    error: str | None
    duration_ms: int | None
    attempt_log: list[dict[str, Any]]
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    body: dict[str, Any]
