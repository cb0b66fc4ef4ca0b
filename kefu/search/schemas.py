"""Search administration I/O: synonym lists and the report of searches without a good answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kefu.search.synonyms import MAX_GROUP_TERMS, MAX_GROUPS, MAX_TERM_LENGTH

# Bounds here keep a hostile body cheap to reject; `check_synonym_groups` is the full rule.
Term = Annotated[str, Field(max_length=MAX_TERM_LENGTH * 4)]
Group = Annotated[list[Term], Field(max_length=MAX_GROUP_TERMS * 2)]


class SynonymsIn(BaseModel):
    """A whole synonym list for one locale (replaces the previous one)."""

    model_config = ConfigDict(extra="forbid")

    locale: Annotated[str, Field(max_length=10)]
    groups: Annotated[list[Group], Field(max_length=MAX_GROUPS)]


class SynonymsOut(BaseModel):
    """The synonym groups of a locale; `is_default` when no list has been saved yet."""

    model_config = ConfigDict(extra="forbid")

    locale: str
    groups: list[list[str]]
    is_default: bool


class MissOut(BaseModel):
    """A search without a good answer, how often it was asked and when last."""

    model_config = ConfigDict(extra="forbid")

    locale: str
    query: str
    count: int
    last_seen: datetime


class MissesOut(BaseModel):
    """The most frequent searches without a good answer over the last `days` days."""

    model_config = ConfigDict(extra="forbid")

    days: int
    items: list[MissOut]
