"""INSERT … ON CONFLICT DO NOTHING for both backends.

Catching IntegrityError would abort the caller's whole transaction on PostgreSQL (or cost a
SAVEPOINT round trip per insert); letting the database skip the row keeps the transaction usable.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


def insert_or_ignore(
    session: AsyncSession,
    model: type[Any],
    values: dict[str, Any],
    *,
    index_elements: list[InstrumentedAttribute[Any] | Column[Any]] | None = None,
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of `values` into `model` that skips the row on a unique conflict (any, or the named one)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).values(**values).on_conflict_do_nothing(index_elements=index_elements)
    if dialect == "sqlite":
        return sqlite.insert(model).values(**values).on_conflict_do_nothing(index_elements=index_elements)
    raise RuntimeError(f"insert_or_ignore does not support the {dialect} dialect")
