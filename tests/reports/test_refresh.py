"""The periodic refresh (watermarks, late changes, no double counting) and full rebuilds."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.db.uow import transaction
from kefu.ratings.models import SatisfactionRating
from kefu.registry import load_job_modules
from kefu.reports import jobs
from kefu.reports.models import conversation_facts, histograms, rollups
from kefu.reports.refresh import do_refresh_reports, do_roll_up_stale_months, rebuild, take_lock
from kefu.reports.service import run_report
from kefu.reports.types import ReportKey, ReportTable
from tests.conftest import Database
from tests.reports.helpers import Builder, at, filters

MON = date(2026, 3, 2)
WEEK = filters(MON, MON + timedelta(days=6))


def by_first(table: ReportTable) -> dict[object, tuple[object, ...]]:
    return {row[0]: row[1:] for row in table.rows}


async def snapshot(session: AsyncSession) -> list[tuple[object, ...]]:
    """Every rollup and histogram row, without surrogate ids, sorted."""
    rows: list[tuple[object, ...]] = []
    for table in (rollups, histograms):
        columns = [c for c in table.c if c.name != "id"]
        found = await session.execute(select(*columns))
        rows += sorted((tuple(str(v) for v in row) for row in found), key=str)
    return rows


def test_the_refresh_is_registered_every_minute() -> None:
    handlers, periodic = load_job_modules()
    assert handlers[jobs.REPORTS_REFRESH] is jobs.refresh
    assert handlers[jobs.REPORTS_MONTHS] is jobs.months
    assert [(t.name, t.every) for t in periodic if t.name.startswith("reports.")] == [
        ("reports.refresh", timedelta(seconds=60)),
        ("reports.months", timedelta(minutes=10)),
    ]


async def test_late_solve_is_picked_up_without_double_counting(db: Database, session: AsyncSession) -> None:
    b = Builder(session)
    conversation_id = (await b.conversation(at(0, 9))).id
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(0, 9, 1)) == 1
    table = by_first(await run_report(session, ReportKey.RESPONSE_TIMES, WEEK))
    assert table["Resolution"][0] == 0
    volume = await run_report(session, ReportKey.VOLUME, WEEK)
    assert sum(row[-1] for row in volume.rows) == 1  # type: ignore[misc]

    # Solved the next day (the real action appends an event message: last_activity_at moves).
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(status=Status.SOLVED, solved_at=at(1, 9), last_activity_at=at(1, 9))
    )
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(1, 9, 1)) == 1
    async with transaction(db.sessionmaker) as tx:
        # Within the overlap the same row is read again: harmless.
        assert await do_refresh_reports(tx, at(1, 9, 2)) == 1
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(1, 12)) == 1  # the watermark was 5 minutes behind
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(1, 13)) == 0
    session.expire_all()
    table = by_first(await run_report(session, ReportKey.RESPONSE_TIMES, WEEK))
    assert table["Resolution"][0] == 1
    assert table["Resolution"][3] == 24 * 3600
    volume = await run_report(session, ReportKey.VOLUME, WEEK)
    assert sum(row[-1] for row in volume.rows) == 1  # type: ignore[misc]

    # Reopened: no longer resolved (solved_at stays until the next solve).
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(status=Status.OPEN, last_activity_at=at(2, 9))
    )
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(2, 9, 1)) == 1
    table = by_first(await run_report(session, ReportKey.RESPONSE_TIMES, WEEK))
    assert table["Resolution"] == (0, None, None, None)


async def test_a_rating_given_later_is_picked_up(db: Database, session: AsyncSession) -> None:
    b = Builder(session)
    conversation = await b.conversation(at(0, 9), solved=at(0, 10))
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        await do_refresh_reports(tx, at(0, 11))
    assert b.contact_id is not None
    session.add(
        SatisfactionRating(
            conversation_id=conversation.id,
            contact_id=b.contact_id,
            channel="email",
            score=4,
            created_at=at(2, 9),
            updated_at=at(2, 9),
        )
    )
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(2, 9, 1)) == 1
    table = by_first(await run_report(session, ReportKey.CSAT, WEEK))
    assert table["All teams"] == (1, 4.0, 1.0)


async def test_refresh_catches_up_in_batches(db: Database, session: AsyncSession) -> None:
    b = Builder(session)
    for minute in range(7):
        await b.conversation(at(0, 9, minute))
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(0, 10), batch=3, budget=0) == 3
    async with transaction(db.sessionmaker) as tx:
        assert await do_refresh_reports(tx, at(0, 10), batch=3) >= 4
    count = await session.scalar(select(func.count()).select_from(conversation_facts))
    assert count == 7
    volume = await run_report(session, ReportKey.VOLUME, WEEK)
    assert sum(row[-1] for row in volume.rows) == 7  # type: ignore[misc]


async def test_a_second_refresh_waits_for_the_lock(db: Database) -> None:
    if db.backend != "postgres":
        return  # SQLite serialises writers itself
    async with transaction(db.sessionmaker) as first:
        assert await take_lock(first, wait=False)
    async with transaction(db.sessionmaker) as first, transaction(db.sessionmaker) as second:
        assert await take_lock(first, wait=False)
        assert await do_refresh_reports(second, at(0, 10)) == 0


async def test_rebuild_is_idempotent_and_matches_the_refresh(db: Database, session: AsyncSession) -> None:
    b = Builder(session)
    for day in range(3):
        await b.conversation(at(day, 9), solved=at(day, 20), channel="chat")
        await b.conversation(at(day, 23, 59), category="kyc")
    await session.commit()
    async with transaction(db.sessionmaker) as tx:
        await do_refresh_reports(tx, at(5, 0))
    march = filters(date(2026, 3, 1), date(2026, 3, 31))
    while_stale = await run_report(session, ReportKey.RESPONSE_TIMES, march)
    async with transaction(db.sessionmaker) as tx:
        assert await do_roll_up_stale_months(tx) == 1
    async with transaction(db.sessionmaker) as tx:
        assert await do_roll_up_stale_months(tx) == 0
    # A whole month is read from its month row once current, from its days before: same figures.
    assert await run_report(session, ReportKey.RESPONSE_TIMES, march) == while_stale
    assert while_stale.rows[2][1] == 3
    refreshed = await snapshot(session)
    assert refreshed
    assert await rebuild(db.sessionmaker, at(0), batch=4) == 6
    assert await snapshot(session) == refreshed
    assert await rebuild(db.sessionmaker, at(0), at(1)) == 2
    assert await snapshot(session) == refreshed


async def test_a_deleted_conversation_leaves_the_reports(db: Database, session: AsyncSession) -> None:
    b = Builder(session)
    gone = await b.conversation(at(0, 9))
    await b.conversation(at(0, 10))
    await b.roll_up()
    await session.delete(await session.get(Conversation, gone.id))
    await session.commit()
    await b.roll_up()
    volume = await run_report(session, ReportKey.VOLUME, WEEK)
    assert sum(row[-1] for row in volume.rows) == 1  # type: ignore[misc]


def test_cli_rebuild_checks_its_dates(tmp_path: Path) -> None:
    kefu = str(Path(sys.executable).parent / "kefu")
    env = {"KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "x" * 40, "PATH": "/usr/bin:/bin"}
    bad = subprocess.run(
        [kefu, "reports", "rebuild", "--since", "soon"], env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "--since" in bad.stderr
    backwards = [kefu, "reports", "rebuild", "--since", "2026-03-02", "--until", "2026-03-01"]
    result = subprocess.run(backwards, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    subprocess.run([kefu, "migrate"], env=env, capture_output=True, text=True, check=True)
    result = subprocess.run(
        [kefu, "reports", "rebuild", "--since", "2026-01-01"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "0 conversations" in result.stderr
