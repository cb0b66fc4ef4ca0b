"""Pydantic shapes of the automation API (input is strict: unknown fields and NUL are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from kefu.automation.macros import MacroAction, MacroBody
from kefu.automation.rules import Action, Condition, FieldChanged, TriggerOn
from kefu.automation.views import SavedViewFilters
from kefu.conversations.schemas import Locale, refuse_nul

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Position = Annotated[int, Field(ge=0, le=100_000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Refused rather than stripped: PostgreSQL cannot store NUL and would fail with a 500.
    _no_nul = field_validator("*", mode="before")(refuse_nul)


class TriggerIn(_Input):
    name: Name
    position: Position = 0
    is_active: bool = True
    on: TriggerOn
    conditions: list[Condition] = Field(default_factory=list, max_length=30)
    actions: list[Action] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _changed_only_on_update(self) -> TriggerIn:
        if self.on != TriggerOn.UPDATED and any(isinstance(c, FieldChanged) for c in self.conditions):
            raise ValueError("a 'changed' condition only applies to triggers on 'updated'")
        return self


class TriggerOut(BaseModel):
    id: uuid.UUID
    name: str
    position: int
    is_active: bool
    on: TriggerOn
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AutoCloseIn(_Input):
    after_days: int = Field(ge=1, le=365)
    enabled: bool = True


class AutoCloseOut(BaseModel):
    after_days: int
    enabled: bool


class MacroIn(_Input):
    name: Name
    bodies: dict[Locale, MacroBody] = Field(min_length=1)
    actions: list[MacroAction] = Field(default_factory=list, max_length=10)
    shared: bool = False


class MacroOut(BaseModel):
    id: uuid.UUID
    name: str
    bodies: dict[str, str]
    actions: list[dict[str, Any]]
    shared: bool
    owner_id: uuid.UUID | None
    usage_count: int
    created_at: datetime
    updated_at: datetime


class RenderedMacroOut(BaseModel):
    text: str
    locale: str
    actions: list[dict[str, Any]]


class SavedViewIn(_Input):
    name: Name
    filters: SavedViewFilters = Field(default_factory=SavedViewFilters)
    shared: bool = False
    position: Position = 0


class SavedViewOut(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    filters: SavedViewFilters
    shared: bool
    position: int
    created_at: datetime
    updated_at: datetime


class ReplyCheckIn(_Input):
    text: Annotated[str, StringConstraints(max_length=20_000)]


class ReplyWarningOut(BaseModel):
    kind: str
    start: int
    end: int
    text: str


class ReplyCheckOut(BaseModel):
    warnings: list[ReplyWarningOut]
