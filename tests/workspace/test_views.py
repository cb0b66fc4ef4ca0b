"""Every view lists exactly its conversations, counts agree with lists, private teams stay hidden."""

from __future__ import annotations

import uuid

import pytest

from kefu.auth.actors import AgentActor
from kefu.conversations.states import Category, Priority, Status
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.workspace.counts import format_count, view_counts
from kefu.workspace.views import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    View,
    ViewFilters,
    ViewName,
    list_view,
)
from tests.workspace.conftest import SPECS, Spec, World

ALL_VIEWS = [
    View(n) for n in ViewName if n not in (ViewName.BY_CHANNEL, ViewName.BY_CATEGORY, ViewName.SAVED)
]
ALL_VIEWS += [View(ViewName.BY_CHANNEL, channel=c) for c in ChannelKind]
ALL_VIEWS += [View(ViewName.BY_CATEGORY, category=c) for c in Category]


def _visible(world: World, who: str, spec: Spec) -> bool:
    """The documented visibility rule, written independently of the SQL."""
    if who == "boss" or spec.team != "security":
        return True
    return who == "insider" or spec.assignee == who


def _expected(world: World, who: str, view: View) -> set[str]:
    """The documented meaning of each view, as a Python oracle over the fixture's specs."""
    my_teams = {"me": {"general"}, "colleague": {"general"}, "insider": {"security"}, "boss": set()}[who]

    def matches(spec: Spec) -> bool:
        name = view.name
        if name == ViewName.MINE:
            return spec.assignee == who and spec.status in ACTIVE_STATUSES
        if name == ViewName.UNASSIGNED:
            return spec.assignee is None and spec.status in ACTIVE_STATUSES
        if name == ViewName.MY_TEAMS:
            return spec.team in my_teams and spec.status in ACTIVE_STATUSES
        if name == ViewName.WAITING:
            return spec.status == Status.PENDING
        if name == ViewName.SAVED:
            return True  # no base restriction: saved filters decide
        if spec.status not in OPEN_STATUSES:
            return False
        if name == ViewName.SLA:
            return spec.sla in ("overdue", "soon")
        if name == ViewName.BY_CHANNEL:
            return spec.channel == view.channel
        if name == ViewName.BY_CATEGORY:
            return spec.category == view.category
        return True

    return {world.references[n] for n, s in SPECS.items() if _visible(world, who, s) and matches(s)}


async def _all_pages(world: World, actor: AgentActor, view: View, limit: int = 100) -> list[str]:
    found: list[str] = []
    cursor = None
    async with world.db.sessionmaker() as session:
        while True:
            page = await list_view(session, actor, view, cursor=cursor, limit=limit, now=world.now)
            found += [row.reference for row in page.rows]
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor


@pytest.mark.parametrize("who", ["me", "insider", "boss"])
async def test_the_saved_base_view_lists_everything_visible(world: World, who: str) -> None:
    listed = await _all_pages(world, world.staff[who].actor, View(ViewName.SAVED))
    assert set(listed) == _expected(world, who, View(ViewName.SAVED))


@pytest.mark.parametrize("who", ["me", "insider", "boss"])
async def test_each_view_lists_exactly_its_conversations_and_counts_agree(world: World, who: str) -> None:
    actor = world.staff[who].actor
    async with world.db.sessionmaker() as session:
        counts = await view_counts(session, actor, now=world.now)
    for view in ALL_VIEWS:
        listed = await _all_pages(world, actor, view)
        assert len(listed) == len(set(listed))
        assert set(listed) == _expected(world, who, view), view
        assert counts.of(view) == len(listed), view


async def test_outsider_never_sees_or_counts_private_team_conversations(world: World) -> None:
    me = world.staff["me"].actor
    secret = {world.references["secret"], world.references["secret_new"]}
    async with world.db.sessionmaker() as session:
        counts = await view_counts(session, me, now=world.now)
    for view in ALL_VIEWS:
        assert not secret & set(await _all_pages(world, me, view))
    # The private team's overdue conversation is not counted in "sla"; the one assigned to me is mine.
    assert counts.views[ViewName.SLA] == 2
    assert world.references["secret_mine"] in await _all_pages(world, me, View(ViewName.MINE))


async def test_rows_carry_joined_names_and_sla_state(world: World) -> None:
    me = world.staff["me"].actor
    async with world.db.sessionmaker() as session:
        page = await list_view(session, me, ViewName.SLA, now=world.now)
    rows = {row.reference: row for row in page.rows}
    mine = rows[world.references["mine_open"]]
    assert mine.assignee_name == "me"
    assert mine.team_name == "General"
    assert mine.customer_name == "Alice"
    assert mine.sla_breached is True
    assert mine.sla_next_due_at is not None
    soon = rows[world.references["new_unassigned"]]
    assert (soon.assignee_name, soon.team_name, soon.sla_breached) == (None, None, False)
    # A contact without a name is shown by their first handle.
    async with world.db.sessionmaker() as session:
        waiting = await list_view(session, me, ViewName.WAITING, now=world.now)
    bobs = [r for r in waiting.rows if r.reference == world.references["team_pending_unassigned"]]
    assert bobs[0].customer_name == "bob@example.com"


async def test_pages_follow_activity_order_without_gaps(world: World) -> None:
    boss = world.staff["boss"].actor
    one_by_one = await _all_pages(world, boss, View(ViewName.ALL_OPEN), limit=1)
    at_once = await _all_pages(world, boss, View(ViewName.ALL_OPEN))
    assert one_by_one == at_once
    # The fixture spaces conversations one minute apart in declaration order.
    assert at_once == [world.references[n] for n in SPECS if world.references[n] in set(at_once)]


async def test_filters_narrow_a_view(world: World) -> None:
    me = world.staff["me"].actor
    cases: list[tuple[ViewFilters, set[str]]] = [
        (ViewFilters(assignee="me"), {"mine_open", "mine_pending", "mine_hold", "secret_mine"}),
        (ViewFilters(assignee="none"), {"new_unassigned", "team_pending_unassigned", "trading"}),
        (ViewFilters(assignee=world.staff["colleague"].id), {"team_hold"}),
        (ViewFilters(priority=Priority.HIGH), {"mine_open"}),
        (ViewFilters(tag="VIP"), {"mine_open"}),
        (ViewFilters(channel=ChannelKind.WEB, category=Category.TRADING), {"trading"}),
        (ViewFilters(statuses=(Status.PENDING,)), {"mine_pending", "team_pending_unassigned"}),
        (ViewFilters(text="ESCALATED"), {"secret_mine"}),
        (ViewFilters(text="100%_"), set()),
        (ViewFilters(sla_attention=True), {"mine_open", "new_unassigned"}),
    ]
    async with world.db.sessionmaker() as session:
        for filters, names in cases:
            page = await list_view(session, me, ViewName.ALL_OPEN, filters=filters, now=world.now)
            assert {world.name_of(r.reference) for r in page.rows} == names, filters


@pytest.mark.parametrize("cursor", ["", "nope", "%%%", "a" * 5000, "W10", "WyJ4IiwgInkiXQ"])
async def test_bad_cursor_or_limit_is_invalid_input(world: World, cursor: str) -> None:
    me = world.staff["me"].actor
    async with world.db.sessionmaker() as session:
        if cursor:
            with pytest.raises(InvalidInput):
                await list_view(session, me, ViewName.ALL_OPEN, cursor=cursor)
        for limit in (0, -1, 101):
            with pytest.raises(InvalidInput):
                await list_view(session, me, ViewName.ALL_OPEN, limit=limit)
        with pytest.raises(InvalidInput):
            await list_view(
                session, me, ViewName.ALL_OPEN, filters=ViewFilters(text="x" * 10_000), now=world.now
            )


def test_parameterised_views_need_their_parameter() -> None:
    with pytest.raises(InvalidInput):
        View(ViewName.BY_CHANNEL)
    with pytest.raises(InvalidInput):
        View(ViewName.MINE, category=Category.KYC)
    assert View(ViewName.BY_CATEGORY, category=Category.KYC).category == Category.KYC


def test_format_count_caps_the_label() -> None:
    assert [format_count(n) for n in (0, 999, 1000)] == ["0", "999", "999+"]


async def test_agent_in_no_team_has_empty_my_teams(world: World) -> None:
    loner = AgentActor(agent_id=uuid.uuid4(), role=world.staff["me"].actor.role)
    async with world.db.sessionmaker() as session:
        assert (await list_view(session, loner, ViewName.MY_TEAMS)).rows == []
        assert (await view_counts(session, loner)).views[ViewName.MY_TEAMS] == 0
