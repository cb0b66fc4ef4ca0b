"""Call backs as the agents' API reads and writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from kefu.channels.phone.models import OPEN_STATUSES, CallbackRequest, CallbackStatus


class CallbackOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    number: str
    official_number: str
    window_start: datetime
    window_end: datetime
    time_zone: str
    locale: str
    topic: str
    source: str
    status: CallbackStatus
    attempts: int
    outcome_note: str
    agent_id: uuid.UUID | None
    outcome_at: datetime | None
    # The call back's own deadline is the end of its window.
    overdue: bool

    @classmethod
    def of(cls, callback: CallbackRequest, now: datetime) -> CallbackOut:
        """The call back as of `now`."""
        return cls(
            id=callback.id,
            conversation_id=callback.conversation_id,
            number=callback.number,
            official_number=callback.official_number,
            window_start=callback.window_start,
            window_end=callback.window_end,
            time_zone=callback.time_zone,
            locale=callback.locale,
            topic=callback.topic,
            source=str(callback.source),
            status=callback.status,
            attempts=callback.attempts,
            outcome_note=callback.outcome_note,
            agent_id=callback.agent_id,
            outcome_at=callback.outcome_at,
            overdue=callback.status in OPEN_STATUSES and now > callback.window_end,
        )


class CallbackList(BaseModel):
    items: list[CallbackOut]


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal[CallbackStatus.DONE, CallbackStatus.NO_ANSWER, CallbackStatus.CANCELLED]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
