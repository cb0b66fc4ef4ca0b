"""Reports listen to domain events: a new conversation reaches the dashboards within seconds."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx

from kefu.auth.roles import Role
from kefu.core.clock import utcnow
from kefu.reports.follow import follow_domain_events
from kefu.reports.service import run_report
from kefu.reports.types import ReportFilters, ReportKey
from kefu.runtime import Runtime
from tests.factories import make_agent, make_team, open_conversation


async def _deposits(runtime: Runtime) -> int:
    today = utcnow().date()
    window = ReportFilters(start=today - timedelta(days=1), end=today + timedelta(days=1))
    async with runtime.sessionmaker() as session:
        table = await run_report(session, ReportKey.VOLUME_BY_CATEGORY, window)
    return sum(int(row[1]) for row in table.rows if row[0] == "Deposit" and isinstance(row[1], int))


async def _eventually(runtime: Runtime, expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    found = await _deposits(runtime)
    while found != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        found = await _deposits(runtime)
    return found


async def test_conversation_events_bring_the_reports_up_to_date(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    team = await make_team(runtime.sessionmaker, "Wallet")
    agent = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=(team,))
    # Nobody listening: the figures wait for the minute job.
    await open_conversation(client, agent, category="deposit", team_id=str(team))
    await asyncio.sleep(0.5)
    assert await _deposits(runtime) == 0

    stop = asyncio.Event()
    follower = asyncio.create_task(
        follow_domain_events(runtime.bus, runtime.sessionmaker, stop, debounce=0.2)
    )
    try:
        await asyncio.sleep(0.2)  # subscribed
        await open_conversation(client, agent, category="deposit", team_id=str(team))
        # The event triggers the watermark refresh, which also picks up the one nobody heard.
        assert await _eventually(runtime, 2, seconds=15) == 2
        await open_conversation(client, agent, category="deposit", team_id=str(team))
        assert await _eventually(runtime, 3, seconds=15) == 3
    finally:
        stop.set()
        await asyncio.wait_for(follower, timeout=10)
    assert follower.done()
    assert follower.exception() is None
