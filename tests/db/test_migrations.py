"""Migrations run up and down on both databases and produce exactly the schema the models declare."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SAWarning

from kefu.db import migrate
from kefu.db.engine import create_engine
from kefu.registry import load_models
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_reachable, service_unavailable


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A brand-new, empty database (not the shared test schema)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
        return
    problem = await _pg_reachable()
    if problem:
        service_unavailable("PostgreSQL", problem)
    url = await _create_pg_database()
    yield url
    await _drop_pg_database(url)


def _diff(connection: Connection) -> list[object]:
    # SQLite cannot reflect the expression indexes; they are checked by name in the catalogue instead.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based", SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression", UserWarning)
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": migrate.include_object}
        )
        return list(compare_metadata(context, load_models()))


def _tables(connection: Connection) -> set[str]:
    names = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return {name for name in names if not name.startswith(migrate.FULL_TEXT_TABLE_PREFIX)}


def _conversation_indexes(connection: Connection) -> set[str]:
    # Read from the catalogue: SQLite's inspector cannot reflect expression indexes.
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversations'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'conversations'"
    return {str(name) for (name,) in connection.execute(text(query))}


def _has_full_text(connection: Connection) -> bool:
    if connection.dialect.name == "sqlite":
        query = "SELECT count(*) FROM sqlite_master WHERE name = 'search_fts'"
    else:
        query = "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_search_documents_tsv'"
    return connection.execute(text(query)).scalar() == 1


async def test_upgrade_matches_models_and_downgrade_removes_everything(empty_url: str) -> None:
    await migrate.upgrade_async(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_tables) == set(load_models().tables)
            assert await conn.run_sync(_conversation_indexes) >= migrate.EXPRESSION_INDEXES
            assert await conn.run_sync(_has_full_text)
        await migrate.downgrade_async(empty_url, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        await migrate.upgrade_async(empty_url)  # and back up again, cleanly
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()
