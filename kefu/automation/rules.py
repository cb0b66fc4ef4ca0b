"""Trigger rules: typed conditions and actions, and their pure evaluation against a snapshot.

Conditions and actions are pydantic discriminated unions on `type`, so what is stored in the
`triggers` table is always something this module knows how to evaluate or apply.
"""

from __future__ import annotations

import unicodedata
import uuid
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from kefu.conversations.schemas import Locale, Tag
from kefu.conversations.states import Category, Priority, Status
from kefu.inboxes.models import ChannelKind

Needle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FormFieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
NoteBody = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class TriggerOn(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CUSTOMER_MESSAGE = "customer_message"


def normalise_text(text: str) -> str:
    """Case- and width-insensitive form (NFKC + casefold): 'ＰＡＳＳ' equals 'pass'; CJK is unchanged."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Snapshot:
    """What conditions look at: the live conversation plus the change being processed."""

    category: str
    priority: str
    status: str
    channel: str
    team_id: uuid.UUID | None
    locale: str
    tags: frozenset[str]
    subject: str
    form_fields: Mapping[str, Any]
    first_message: str = ""
    message: str = ""
    changed: frozenset[str] = field(default_factory=frozenset)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Condition(_Rule):
    negate: bool = False  # "is not" / "has not" / "does not contain"

    @abstractmethod
    def test(self, snapshot: Snapshot) -> bool:
        """Whether the condition holds, before negation (each condition type defines it)."""

    def matches(self, snapshot: Snapshot) -> bool:
        """Whether the condition holds, negation applied."""
        return self.test(snapshot) != self.negate


class CategoryIs(_Condition):
    type: Literal["category"]
    value: Category

    def test(self, snapshot: Snapshot) -> bool:
        return snapshot.category == self.value


class PriorityIs(_Condition):
    type: Literal["priority"]
    value: Priority

    def test(self, snapshot: Snapshot) -> bool:
        return snapshot.priority == self.value


class StatusIs(_Condition):
    type: Literal["status"]
    value: Status

    def test(self, snapshot: Snapshot) -> bool:
        return snapshot.status == self.value


class ChannelIs(_Condition):
    type: Literal["channel"]
    value: ChannelKind

    def test(self, snapshot: Snapshot) -> bool:
        return snapshot.channel == self.value


class TeamIs(_Condition):
    type: Literal["team"]
    value: uuid.UUID | None  # None: the conversation has no team

    def test(self, snapshot: Snapshot) -> bool:
        return snapshot.team_id == self.value


class LocaleIs(_Condition):
    type: Literal["locale"]
    value: Locale

    def test(self, snapshot: Snapshot) -> bool:
        return snapshot.locale == self.value


class HasTag(_Condition):
    type: Literal["tag"]
    value: Tag

    def test(self, snapshot: Snapshot) -> bool:
        return self.value in snapshot.tags


class SubjectContains(_Condition):
    type: Literal["subject_contains"]
    value: Needle

    def test(self, snapshot: Snapshot) -> bool:
        return normalise_text(self.value) in normalise_text(snapshot.subject)


class FirstMessageContains(_Condition):
    type: Literal["first_message_contains"]
    value: Needle

    def test(self, snapshot: Snapshot) -> bool:
        return normalise_text(self.value) in normalise_text(snapshot.first_message)


class SubjectOrFirstMessageContains(_Condition):
    type: Literal["text_contains"]
    value: Needle

    def test(self, snapshot: Snapshot) -> bool:
        needle = normalise_text(self.value)
        return needle in normalise_text(snapshot.subject) or needle in normalise_text(snapshot.first_message)


class MessageContains(_Condition):
    """The message of this change (a customer message, or the first message of a new conversation)."""

    type: Literal["message_contains"]
    value: Needle

    def test(self, snapshot: Snapshot) -> bool:
        return normalise_text(self.value) in normalise_text(snapshot.message)


class FormField(_Condition):
    """A form field is present (no `equals`) or equals a value (compared as text, case-insensitively)."""

    type: Literal["form_field"]
    field: FormFieldName
    equals: Annotated[str, StringConstraints(max_length=200)] | None = None

    def test(self, snapshot: Snapshot) -> bool:
        value = snapshot.form_fields.get(self.field)
        if value is None or value == "":
            return False
        return self.equals is None or normalise_text(str(value)) == normalise_text(self.equals)


class FieldChanged(_Condition):
    """Only meaningful for `updated` triggers (saving one elsewhere is refused)."""

    type: Literal["changed"]
    field: Literal["status", "priority", "category", "team", "assignee", "tags"]

    def test(self, snapshot: Snapshot) -> bool:
        return self.field in snapshot.changed


Condition = Annotated[
    CategoryIs
    | PriorityIs
    | StatusIs
    | ChannelIs
    | TeamIs
    | LocaleIs
    | HasTag
    | SubjectContains
    | FirstMessageContains
    | SubjectOrFirstMessageContains
    | MessageContains
    | FormField
    | FieldChanged,
    Field(discriminator="type"),
]

TEXT_CONDITIONS = (FirstMessageContains, SubjectOrFirstMessageContains)


class SetPriority(_Rule):
    type: Literal["set_priority"]
    value: Priority


class SetTeam(_Rule):
    type: Literal["set_team"]
    team_id: uuid.UUID


class SetCategory(_Rule):
    type: Literal["set_category"]
    value: Category


class AddTags(_Rule):
    type: Literal["add_tags"]
    tags: list[Tag] = Field(min_length=1, max_length=20)


class RemoveTags(_Rule):
    type: Literal["remove_tags"]
    tags: list[Tag] = Field(min_length=1, max_length=20)


class SetStatus(_Rule):
    type: Literal["set_status"]
    value: Status


class AddNote(_Rule):
    """An internal note from the system (never reaches the customer)."""

    type: Literal["add_note"]
    body: NoteBody


Action = Annotated[
    SetPriority | SetTeam | SetCategory | AddTags | RemoveTags | SetStatus | AddNote,
    Field(discriminator="type"),
]

CONDITIONS: TypeAdapter[list[Condition]] = TypeAdapter(list[Condition])
ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])


def parse_conditions(raw: Iterable[dict[str, Any]]) -> list[Condition]:
    """Stored or submitted conditions as typed objects (raises pydantic.ValidationError)."""
    return CONDITIONS.validate_python(list(raw))


def parse_actions(raw: Iterable[dict[str, Any]]) -> list[Action]:
    """Stored or submitted actions as typed objects (raises pydantic.ValidationError)."""
    return ACTIONS.validate_python(list(raw))


def matches_all(conditions: Iterable[Condition], snapshot: Snapshot) -> bool:
    """True when every condition holds (no conditions: always)."""
    return all(condition.matches(snapshot) for condition in conditions)


def tags_after(current: Iterable[str], actions: Iterable[Action]) -> list[str] | None:
    """The tag set after the tag actions among `actions`, or None when they change nothing."""
    before = set(current)
    tags = set(before)
    for action in actions:
        if isinstance(action, AddTags):
            tags |= set(action.tags)
        elif isinstance(action, RemoveTags):
            tags -= set(action.tags)
    return sorted(tags) if tags != before else None
