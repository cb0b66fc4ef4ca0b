"""Pydantic shapes of the SLA API (input is strict: unknown fields are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from kefu.conversations.schemas import refuse_nul
from kefu.conversations.states import Category, Priority
from kefu.inboxes.models import ChannelKind

# A year of business minutes is far beyond any real target; the cap keeps arithmetic bounded.
Minutes = Annotated[int, Field(ge=1, le=525_600)]


class SlaPolicyIn(BaseModel):
    """A whole policy (PUT replaces every field); empty condition lists match anything."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    position: Annotated[int, Field(ge=0, le=10_000)] = 0
    is_active: bool = True
    priorities: list[Priority] = Field(default_factory=list, max_length=len(Priority))
    categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    channels: list[ChannelKind] = Field(default_factory=list, max_length=len(ChannelKind))
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None

    _no_nul = field_validator("name", mode="before")(refuse_nul)

    @field_validator("priorities", "categories", "channels")
    @classmethod
    def _unique(cls, value: list[Any]) -> list[Any]:
        return list(dict.fromkeys(value))


class SlaPolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    position: int
    is_active: bool
    priorities: list[str]
    categories: list[str]
    channels: list[str]
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    created_at: datetime
    updated_at: datetime


class ClockOut(BaseModel):
    """One target's clock: state None means the policy sets no target (or it has not started)."""

    target_minutes: int | None
    state: str | None
    due_at: datetime | None
    breached: bool


class ConversationSlaOut(BaseModel):
    """The SLA card of a conversation in the console."""

    conversation_id: uuid.UUID
    policy_id: uuid.UUID | None
    first_response: ClockOut
    next_response: ClockOut
    resolution: ClockOut
    first_response_at: datetime | None
    resolution_at: datetime | None
    next_response_met: int
    next_response_missed: int
    paused: bool
    paused_at: datetime | None
    paused_seconds: int
    next_due_at: datetime | None
    next_due_target: str | None
    breached_at: datetime | None
    warned_at: datetime | None
    overdue: bool
