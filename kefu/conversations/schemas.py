"""Pydantic shapes of the conversation API (input is strict: unknown fields are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from kefu.conversations.states import AuthorKind, Category, MessageKind, Priority, Status
from kefu.inboxes.models import ChannelKind

Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[\w.:-]{1,50}$", max_length=50)
]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Body = Annotated[str, StringConstraints(max_length=20_000)]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
Locale = Literal["en", "zh-CN"]


def refuse_nul(value: Any) -> Any:
    """`value` unchanged unless a string in it (keys included) holds NUL, which PostgreSQL cannot store."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key)
            refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            refuse_nul(item)
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Refused rather than stripped: SQLite would store NUL and PostgreSQL would fail with a 500.
    _no_nul = field_validator("*", mode="before")(refuse_nul)


class CustomerIn(_Input):
    """Who the conversation is for; at least one identity."""

    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    exchange_uid: Annotated[str, StringConstraints(max_length=64)] | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class ConversationCreate(_Input):
    subject: Subject = ""
    body: Body = Field(min_length=1)
    category: Category = Category.GENERAL
    form_fields: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = Priority.NORMAL
    locale: Locale = "en"
    customer: CustomerIn | None = (
        None  # required for agents and API clients, taken from the token for customers
    )
    team_id: uuid.UUID | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    client_id: ClientId | None = None


class ConversationUpdate(_Input):
    status: Status | None = None
    priority: Priority | None = None
    category: Category | None = None
    assignee_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    unassign: bool = False  # explicit, because assignee_id=null is indistinguishable from "unchanged"


class MessageCreate(_Input):
    body: Body = ""
    kind: Literal[MessageKind.REPLY, MessageKind.NOTE] = MessageKind.REPLY
    client_id: ClientId | None = None
    status: Status | None = None  # send-and-set-status


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    url: str


class MessageOut(BaseModel):
    id: uuid.UUID
    seq: int
    kind: MessageKind
    author_kind: AuthorKind
    author_agent_id: uuid.UUID | None
    body: str
    data: dict[str, Any]
    client_id: str | None
    channel: ChannelKind
    created_at: datetime
    attachments: list[AttachmentOut]


class ConversationOut(BaseModel):
    id: uuid.UUID
    reference: str
    subject: str
    status: Status
    priority: Priority
    category: Category
    channel: ChannelKind
    form_fields: dict[str, Any]
    locale: str
    contact_id: uuid.UUID
    assignee_id: uuid.UUID | None
    team_id: uuid.UUID | None
    tags: list[str]
    last_seq: int
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    merged_into_id: uuid.UUID | None = None


class ConversationCreated(ConversationOut):
    """Returned to a customer who opened a conversation: a token for following it up."""

    customer_token: str | None = None


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_after_seq: int | None


class ConversationMerge(_Input):
    """Merge this conversation into `into` (an id or `KF-` reference of the same customer)."""

    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
