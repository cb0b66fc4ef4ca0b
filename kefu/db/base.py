"""Declarative base shared by every domain's models, with portable column types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, Table, TypeDecorator, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column

from kefu.core.clock import utcnow
from kefu.core.ids import new_id

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns tz-aware datetimes (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use kefu.core.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def table_of(model: type[Base]) -> Table:
    """The Core table behind a mapped class (for Core statements on hot paths)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


_ADOPTED = "kefu.adopted"


def adopt(session: AsyncSession, instance: T) -> T:
    """Make an object whose row was just written with a Core INSERT persistent in `session`.

    Every column must be set on `instance` (an unset one would be lazy-loaded, which async code
    cannot do); later changes to the object are flushed as UPDATEs like any loaded row.
    """
    make_transient_to_detached(instance)
    session.add(instance)
    # The identity map holds clean objects weakly: without this, a row adopted by one step (the SLA
    # clock) is gone by the time the next step (the acknowledgement) asks for it, and is read again.
    session.info.setdefault(_ADOPTED, []).append(instance)
    return instance
