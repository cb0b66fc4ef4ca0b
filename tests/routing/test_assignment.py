"""The pure chooser: fairness, capacity, presence and language rules, over generated teams."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.routing.assignment import Candidate, choose_assignee, speaks
from kefu.routing.models import LanguageMatch, Presence, RoutingMode

T0 = datetime(2025, 3, 1, tzinfo=UTC)
AUTO_MODES = st.sampled_from([RoutingMode.ROUND_ROBIN, RoutingMode.LEAST_LOADED])
LANGS = st.lists(st.sampled_from(["en", "zh", "zh-CN", "ja", "en-GB"]), max_size=3).map(tuple)


def _agent(**fields: object) -> Candidate:
    base: dict[str, object] = {
        "agent_id": uuid.uuid4(),
        "load": 0,
        "capacity": 10,
        "languages": ("en",),
        "last_assigned_at": None,
    }
    base.update(fields)
    return Candidate(**base)  # type: ignore[arg-type]


candidates = st.builds(
    Candidate,
    agent_id=st.uuids(),
    load=st.integers(0, 6),
    capacity=st.integers(0, 6),
    languages=LANGS,
    last_assigned_at=st.none() | st.integers(0, 1000).map(lambda s: T0 + timedelta(seconds=s)),
    status=st.sampled_from(list(Presence)),
)


@settings(max_examples=60, deadline=None)
@given(agents=st.integers(1, 6), conversations=st.integers(0, 60))
def test_round_robin_spreads_within_one(agents: int, conversations: int) -> None:
    team = [_agent(capacity=1000) for _ in range(agents)]
    counts = {c.agent_id: 0 for c in team}
    cursor = None
    for _ in range(conversations):
        chosen = choose_assignee(RoutingMode.ROUND_ROBIN, team, "en", cursor, LanguageMatch.PREFER)
        assert chosen is not None
        counts[chosen] += 1
        cursor = chosen
        team = [_agent(**{**c.__dict__, "load": counts[c.agent_id]}) for c in team]
    assert max(counts.values()) - min(counts.values()) <= 1


@settings(max_examples=150, deadline=None)
@given(team=st.lists(candidates, max_size=8, unique_by=lambda c: c.agent_id), mode=AUTO_MODES)
def test_work_goes_only_to_online_agents_below_capacity(team: list[Candidate], mode: RoutingMode) -> None:
    loads = {c.agent_id: c.load for c in team}
    cursor = None
    for _ in range(40):
        current = [_agent(**{**c.__dict__, "load": loads[c.agent_id]}) for c in team]
        chosen = choose_assignee(mode, current, "en", cursor, LanguageMatch.IGNORE)
        if chosen is None:
            # Nobody left: every online agent is full.
            assert all(c.load >= c.capacity for c in current if c.status == Presence.ONLINE)
            break
        picked = next(c for c in current if c.agent_id == chosen)
        assert picked.status == Presence.ONLINE
        assert picked.load < picked.capacity
        loads[chosen] += 1
        cursor = chosen
    for c in team:
        if c.status != Presence.ONLINE:
            assert loads[c.agent_id] == c.load  # away/offline agents never got work
        else:
            assert loads[c.agent_id] <= max(c.capacity, c.load)


@settings(max_examples=150, deadline=None)
@given(team=st.lists(candidates, min_size=1, max_size=8, unique_by=lambda c: c.agent_id))
def test_least_loaded_takes_the_lowest_ratio(team: list[Candidate]) -> None:
    chosen = choose_assignee(RoutingMode.LEAST_LOADED, team, "en", None, LanguageMatch.IGNORE)
    eligible = [c for c in team if c.status == Presence.ONLINE and c.load < c.capacity]
    if not eligible:
        assert chosen is None
        return
    picked = next(c for c in team if c.agent_id == chosen)
    assert all(picked.load * c.capacity <= c.load * picked.capacity for c in eligible)


@settings(max_examples=150, deadline=None)
@given(
    team=st.lists(candidates, max_size=8, unique_by=lambda c: c.agent_id),
    mode=AUTO_MODES,
    locale=st.sampled_from(["en", "zh-CN"]),
)
def test_language_rules(team: list[Candidate], mode: RoutingMode, locale: str) -> None:
    eligible = [c for c in team if c.status == Presence.ONLINE and c.load < c.capacity]
    speakers = {c.agent_id for c in eligible if speaks(c.languages, locale)}
    required = choose_assignee(mode, team, locale, None, LanguageMatch.REQUIRE)
    preferred = choose_assignee(mode, team, locale, None, LanguageMatch.PREFER)
    if speakers:
        assert required in speakers
        assert preferred in speakers
    else:
        assert required is None
        assert (preferred is None) == (not eligible)


def test_least_loaded_ties_go_to_the_least_recently_assigned() -> None:
    busy_lately = _agent(load=2, capacity=4, last_assigned_at=T0 + timedelta(minutes=5))
    idle_longer = _agent(load=1, capacity=2, last_assigned_at=T0)
    never = _agent(load=4, capacity=8, last_assigned_at=None)
    assert (
        choose_assignee(RoutingMode.LEAST_LOADED, [busy_lately, idle_longer], "en", None)
        == idle_longer.agent_id
    )
    assert (
        choose_assignee(RoutingMode.LEAST_LOADED, [busy_lately, idle_longer, never], "en", None)
        == never.agent_id
    )


def test_round_robin_wraps_after_the_cursor_and_skips_full_agents() -> None:
    a, b, c = sorted((_agent() for _ in range(3)), key=lambda x: x.agent_id)
    full_b = _agent(**{**b.__dict__, "load": 10})
    assert choose_assignee(RoutingMode.ROUND_ROBIN, [c, b, a], "en", a.agent_id) == b.agent_id
    assert choose_assignee(RoutingMode.ROUND_ROBIN, [c, full_b, a], "en", a.agent_id) == c.agent_id
    assert choose_assignee(RoutingMode.ROUND_ROBIN, [c, b, a], "en", c.agent_id) == a.agent_id
    # A cursor that left the team still yields the next one in order.
    assert choose_assignee(RoutingMode.ROUND_ROBIN, [a, c], "en", b.agent_id) == c.agent_id


def test_manual_mode_assigns_nobody() -> None:
    assert choose_assignee(RoutingMode.MANUAL, [_agent()], "en", None) is None


def test_language_prefix_matching() -> None:
    assert speaks(["zh"], "zh-CN")
    assert speaks(["zh-CN"], "zh-CN")
    assert speaks(["ZH-cn"], "zh")
    assert speaks(["en-GB"], "en")
    assert not speaks(["en"], "zh-CN")
    assert not speaks([], "en")
    assert not speaks(["en"], "")
    chinese = _agent(languages=("zh",), load=5)
    english = _agent(languages=("en",))
    both = [english, chinese]
    assert (
        choose_assignee(RoutingMode.LEAST_LOADED, both, "zh-CN", None, LanguageMatch.PREFER)
        == chinese.agent_id
    )
    assert (
        choose_assignee(RoutingMode.LEAST_LOADED, both, "zh-CN", None, LanguageMatch.IGNORE)
        == english.agent_id
    )
    assert choose_assignee(RoutingMode.LEAST_LOADED, [english], "zh-CN", None, LanguageMatch.REQUIRE) is None
    assert (
        choose_assignee(RoutingMode.LEAST_LOADED, [english], "zh-CN", None, LanguageMatch.PREFER)
        == english.agent_id
    )
