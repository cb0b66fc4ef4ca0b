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


# Indexes on expressions (JSON form fields): autogenerate can neither reflect nor compare them on
# every dialect, so migrations write them by hand and comparisons leave them out.
EXPRESSION_INDEXES = frozenset({"ix_conversations_form_order_id", "ix_conversations_form_tx_hash"})


def include_object(
    item: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    """Alembic's autogenerate filter: everything except the hand-written expression indexes."""
    del item, reflected, compare_to
    return not (type_ == "index" and name in EXPRESSION_INDEXES)
