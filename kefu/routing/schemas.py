"""Pydantic shapes of the routing API (input is strict: unknown fields are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from kefu.conversations.schemas import refuse_nul
from kefu.routing.models import LanguageMatch, Presence, RoutingMode

# BCP 47-ish: "en", "zh", "zh-CN", "zh-Hant"; kept short because it is matched, never displayed.
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
MAX_CAPACITY = 200


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _no_nul = field_validator("*", mode="before")(refuse_nul)


class PresenceIn(_Input):
    status: Presence


class PresenceOut(BaseModel):
    agent_id: uuid.UUID
    status: Presence
    auto: bool
    changed_at: datetime


class AgentPresenceOut(BaseModel):
    agent_id: uuid.UUID
    name: str
    status: Presence
    auto: bool
    changed_at: datetime | None
    load: int
    capacity: int
    languages: list[str]
    team_ids: list[uuid.UUID]


class TeamRoutingIn(_Input):
    mode: RoutingMode
    language_match: LanguageMatch = LanguageMatch.PREFER


class TeamRoutingOut(BaseModel):
    team_id: uuid.UUID
    mode: RoutingMode
    language_match: LanguageMatch
    last_assigned_agent_id: uuid.UUID | None
    queue_length: int


class RoutingProfileIn(_Input):
    capacity: int = Field(ge=0, le=MAX_CAPACITY, strict=True)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=20)


class RoutingProfileOut(BaseModel):
    agent_id: uuid.UUID
    capacity: int
    languages: list[str]


class TransferIn(_Input):
    to_agent_id: uuid.UUID | None = None
    to_team_id: uuid.UUID | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] = ""

    @model_validator(mode="after")
    def _has_target(self) -> Self:
        if self.to_agent_id is None and self.to_team_id is None:
            raise ValueError("name to_agent_id or to_team_id")
        return self
