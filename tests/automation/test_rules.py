"""Pure evaluation of trigger conditions and parsing of stored rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from kefu.automation.rules import Snapshot, matches_all, parse_actions, parse_conditions, tags_after

TEAM = uuid.uuid4()


def snap(**overrides: Any) -> Snapshot:
    values: dict[str, Any] = {
        "category": "withdrawal",
        "priority": "normal",
        "status": "new",
        "channel": "email",
        "team_id": TEAM,
        "locale": "zh-CN",
        "tags": frozenset({"vip"}),
        "subject": "Withdrawal STUCK 提现未到账",
        "form_fields": {"asset": "USDT", "network": "TRC20"},
        "first_message": "我的USDT提现三小时了还没到账",
        "message": "Ｕｒｇｅｎｔ please",
        "changed": frozenset({"priority"}),
    }
    values.update(overrides)
    return Snapshot(**values)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"type": "category", "value": "withdrawal"}, True),
        ({"type": "category", "value": "withdrawal", "negate": True}, False),
        ({"type": "category", "value": "kyc"}, False),
        ({"type": "priority", "value": "normal"}, True),
        ({"type": "status", "value": "open"}, False),
        ({"type": "channel", "value": "email"}, True),
        ({"type": "team", "value": str(TEAM)}, True),
        ({"type": "team", "value": None}, False),
        ({"type": "locale", "value": "zh-CN"}, True),
        ({"type": "tag", "value": "VIP"}, True),
        ({"type": "tag", "value": "vip", "negate": True}, False),
        ({"type": "tag", "value": "phishing-report"}, False),
        ({"type": "subject_contains", "value": "stuck"}, True),
        ({"type": "subject_contains", "value": "提现"}, True),
        ({"type": "subject_contains", "value": "充值"}, False),
        ({"type": "first_message_contains", "value": "没到账"}, True),
        ({"type": "first_message_contains", "value": "usdt"}, True),
        ({"type": "text_contains", "value": "STUCK"}, True),
        ({"type": "text_contains", "value": "三小时"}, True),
        ({"type": "message_contains", "value": "URGENT"}, True),  # fullwidth text matches too
        ({"type": "form_field", "field": "network"}, True),
        ({"type": "form_field", "field": "tx_hash"}, False),
        ({"type": "form_field", "field": "asset", "equals": "usdt"}, True),
        ({"type": "form_field", "field": "asset", "equals": "BTC"}, False),
        ({"type": "changed", "field": "priority"}, True),
        ({"type": "changed", "field": "team"}, False),
    ],
)
def test_each_condition(condition: dict[str, Any], expected: bool) -> None:
    assert matches_all(parse_conditions([condition]), snap()) is expected


def test_all_conditions_must_hold_and_none_always_matches() -> None:
    both = parse_conditions([{"type": "category", "value": "withdrawal"}, {"type": "tag", "value": "vip"}])
    assert matches_all(both, snap())
    assert not matches_all(both, snap(tags=frozenset()))
    assert matches_all([], snap())


@pytest.mark.parametrize(
    "raw",
    [
        [{"type": "nope", "value": 1}],
        [{"type": "category", "value": "lunch"}],
        [{"type": "category"}],
        [{"type": "category", "value": "kyc", "extra": 1}],
        [{"type": "subject_contains", "value": ""}],
        [{"type": "subject_contains", "value": "x" * 201}],
        [{"type": "form_field", "field": "../etc"}],
        [{"type": "changed", "field": "subject"}],
        [{"type": "team", "value": "not-a-uuid"}],
        ["category"],
    ],
)
def test_bad_conditions_are_refused(raw: list[Any]) -> None:
    with pytest.raises(ValidationError):
        parse_conditions(raw)


@pytest.mark.parametrize(
    "raw",
    [
        [{"type": "set_priority", "value": "critical"}],
        [{"type": "add_tags", "tags": []}],
        [{"type": "add_tags", "tags": ["bad tag!"]}],
        [{"type": "add_note", "body": "   "}],
        [{"type": "set_team"}],
        [{"type": "delete_everything"}],
    ],
)
def test_bad_actions_are_refused(raw: list[Any]) -> None:
    with pytest.raises(ValidationError):
        parse_actions(raw)


def test_tags_after_adds_and_removes() -> None:
    actions = parse_actions(
        [{"type": "add_tags", "tags": ["A", "b"]}, {"type": "remove_tags", "tags": ["vip"]}]
    )
    assert tags_after(["vip"], actions) == ["a", "b"]
    assert tags_after(["a"], parse_actions([{"type": "add_tags", "tags": ["a"]}])) is None
