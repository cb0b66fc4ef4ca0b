"""Deflection events and the counting rule, with time that only moves when the test says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kefu.core.clock import FrozenClock, set_clock, utcnow
from kefu.core.errors import Conflict, InvalidInput
from kefu.db.uow import transaction
from kefu.kb.demo import load_demo_kb
from kefu.request_forms.actions import MAX_EVENTS_PER_SESSION, do_record_deflection_event
from kefu.request_forms.deflection import DEFLECTION_WINDOW, count_deflections
from kefu.request_forms.models import DeflectionEvent, DeflectionKind
from kefu.request_forms.schemas import DeflectionIn
from tests.conftest import Database

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LOCKED = "account-locked"
DEPOSIT = "deposit-not-credited"


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@pytest.fixture
async def kb(db: Database) -> Database:
    """The demo articles, published in both languages."""
    async with transaction(db.sessionmaker) as session:
        await load_demo_kb(session)
    return db


def session_id(name: str) -> str:
    return f"hc-{name:0>32}"


async def record(
    db: Database, session: str, kind: str, article: str | None = None, locale: str = "en"
) -> bool:
    event = DeflectionIn(
        session=session_id(session), kind=DeflectionKind(kind), locale=locale, article=article
    )
    async with transaction(db.sessionmaker) as s:
        return await do_record_deflection_event(s, event)


async def stored(db: Database) -> int:
    async with db.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(DeflectionEvent)) or 0)


async def test_the_counting_rule(kb: Database, clock: FrozenClock) -> None:
    # F: a month ago, outside the report.
    await record(kb, "f", "suggested", LOCKED)
    await record(kb, "f", "opened", LOCKED)
    clock.advance(timedelta(days=31))
    opened_at = utcnow()
    # A: opened an article and never sent a request: a deflection once 30 minutes have passed.
    assert await record(kb, "a", "suggested", LOCKED)
    assert await record(kb, "a", "suggested", DEPOSIT)
    assert await record(kb, "a", "opened", LOCKED)
    # B: opened one, then sent the request 10 minutes later: not a deflection.
    await record(kb, "b", "suggested", LOCKED)
    await record(kb, "b", "opened", LOCKED)
    # E: opened one and came back to send the request after 45 minutes: still a deflection.
    await record(kb, "e", "suggested", LOCKED)
    await record(kb, "e", "opened", LOCKED)
    # D: saw suggestions, opened none, sent the request.
    await record(kb, "d", "suggested", LOCKED)
    clock.advance(timedelta(minutes=10))
    await record(kb, "b", "submitted")
    await record(kb, "d", "submitted")
    clock.advance(timedelta(minutes=35))
    await record(kb, "e", "submitted")
    # C: opened an article 5 minutes before the report: pending.
    clock.advance(timedelta(minutes=1))
    await record(kb, "c", "suggested", DEPOSIT)
    await record(kb, "c", "opened", DEPOSIT)
    clock.advance(timedelta(minutes=5))

    async with kb.sessionmaker() as s:
        report = await count_deflections(s, now=utcnow())
        assert utcnow() - opened_at > DEFLECTION_WINDOW
    assert (
        report.sessions_with_suggestions,
        report.sessions_with_opened_article,
        report.submitted_after_opening,
        report.deflections,
        report.pending,
    ) == (5, 4, 1, 2, 1)
    rows = {(a.slug, a.locale): (a.suggested, a.opened, a.deflections) for a in report.articles}
    assert rows == {(LOCKED, "en"): (4, 3, 2), (DEPOSIT, "en"): (2, 1, 0)}
    assert [a.slug for a in report.articles] == [LOCKED, DEPOSIT]  # most deflections first
    assert report.articles[0].title

    # Half an hour later C has become a deflection too.
    clock.advance(timedelta(minutes=30))
    async with kb.sessionmaker() as s:
        later = await count_deflections(s, now=utcnow())
    assert (later.deflections, later.pending) == (3, 0)
    # A 1-day report only sees the sessions whose first opened article falls in that day.
    async with kb.sessionmaker() as s:
        day = await count_deflections(s, now=utcnow() + timedelta(days=1), days=1)
    assert day.sessions_with_opened_article == 0


async def test_repeats_unknown_articles_and_floods_are_ignored(kb: Database, clock: FrozenClock) -> None:
    assert await record(kb, "x", "suggested", LOCKED)
    assert not await record(kb, "x", "suggested", LOCKED)  # a reader typing on
    assert not await record(kb, "x", "suggested", "no-such-article")
    assert await record(kb, "x", "suggested", LOCKED, locale="zh-CN")  # the Chinese article is another one
    assert not await record(kb, "y", "submitted")  # nothing was suggested in that session
    assert await stored(kb) == 2
    for n in range(MAX_EVENTS_PER_SESSION):
        await record(
            kb, "flood", "suggested", LOCKED if n % 2 else DEPOSIT, locale="en" if n < 2 else "zh-CN"
        )
        await record(kb, "flood", "submitted")
    async with kb.sessionmaker() as s:
        flood = await s.scalar(select(func.count()).where(DeflectionEvent.session_id == session_id("flood")))
    assert flood == MAX_EVENTS_PER_SESSION


async def test_junk_is_refused(kb: Database, clock: FrozenClock) -> None:
    with pytest.raises(Conflict):
        await record(kb, "z", "opened", LOCKED)  # never suggested here
    await record(kb, "z", "suggested", LOCKED)
    with pytest.raises(Conflict):
        await record(kb, "z", "opened", DEPOSIT)
    with pytest.raises(InvalidInput):
        await record(kb, "z", "suggested", LOCKED, locale="fr")
    assert await stored(kb) == 1


async def test_an_empty_period_reports_zeros(db: Database) -> None:
    async with db.sessionmaker() as s:
        report = await count_deflections(s, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert (report.days, report.deflections, report.articles) == (30, 0, [])
