"""The event envelope sent over the bus, and the topics (recipient groups) it is addressed to."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from kefu.core.clock import utcnow
from kefu.core.ids import new_id
from kefu.events.names import EventName

# "kind:id"; kept short and printable because it becomes part of a Redis channel name.
Topic = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,40}:[A-Za-z0-9_.-]{1,100}$")]


def _new_event_id() -> str:
    return str(new_id())


class Event(BaseModel):
    """An immutable fact, published after commit to each of its topics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: EventName
    topics: tuple[Topic, ...] = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    id: str = Field(default_factory=_new_event_id, min_length=1, max_length=64)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    # Set by the event log when published (see kefu.events.log); None for ephemeral events.
    position: str | None = Field(default=None, max_length=45)

    def to_json(self) -> bytes:
        """The wire form (UTF-8 JSON)."""
        # Without a position: the log splices it in as the first member when it numbers the event.
        return self.model_dump_json(exclude={"position"} if self.position is None else None).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        """Parse the wire form; raises `pydantic.ValidationError` on anything malformed."""
        return cls.model_validate_json(data)


def _topic(kind: str, ident: uuid.UUID | str) -> str:
    text = str(ident)
    if not text:
        raise ValueError(f"empty {kind} id")
    return f"{kind}:{text}"


def conversation_topic(conversation_id: uuid.UUID | str) -> str:
    """Everyone watching one conversation (its customer and the agents who opened it)."""
    return _topic("conversation", conversation_id)


def inbox_topic(inbox_id: uuid.UUID | str) -> str:
    """Agents watching an inbox's queue."""
    return _topic("inbox", inbox_id)


def agent_topic(agent_id: uuid.UUID | str) -> str:
    """Every open session of one agent (notifications, forced sign-out)."""
    return _topic("agent", agent_id)


def team_topic(team_id: uuid.UUID | str) -> str:
    """Every agent of one team."""
    return _topic("team", team_id)
