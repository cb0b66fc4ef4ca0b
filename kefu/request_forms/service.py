"""Reads: the fields admins added to each category's form (cached), one field for the admin API.

The active fields of a category are read on every request submitted and every form page shown, so
they are cached per process (`ConfigCache`): a change made here applies at once in this process and
within the cache's ttl elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.states import Category
from kefu.core.errors import NotFound
from kefu.db.cache import ConfigCache
from kefu.request_forms.models import FieldKind, RequestFormField


@dataclass(frozen=True)
class Choice:
    """One option of an admin-added select."""

    value: str
    label_en: str
    label_zh: str

    def label(self, locale: str) -> str:
        """The option's name in `locale`, else in the other language, else its value."""
        return _pick(locale, self.label_en, self.label_zh) or self.value


@dataclass(frozen=True)
class ExtraField:
    """An admin-added field as validation and the request page use it (hashable: models are cached)."""

    id: uuid.UUID
    name: str
    kind: FieldKind
    label_en: str
    label_zh: str
    help_en: str
    help_zh: str
    required: bool
    max_length: int | None
    choices: tuple[Choice, ...]
    position: int

    def label(self, locale: str) -> str:
        """The label in `locale`, falling back to the other language, then the name."""
        return _pick(locale, self.label_en, self.label_zh) or self.name

    def help(self, locale: str) -> str:
        """The help text in `locale`, falling back to the other language."""
        return _pick(locale, self.help_en, self.help_zh)


# Other processes see an admin's change within the ttl (this one at once).
ACTIVE_FIELDS: ConfigCache[tuple[ExtraField, ...]] = ConfigCache("request_form_fields")


def _pick(locale: str, en: str, zh: str) -> str:
    return (zh or en) if locale == "zh-CN" else (en or zh)


def _choice(raw: Mapping[str, Any]) -> Choice:
    return Choice(str(raw.get("value", "")), str(raw.get("label_en", "")), str(raw.get("label_zh", "")))


def extra_field(row: RequestFormField) -> ExtraField:
    """The immutable view of a stored field."""
    return ExtraField(
        id=row.id,
        name=row.name,
        kind=FieldKind(row.kind),
        label_en=row.label_en,
        label_zh=row.label_zh,
        help_en=row.help_en,
        help_zh=row.help_zh,
        required=row.required,
        max_length=row.max_length,
        choices=tuple(_choice(c) for c in row.choices or () if isinstance(c, Mapping)),
        position=row.position,
    )


def _ordered(category: Category | None = None) -> Any:
    query = select(RequestFormField)
    if category is not None:
        query = query.where(RequestFormField.category == category.value)
    return query.order_by(RequestFormField.category, RequestFormField.position, RequestFormField.created_at)


async def get_active_fields(session: AsyncSession, category: Category) -> tuple[ExtraField, ...]:
    """The active admin-added fields of `category` in page order (cached per process)."""

    async def load(s: AsyncSession) -> tuple[ExtraField, ...]:
        rows = await s.scalars(_ordered(category).where(RequestFormField.active.is_(True)))
        return tuple(extra_field(row) for row in rows)

    return await ACTIVE_FIELDS.get(session, category.value, load)


async def list_fields(session: AsyncSession, category: Category | None = None) -> list[RequestFormField]:
    """Every admin-added field (active or not), by category then position; for admins."""
    return list(await session.scalars(_ordered(category)))


async def get_field(session: AsyncSession, field_id: uuid.UUID) -> RequestFormField:
    """One admin-added field; NotFound when there is none with that id."""
    row = await session.get(RequestFormField, field_id)
    if row is None:
        raise NotFound("no such form field")
    return row


async def count_fields(session: AsyncSession, category: Category) -> int:
    """How many fields (active or not) admins added to `category`."""
    query = select(func.count()).select_from(RequestFormField)
    return int(await session.scalar(query.where(RequestFormField.category == category.value)) or 0)


async def field_labels(session: AsyncSession, category: Category, locale: str) -> dict[str, str]:
    """Labels of every admin-added field of `category` in `locale`, inactive ones too (stored values)."""
    return {row.name: extra_field(row).label(locale) for row in await session.scalars(_ordered(category))}
