"""Pydantic input and output of privacy requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kefu.privacy.models import MAX_REASON_CHARS, RequestKind, RequestStatus


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID
    reason: str = Field("", max_length=MAX_REASON_CHARS)


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON_CHARS)
    ]
    # Must be exactly true: erasure cannot be undone.
    confirm: Literal[True]


class PrivacyRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: RequestKind
    contact_id: uuid.UUID | None
    status: RequestStatus
    requested_by_agent_id: uuid.UUID | None
    reason: str
    size: int | None
    counts: dict[str, Any]
    created_at: datetime
    completed_at: datetime | None
    expires_at: datetime | None
    error: str | None
