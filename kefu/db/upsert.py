"""INSERT … ON CONFLICT DO NOTHING for both backends, built once per table and reused.

Catching IntegrityError would abort the caller's whole transaction on PostgreSQL (or cost a
SAVEPOINT round trip per insert); letting the database skip the row keeps the transaction usable.
Statements carry no values: callers pass parameters at execution, so SQLAlchemy's compiled-statement
cache is hit instead of rebuilding a cache key from every value on hot paths.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Insert

from kefu.db.base import table_of


@lru_cache(maxsize=128)
def _statement(
    dialect: str, table: Table, index_elements: tuple[str, ...] | None, returning: tuple[str, ...]
) -> Insert:
    elements = [table.c[name] for name in index_elements] if index_elements else None
    if dialect == "postgresql":
        statement: Insert = postgresql.insert(table).on_conflict_do_nothing(index_elements=elements)
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=elements)
    else:
        raise RuntimeError(f"insert_or_ignore does not support the {dialect} dialect")
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    return statement


def insert_or_ignore(
    session: AsyncSession,
    model: type[Any],
    *,
    index_elements: tuple[str, ...] | None = None,
    returning: tuple[str, ...] = (),
) -> Insert:
    """A reusable INSERT into `model`'s table skipping rows that hit a unique conflict (any or the named one).

    Execute it with the row as parameters: `await session.execute(statement, values)`.
    """
    table = table_of(model)
    return _statement(session.get_bind().dialect.name, table, index_elements, returning)


def insert_or_ignore_table(
    conn: AsyncConnection,
    table: Table,
    *,
    index_elements: tuple[str, ...] | None = None,
    returning: tuple[str, ...] = (),
) -> Insert:
    """`insert_or_ignore` for a Core table, on the dialect of a connection already in hand."""
    return _statement(conn.dialect.name, table, index_elements, returning)
