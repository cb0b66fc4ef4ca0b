"""Core statements run by the asyncpg driver (kefu.db.driver): the same SQL and values SQLAlchemy
would send, committed on their own, visible to engine listeners, and a broken connection dropped."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from kefu.core.ids import new_id
from kefu.db import driver
from kefu.db.base import table_of
from kefu.db.driver import close_driver_connections, compile_for_driver, fetch_row
from kefu.db.engine import create_engine
from kefu.inboxes.models import Team
from tests.conftest import Database

_TEAMS = table_of(Team)


def _insert_team() -> Any:
    at = bindparam("at", type_=_TEAMS.c.created_at.type)
    return (
        insert(_TEAMS)
        .values(
            id=bindparam("id"),
            name=bindparam("name"),
            slug=bindparam("name"),
            is_private=False,
            created_at=at,
            updated_at=at,
        )
        .returning(_TEAMS.c.id, _TEAMS.c.name, _TEAMS.c.created_at)
    )


_INSERT_TEAM = _insert_team()


@pytest.fixture
def pg(db: Database) -> Database:
    """`db` on PostgreSQL only: driver statements are asyncpg's."""
    if db.backend != "postgres":
        pytest.skip("the driver path is asyncpg's")
    return db


def test_arguments_follow_the_dollar_positions_with_fixed_values_and_type_processing() -> None:
    statement = select(literal("constant"), bindparam("when", type_=_TEAMS.c.created_at.type), bindparam("n"))
    prepared = compile_for_driver(statement, postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
    assert "$1" in prepared.sql
    assert "$3" in prepared.sql
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError):
        prepared.arguments({"when": naive, "n": 1})
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert prepared.arguments({"when": at, "n": 7}) == ["constant", at, 7]
    with pytest.raises(KeyError):
        prepared.arguments({"when": at})


def test_statements_the_driver_cannot_run_alone_are_refused() -> None:
    dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    # `updated_at` has a Python-side onupdate that SQLAlchemy's execution would have filled in.
    from kefu.conversations.models import Conversation

    conversations = table_of(Conversation)
    stamped = update(conversations).values(last_seq=conversations.c.last_seq + 1)
    with pytest.raises(ValueError, match="updated_at"):
        compile_for_driver(stamped, dialect)
    expanding = select(_TEAMS.c.id).where(_TEAMS.c.name.in_(bindparam("names", expanding=True)))
    with pytest.raises(ValueError, match="names"):
        compile_for_driver(expanding, dialect)
    with pytest.raises(ValueError, match="asyncpg"):
        compile_for_driver(_INSERT_TEAM, sqlite.dialect())


@pytest.mark.postgres
async def test_a_row_is_committed_returned_and_seen_by_listeners(pg: Database) -> None:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    tag_id = new_id()
    at = datetime(2026, 11, 25, 1, 2, 3, tzinfo=UTC)
    event.listen(pg.engine.sync_engine, "before_cursor_execute", record)
    try:
        row = await fetch_row(pg.engine, _INSERT_TEAM, {"id": tag_id, "name": "vip", "at": at})
    finally:
        event.remove(pg.engine.sync_engine, "before_cursor_execute", record)
    assert row is not None
    assert (uuid.UUID(int=row["id"].int), row["name"], row["created_at"]) == (tag_id, "vip", at)
    assert seen == [compile_for_driver(_INSERT_TEAM, pg.engine.dialect).sql]
    # Committed: another connection reads it.
    async with pg.engine.connect() as connection:
        stored = (await connection.execute(select(_TEAMS.c.name).where(_TEAMS.c.id == tag_id))).scalar()
    assert stored == "vip"
    # A statement that returns nothing gives None, and a failing one leaves nothing behind.
    none = select(_TEAMS.c.id).where(_TEAMS.c.name == bindparam("name"))
    assert await fetch_row(pg.engine, none, {"name": "nobody"}) is None
    with pytest.raises(Exception, match=r"unique|duplicate"):
        await fetch_row(pg.engine, _INSERT_TEAM, {"id": tag_id, "name": "again", "at": at})
    async with pg.engine.connect() as connection:
        names = (await connection.execute(select(func.count()).select_from(_TEAMS))).scalar()
    assert names == 1


@pytest.mark.postgres
async def test_a_connection_killed_under_it_is_not_handed_out_again(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    whoami = select(func.pg_backend_pid().label("pid"))
    await close_driver_connections(pg.engine)
    monkeypatch.setattr(driver, "LANE_CONNECTIONS", 1)  # so the next statement gets it back
    first = await fetch_row(pg.engine, whoami, {})
    assert first is not None
    admin = create_engine(pg.url)
    try:
        async with admin.begin() as connection:  # ends the backend of the connection now pooled
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first["pid"]})
    finally:
        await admin.dispose()
    try:
        with pytest.raises(Exception):  # noqa: B017 - whichever error the dead socket gives
            await fetch_row(pg.engine, whoami, {})
        again = await fetch_row(pg.engine, whoami, {})
        assert again is not None
        assert again["pid"] != first["pid"]
    finally:
        await close_driver_connections(pg.engine)  # later tests lease at the usual size


@pytest.mark.postgres
async def test_statements_share_a_few_leased_connections_and_give_them_back(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await close_driver_connections(pg.engine)
    monkeypatch.setattr(driver, "LANE_CONNECTIONS", 2)
    slow = select(func.pg_backend_pid().label("pid"), func.pg_sleep(0.05).label("slept"))
    pool = pg.engine.sync_engine.pool
    try:
        tasks = [asyncio.create_task(fetch_row(pg.engine, slow, {})) for _ in range(8)]
        await asyncio.sleep(0.02)
        tasks[-1].cancel()  # a caller that leaves while waiting takes no connection with it
        rows = await asyncio.gather(*tasks[:-1])
        with pytest.raises(asyncio.CancelledError):
            await tasks[-1]
        assert len({row["pid"] for row in rows if row is not None}) == 2
        assert pool.checkedout() == 2  # type: ignore[attr-defined]  # kept for the next statements
        again = await fetch_row(pg.engine, slow, {})
        assert again is not None
        assert again["pid"] in {row["pid"] for row in rows if row is not None}
    finally:
        await close_driver_connections(pg.engine)
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
