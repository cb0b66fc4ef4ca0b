"""Saved views: the validated filter model and how the console turns a view into a list query."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kefu.auth.actors import AgentActor
from kefu.automation.models import SavedView
from kefu.conversations.schemas import Tag
from kefu.conversations.service import ConversationFilters
from kefu.conversations.states import Category, Priority, Status
from kefu.inboxes.models import ChannelKind


class SavedViewFilters(BaseModel):
    """What a saved view selects; every field optional (an empty filter lists everything visible)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: list[Status] = Field(default_factory=list, max_length=len(Status))
    assignee: Literal["me", "none", "any"] | uuid.UUID = "any"
    team_id: uuid.UUID | None = None
    category: Category | None = None
    channel: ChannelKind | None = None
    priority: Priority | None = None
    tag: Tag | None = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    sla: Literal["attention"] | None = None


def view_filters(view: SavedView) -> SavedViewFilters:
    """The view's filters as the typed model (stored JSON was validated when saved)."""
    return SavedViewFilters.model_validate(view.filters)


def conversation_filters(filters: SavedViewFilters, actor: AgentActor) -> ConversationFilters:
    """The list filters the conversation service understands ("me" resolved to `actor`).

    channel, priority and sla are not yet supported by `ConversationFilters`; the console applies
    them once the conversation service grows those filters.
    """
    assignee_id: uuid.UUID | None = None
    if filters.assignee == "me":
        assignee_id = actor.agent_id
    elif isinstance(filters.assignee, uuid.UUID):
        assignee_id = filters.assignee
    return ConversationFilters(
        status=list(filters.statuses) or None,
        assignee_id=assignee_id,
        unassigned=filters.assignee == "none",
        team_id=filters.team_id,
        category=filters.category,
        tag=filters.tag,
        text=filters.text or None,
    )
