"""The status machines and the component vocabulary (no database)."""

from __future__ import annotations

import pytest

from kefu.incidents.components import component_keys, component_name, parse_component
from kefu.incidents.states import IncidentKind, IncidentStatus, can_transition

INC = IncidentKind.INCIDENT
M = IncidentKind.MAINTENANCE
S = IncidentStatus


@pytest.mark.parametrize(
    ("kind", "current", "target", "allowed"),
    [
        (INC, S.INVESTIGATING, S.IDENTIFIED, True),
        (INC, S.IDENTIFIED, S.MONITORING, True),
        (INC, S.MONITORING, S.RESOLVED, True),
        (INC, S.INVESTIGATING, S.RESOLVED, True),
        (INC, S.MONITORING, S.IDENTIFIED, True),  # the fix did not hold
        (INC, S.INVESTIGATING, S.INVESTIGATING, True),  # a plain update
        (INC, S.IDENTIFIED, S.INVESTIGATING, False),
        (INC, S.RESOLVED, S.INVESTIGATING, False),
        (INC, S.RESOLVED, S.RESOLVED, False),
        (INC, S.INVESTIGATING, S.IN_PROGRESS, False),  # maintenance vocabulary
        (M, S.SCHEDULED, S.IN_PROGRESS, True),
        (M, S.IN_PROGRESS, S.COMPLETED, True),
        (M, S.SCHEDULED, S.COMPLETED, True),
        (M, S.IN_PROGRESS, S.SCHEDULED, False),
        (M, S.COMPLETED, S.IN_PROGRESS, False),
        (M, S.SCHEDULED, S.RESOLVED, False),
    ],
)
def test_transitions(
    kind: IncidentKind, current: IncidentStatus, target: IncidentStatus, allowed: bool
) -> None:
    assert can_transition(kind, current, target) is allowed


@pytest.mark.parametrize(
    "key", ["trading", "login", "deposits:TRC20", "withdrawals:ERC20", "deposits:BEP-20_x"]
)
def test_valid_components(key: str) -> None:
    assert parse_component(key).key == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "Trading",
        "deposits",
        "deposits:",
        "withdrawals:<b>",
        "payments:TRC20",
        "deposits:" + "A" * 33,
        "login:X",
    ],
)
def test_invalid_components(key: str) -> None:
    with pytest.raises(ValueError, match="component"):
        parse_component(key)


def test_component_keys_are_per_network_and_named_in_both_locales() -> None:
    keys = component_keys(["TRC20", "ERC20", "TRC20"])
    assert keys == [
        "trading",
        "login",
        "deposits:ERC20",
        "withdrawals:ERC20",
        "deposits:TRC20",
        "withdrawals:TRC20",
    ]
    assert component_name("deposits:TRC20", "en") == "Deposits (TRC20)"
    assert "TRC20" in component_name("deposits:TRC20", "zh-CN")
