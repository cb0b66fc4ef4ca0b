"""`KEFU_REPORTS_DATABASE_URL`: the dashboards read from the replica, never from the primary."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.migrate import upgrade_async
from kefu.db.uow import transaction
from kefu.reports.refresh import do_refresh_reports
from kefu.runtime import Runtime
from tests.factories import make_agent, make_team, open_conversation
from tests.web.console.conftest import sign_in
from tests.web.console.test_reports_pages import table_rows

QUERY = "start=2025-03-01&end=2025-03-01&tz=UTC"


async def test_the_dashboards_read_the_replica_when_one_is_set(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    team = await make_team(runtime.sessionmaker, "Wallet")
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=(team,))
    for _ in range(2):
        await open_conversation(client, boss, category="deposit", team_id=str(team))
    async with transaction(runtime.sessionmaker) as session:
        assert await do_refresh_reports(session, clock.now() + timedelta(minutes=5)) == 2
    await sign_in(client, "boss@example.com")

    primary = await client.get(f"/console/reports/volume-by-category?{QUERY}")
    assert primary.status_code == 200
    assert ["Deposit", "2", "100 %"] in table_rows(primary)

    # A replica that has not caught up (here: an empty copy of the schema) shows its own figures.
    replica_url = f"sqlite+aiosqlite:///{tmp_path / 'replica.db'}"
    await upgrade_async(replica_url)
    settings = runtime.settings
    runtime.settings = settings.model_copy(update={"reports_database_url": replica_url})
    try:
        replica = await client.get(f"/console/reports/volume-by-category?{QUERY}")
        assert replica.status_code == 200, replica.text
        assert ["Deposit", "2", "100 %"] not in table_rows(replica)
        assert runtime.reports_sessionmaker is not runtime.sessionmaker
    finally:
        runtime.settings = settings
        await runtime.close_reports_replica()
    assert runtime.reports_sessionmaker is runtime.sessionmaker
