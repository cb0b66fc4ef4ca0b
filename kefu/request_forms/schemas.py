"""API shapes: admin-added form fields (in and out), deflection events and the deflection report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kefu.conversations.states import Category
from kefu.kb.schemas import Slug
from kefu.request_forms.models import DeflectionKind, FieldKind

MAX_CHOICES: Final = 50
MAX_FIELD_LENGTH: Final = 2000
# Lower-case slug starting with a letter: it becomes a JSON key and an HTML id.
NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{1,39}$"
CHOICE_PATTERN: Final = r"^[A-Za-z0-9_.-]{1,40}$"
SESSION_PATTERN: Final = r"^[A-Za-z0-9_-]{16,64}$"


def _one_line(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be one line of printable text")
    return value


Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_one_line)]
HelpText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_one_line)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChoiceIn(_Input):
    value: Annotated[str, StringConstraints(pattern=CHOICE_PATTERN)]
    label_en: Label = ""
    label_zh: Label = ""

    @model_validator(mode="after")
    def _named(self) -> ChoiceIn:
        if not (self.label_en or self.label_zh):
            raise ValueError("give the option a label in English or Chinese")
        return self


class _FieldSettings(_Input):
    """What admins may change after creating a field (name, category and kind are fixed)."""

    label_en: Label | None = None
    label_zh: Label | None = None
    help_en: HelpText | None = None
    help_zh: HelpText | None = None
    required: bool | None = None
    max_length: Annotated[int, Field(ge=1, le=MAX_FIELD_LENGTH)] | None = None
    choices: Annotated[list[ChoiceIn], Field(max_length=MAX_CHOICES)] | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    active: bool | None = None


class FieldCreate(_FieldSettings):
    category: Category
    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    kind: FieldKind


class FieldUpdate(_FieldSettings):
    """A partial change; `max_length: null` clears the limit (back to the default)."""


class ChoiceOut(BaseModel):
    value: str
    label_en: str = ""
    label_zh: str = ""


class FieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    category: Category
    name: str
    kind: FieldKind
    label_en: str
    label_zh: str
    help_en: str
    help_zh: str
    required: bool
    max_length: int | None
    choices: list[ChoiceOut]
    position: int
    active: bool
    created_at: datetime
    updated_at: datetime


class FieldList(BaseModel):
    items: list[FieldOut]


class DeflectionIn(_Input):
    """One event from the request page: tiny on purpose (sent with `fetch(..., {keepalive: true})`)."""

    session: Annotated[str, StringConstraints(pattern=SESSION_PATTERN)]
    kind: DeflectionKind
    locale: Annotated[str, StringConstraints(max_length=10)]
    # The suggested article (help-center slug in `locale`); none for `submitted`.
    article: Slug | None = None

    @model_validator(mode="after")
    def _article_when_needed(self) -> DeflectionIn:
        if (self.kind == DeflectionKind.SUBMITTED) != (self.article is None):
            raise ValueError("name the article for suggested and opened events, and only for them")
        return self


class ArticleDeflectionOut(BaseModel):
    article_id: uuid.UUID
    slug: str
    locale: str
    title: str
    suggested: int
    opened: int
    deflections: int


class DeflectionReportOut(BaseModel):
    days: int
    sessions_with_suggestions: int
    sessions_with_opened_article: int
    submitted_after_opening: int
    deflections: int
    pending: int
    articles: list[ArticleDeflectionOut]
