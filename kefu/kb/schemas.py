"""Validated input for articles: front matter of imported files and the staff editing API."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from kefu.kb.models import MAX_BODY_LENGTH, MAX_SLUG_LENGTH, MAX_TITLE_LENGTH

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_TAGS = 20
MAX_TAG_LENGTH = 40

LocaleName = Literal["zh-CN", "en"]
CategoryName = Literal[
    "support",
    "account",
    "security",
    "kyc",
    "deposit",
    "withdrawal",
    "trading",
    "margin",
    "futures",
    "p2p",
    "earn",
    "api",
    "promotion",
    "general",
]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=MAX_SLUG_LENGTH)]

# C0/C1 control characters other than tab and newline never belong in article text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _clean_title(value: str) -> str:
    value = " ".join(_no_control(value).split())
    if not value:
        raise ValueError("must not be empty")
    return value


def _clean_body(value: str) -> str:
    value = _no_control(value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not value:
        raise ValueError("must not be empty")
    return value + "\n"


def _clean_tags(values: list[str]) -> list[str]:
    seen: list[str] = []
    folded: set[str] = set()
    for raw in values:
        tag = " ".join(unicodedata.normalize("NFKC", _no_control(raw)).split())
        if not tag:
            raise ValueError("tags must not be empty")
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tags are at most {MAX_TAG_LENGTH} characters")
        # Case-insensitive duplicates ("KYC", "kyc") are one tag; the first spelling wins.
        if tag.casefold() not in folded:
            folded.add(tag.casefold())
            seen.append(tag)
    return seen


def _yaml_scalars_as_text(values: object) -> object:
    # YAML reads a tag like `429` as a number; in a tag list it is meant as text.
    if isinstance(values, list):
        return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in values]
    return values


Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE_LENGTH), AfterValidator(_clean_title)]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY_LENGTH), AfterValidator(_clean_body)]
Tags = Annotated[
    list[Annotated[str, Field(max_length=MAX_TAG_LENGTH * 4)]],
    Field(max_length=MAX_TAGS),
    AfterValidator(_clean_tags),
]


class FrontMatter(BaseModel):
    """The YAML header of an article file (see shared/eval/kb/README.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    slug: Slug
    locale: LocaleName
    title: Title
    category: CategoryName
    tags: Annotated[Tags, BeforeValidator(_yaml_scalars_as_text)] = Field(default_factory=list)


class ArticleContent(BaseModel):
    """The editable content of one article version."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body
    category: CategoryName = "general"
    tags: Tags = Field(default_factory=list)


class ArticleCreate(ArticleContent):
    """A new article (staff API and importer); `(slug, locale)` must be free."""

    slug: Slug
    locale: LocaleName


class ArticleUpdate(BaseModel):
    """A partial edit; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    category: CategoryName | None = None
    tags: Tags | None = None


class PreviewIn(BaseModel):
    """Markdown to render for the editor's preview pane."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(max_length=MAX_BODY_LENGTH), AfterValidator(_no_control)]


class VoteIn(BaseModel):
    """A visitor's answer to "was this helpful?"."""

    model_config = ConfigDict(extra="forbid")

    helpful: Annotated[bool, Field(strict=True)]
