"""PostgreSQL backups with the database's own tools: pg_dump in an exported snapshot, pg_restore.

The snapshot is exported from a REPEATABLE READ transaction that also lists the blob keys, so the
dump and the blob list describe the same instant. The password reaches the tools through PGPASSWORD,
never their command line (which other users can read in the process list).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from kefu.backup.archive import BackupError
from kefu.backup.blobs import blob_columns
from kefu.db.engine import create_engine

# Tables that hold rows in a freshly migrated, empty database.
_BOOKKEEPING: Final = frozenset({"alembic_version"})
_TOOL_TIMEOUT_SECONDS: Final = 6 * 3600.0


def _url(database_url: str) -> URL:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError("the database is not PostgreSQL")
    # asyncpg's `ssl=` is libpq's `sslmode=`; other driver options mean nothing to the tools.
    query = {
        ("sslmode" if key == "ssl" else key): value
        for key, value in url.query.items()
        if key.startswith("ssl")
    }
    return url.set(drivername="postgresql", query=query)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


async def _run_tool(arguments: list[str], database_url: str) -> None:
    url = _url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(password=None).render_as_string(hide_password=False)
    process = await asyncio.create_subprocess_exec(
        *arguments,
        "--no-password",
        f"--dbname={dsn}",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(_TOOL_TIMEOUT_SECONDS):
            _out, errors = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BackupError(f"{Path(arguments[0]).name} did not finish in time") from None
    if process.returncode != 0:
        detail = errors.decode(errors="replace").strip().splitlines()[-3:]
        raise BackupError(f"{Path(arguments[0]).name} failed: {' / '.join(detail)[:600]}")


@contextlib.asynccontextmanager
async def _connect(database_url: str, **options: object) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            yield await connection.execution_options(**options)
    except (OSError, SQLAlchemyError) as exc:
        raise BackupError(f"PostgreSQL failed: {type(exc).__name__}") from None
    finally:
        await engine.dispose()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def _dump(database_url: str, target: Path) -> tuple[str | None, list[str]]:
    pg_dump = _tool("pg_dump")
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    async with _connect(database_url, **options) as connection, connection.begin():
        snapshot = (await connection.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
        revision = None
        if (await connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one():
            revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        keys: set[str] = set()
        for table, column in blob_columns():
            exists = text("SELECT to_regclass(:name) IS NOT NULL")
            if (await connection.execute(exists, {"name": _quote(table)})).scalar_one():
                name, value = _quote(table), _quote(column)
                query = f"SELECT DISTINCT {value} FROM {name} WHERE {value} IS NOT NULL"  # noqa: S608 - our models' names
                keys.update(str(key) for key in (await connection.execute(text(query))).scalars())
        # The dump sees exactly what this transaction sees, however long it runs.
        await _run_tool(
            [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"], database_url
        )
    return (None if revision is None else str(revision)), sorted(keys)


def dump_postgres(database_url: str, target: Path) -> tuple[str | None, list[str]]:
    """pg_dump the database to `target`; (its schema revision, the blob keys it references)."""
    return asyncio.run(_dump(database_url, target))


async def _has_data(database_url: str) -> bool:
    async with _connect(database_url) as connection:
        tables = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        for name in (await connection.execute(tables)).scalars():
            if name in _BOOKKEEPING:
                continue
            query = f"SELECT EXISTS (SELECT 1 FROM {_quote(name)})"  # noqa: S608 - a table name from the catalog
            if (await connection.execute(text(query))).scalar_one():
                return True
    return False


def postgres_has_data(database_url: str) -> bool:
    """Whether any table of the database's schema holds rows (a freshly migrated one holds none)."""
    return asyncio.run(_has_data(database_url))


def restore_postgres(database_url: str, dump: Path) -> None:
    """pg_restore `dump` over the database in one transaction: all of it or nothing."""
    pg_restore = _tool("pg_restore")
    arguments = [
        pg_restore,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        str(dump),
    ]
    asyncio.run(_run_tool(arguments, database_url))
