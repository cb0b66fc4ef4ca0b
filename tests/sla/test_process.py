"""The SLA processor end to end: deadlines follow business hours, pauses, replies and re-picks."""

from __future__ import annotations

from datetime import timedelta

import httpx

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from kefu.sla.jobs import do_scan_sla
from tests.conftest import Database
from tests.factories import make_agent, make_customer, make_team, open_conversation
from tests.sla.helpers import add_policy, add_schedule, at, card, cst, patch, say


async def scan(db: Database, clock: FrozenClock) -> tuple[int, int]:
    async with transaction(db.sessionmaker) as session:
        return await do_scan_sla(session, clock.now())


async def test_a_conversation_through_its_life(
    api: httpx.AsyncClient, db: Database, runtime: Runtime, clock: FrozenClock
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    await add_schedule(api, boss)
    await add_policy(
        api, boss, position=10, first_response_minutes=60, next_response_minutes=30, resolution_minutes=480
    )

    # Monday 17:30 in Shanghai: half an hour left today.
    clock._at = cst(3, 3, 17, 30)
    conv = str((await open_conversation(api, customer))["id"])
    sla = await card(api, agent, conv)
    assert at(sla["first_response"]["due_at"]) == cst(3, 4, 9, 30)
    assert at(sla["resolution"]["due_at"]) == cst(3, 4, 16, 30)
    assert sla["next_response"]["state"] is None
    assert sla["next_due_target"] == "first_response"

    # Tuesday 09:00: the agent answers in time.
    clock._at = cst(3, 4, 9)
    await say(api, agent, conv)
    sla = await card(api, agent, conv)
    assert sla["first_response"]["state"] == "achieved"
    assert sla["first_response"]["breached"] is False
    assert sla["next_due_target"] == "resolution"

    # 10:00 the customer writes: next response due by 10:30; 10:20 a reply that waits on them.
    clock._at = cst(3, 4, 10)
    await say(api, customer, conv)
    sla = await card(api, agent, conv)
    assert at(sla["next_response"]["due_at"]) == cst(3, 4, 10, 30)
    clock._at = cst(3, 4, 10, 20)
    await say(api, agent, conv, status="pending")
    sla = await card(api, agent, conv)
    assert sla["next_response_met"] == 1
    assert sla["paused"] is True
    assert sla["next_due_at"] is None

    # Two business hours later the customer answers: resolution moves by the pause.
    clock._at = cst(3, 4, 12, 20)
    await say(api, customer, conv)
    sla = await card(api, agent, conv)
    assert sla["paused"] is False
    assert sla["paused_seconds"] == 7200
    assert at(sla["resolution"]["due_at"]) == cst(3, 5, 9, 30)
    assert at(sla["next_response"]["due_at"]) == cst(3, 4, 12, 50)

    # The scan warns 6 minutes (20% of 30) before, then records the breach once.
    clock._at = cst(3, 4, 12, 40)
    assert await scan(db, clock) == (0, 0)
    clock._at = cst(3, 4, 12, 45)
    assert await scan(db, clock) == (0, 1)
    assert await scan(db, clock) == (0, 0)
    clock._at = cst(3, 4, 12, 51)
    assert await scan(db, clock) == (1, 0)
    assert await scan(db, clock) == (0, 0)
    sla = await card(api, agent, conv)
    assert sla["overdue"] is True
    assert at(sla["breached_at"]) == cst(3, 4, 12, 50)
    clock._at = cst(3, 4, 13)
    await say(api, agent, conv)
    sla = await card(api, agent, conv)
    assert (sla["next_response_met"], sla["next_response_missed"]) == (1, 1)
    assert sla["overdue"] is False

    # An urgent policy is picked when the priority changes, counted from the start less the pause.
    await add_policy(api, boss, name="Urgent", position=0, priorities=["urgent"], resolution_minutes=60)
    await patch(api, agent, conv, priority="urgent")
    sla = await card(api, agent, conv)
    assert sla["resolution"]["target_minutes"] == 60
    assert at(sla["resolution"]["due_at"]) == cst(3, 4, 11, 30)
    assert sla["first_response"]["state"] == "achieved"  # the outcome stays
    assert await scan(db, clock) == (1, 0)

    # Solved late; a customer message reopens it and resolution runs again.
    clock._at = cst(3, 4, 14)
    await patch(api, agent, conv, status="solved")
    sla = await card(api, agent, conv)
    assert sla["resolution"]["state"] == "achieved"
    assert sla["resolution"]["breached"] is True
    assert sla["next_due_at"] is None
    clock._at = cst(3, 4, 15)
    await say(api, customer, conv)
    sla = await card(api, agent, conv)
    assert sla["resolution"]["state"] == "running"
    assert sla["resolution_at"] is None
    assert sla["next_response"]["state"] == "achieved"  # no new cycle: the urgent policy has no target


async def test_solved_without_a_reply_stops_the_first_response_clock(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    await add_policy(api, boss, first_response_minutes=30, resolution_minutes=120)
    conv = str((await open_conversation(api, boss))["id"])
    sla = await card(api, boss, conv)
    # No schedule at all: 24×7, so plain wall-clock deadlines.
    assert at(sla["first_response"]["due_at"]) == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=10))
    await patch(api, boss, conv, status="solved")
    sla = await card(api, boss, conv)
    assert sla["first_response"]["state"] == "stopped"
    assert sla["first_response"]["breached"] is False
    assert sla["resolution"]["state"] == "achieved"
    assert sla["resolution"]["breached"] is False


async def test_no_matching_policy_means_no_clocks(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    await add_policy(api, boss, categories=["kyc"], first_response_minutes=30)
    await add_policy(api, boss, name="Inactive", is_active=False, first_response_minutes=5)
    conv = str((await open_conversation(api, boss, category="trading"))["id"])
    sla = await card(api, boss, conv)
    assert sla["policy_id"] is None
    assert sla["first_response"]["state"] is None
    assert sla["next_due_at"] is None
    # Moving it to KYC picks the policy, counting from when the conversation opened.
    clock.advance(timedelta(minutes=10))
    await patch(api, boss, conv, category="kyc")
    sla = await card(api, boss, conv)
    assert sla["policy_id"] is not None
    assert at(sla["first_response"]["due_at"]) == clock.now() + timedelta(minutes=20)


async def test_team_change_uses_the_new_teams_hours(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    night = await make_team(db.sessionmaker, "Night shift")
    await add_schedule(api, boss)  # office hours by default
    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    await add_schedule(
        api,
        boss,
        name="24x7",
        timezone="UTC",
        weekly_hours=always,
        holiday_country=None,
        is_default=False,
        team_id=str(night),
    )
    await add_policy(api, boss, first_response_minutes=120)
    clock._at = cst(3, 8, 12)  # Saturday noon
    conv = str((await open_conversation(api, boss))["id"])
    assert at((await card(api, boss, conv))["first_response"]["due_at"]) == cst(3, 10, 11)
    await patch(api, boss, conv, team_id=str(night))
    assert at((await card(api, boss, conv))["first_response"]["due_at"]) == cst(3, 8, 14)


async def test_clocks_written_with_the_opening_follow_what_triggers_changed(
    api: httpx.AsyncClient, db: Database, runtime: Runtime, clock: FrozenClock
) -> None:
    """The opening statement writes the clocks predicted before triggers ran; a trigger that moves the
    conversation to another policy's category must still leave the clocks of that policy."""
    from sqlalchemy import select

    from kefu.sla.models import ConversationSla
    from tests.automation.test_triggers import add_trigger

    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    await add_policy(api, boss, categories=["withdrawal"], first_response_minutes=30)
    await add_trigger(
        db,
        on="created",
        conditions=[{"type": "text_contains", "value": "withdraw"}],
        actions=[{"type": "set_category", "value": "withdrawal"}],
    )
    moved = str((await open_conversation(api, customer, body="my withdraw is stuck"))["id"])
    stayed = str((await open_conversation(api, customer, body="my deposit is late"))["id"])

    moved_card = await card(api, boss, moved)
    assert moved_card["policy_id"] is not None
    assert at(moved_card["first_response"]["due_at"]) == clock.now() + timedelta(minutes=30)
    stayed_card = await card(api, boss, stayed)
    assert stayed_card["policy_id"] is None
    assert stayed_card["first_response"]["state"] is None
    async with db.sessionmaker() as session:
        rows = {str(r.conversation_id): r for r in await session.scalars(select(ConversationSla))}
    assert rows[moved].basis.split("|")[1] == "withdrawal"
    assert rows[stayed].basis.split("|")[1] != "withdrawal"
