"""Running Alembic from code (the `kefu migrate` command and the migration tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision` ("base" drops everything)."""
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """`upgrade` from inside an event loop."""
    await asyncio.to_thread(upgrade, database_url, revision)


async def downgrade_async(database_url: str, revision: str) -> None:
    """`downgrade` from inside an event loop."""
    await asyncio.to_thread(downgrade, database_url, revision)


# Objects the models cannot describe, written by hand in migrations and left out of comparisons:
# indexes on JSON expressions, and the full-text parts of search (kefu.search.index): SQLite's FTS5
# virtual table with its shadow tables, PostgreSQL's generated tsvector column and its GIN index.
EXPRESSION_INDEXES = frozenset({"ix_conversations_form_order_id", "ix_conversations_form_tx_hash"})
FULL_TEXT_INDEXES = frozenset({"ix_search_documents_tsv"})
FULL_TEXT_TABLE_PREFIX = "search_fts"
FULL_TEXT_COLUMNS = frozenset({("search_documents", "tsv")})


def include_object(
    item: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    """Alembic's autogenerate filter: everything except the hand-written objects above."""
    del reflected, compare_to
    if type_ == "index":
        return name not in EXPRESSION_INDEXES | FULL_TEXT_INDEXES
    if type_ == "table":
        return not (name or "").startswith(FULL_TEXT_TABLE_PREFIX)
    if type_ == "column":
        table = getattr(getattr(item, "table", None), "name", None)
        return (table, name) not in FULL_TEXT_COLUMNS
    return True
