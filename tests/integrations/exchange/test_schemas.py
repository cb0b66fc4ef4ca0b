"""Schemas: exact money, tz-aware times, masking, tolerance for added fields."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from kefu.integrations.exchange.schemas import Account, Order, OrderStatus, mask_email, mask_phone

ORDER: dict[str, Any] = {
    "order_id": "8800000001", "uid": "10000001", "pair": "BTC/USDT", "side": "buy", "type": "limit",
    "price": "64250.50", "amount": "0.015", "filled": "0", "status": "open",
    "created_at": "2025-06-02T09:00:00Z", "updated_at": "2025-06-02T09:00:01+08:00",
}  # fmt: skip


def test_money_round_trips_as_fixed_point_strings() -> None:
    order = Order.model_validate(ORDER | {"amount": "1E-5", "filled": 0})
    assert order.amount == Decimal("0.00001")
    dumped = order.model_dump(mode="json")
    assert (dumped["amount"], dumped["filled"], dumped["price"]) == ("0.00001", "0", "64250.50")
    assert Order.model_validate_json(order.model_dump_json()) == order


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 0.1), ("amount", True), ("amount", "NaN"), ("amount", "Infinity"), ("amount", "-1"),
     ("price", "1,000"), ("filled", ""), ("amount", "1E+999999999"), ("amount", "0." + "1" * 19)],
)  # fmt: skip
def test_inexact_or_invalid_money_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Order.model_validate(ORDER | {field: value})


def test_json_float_money_is_refused() -> None:
    text = Order.model_validate(ORDER).model_dump_json().replace('"0.015"', "0.015")
    with pytest.raises(ValidationError):
        Order.model_validate_json(text)


@pytest.mark.parametrize("created_at", ["2025-06-02T09:00:00", "yesterday", "", 1748856600.5])
def test_naive_or_garbage_times_are_refused(created_at: object) -> None:
    with pytest.raises(ValidationError):
        Order.model_validate(ORDER | {"created_at": created_at})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("uid", "../1"),
        ("uid", ""),
        ("order_id", "a/b"),
        ("pair", "BTCUSDT"),
        ("side", "long"),
        ("status", "x"),
    ],
)
def test_hostile_identifiers_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Order.model_validate(ORDER | {field: value})


def test_unknown_fields_are_ignored_and_models_are_frozen() -> None:
    order = Order.model_validate(ORDER | {"venue": "spot", "price": None})
    assert order.price is None
    with pytest.raises(ValidationError):
        order.status = OrderStatus.FILLED  # type: ignore[misc]


def test_account_serialises_masked_identifiers() -> None:
    account = Account(uid="1", email="alice@example.com", phone="+447700900123", status="active",
                      kyc_level=2, created_at=datetime(2024, 1, 1, tzinfo=UTC))  # fmt: skip
    dumped = account.model_dump(mode="json")
    assert dumped["email_masked"] == "a***e@example.com"
    assert dumped["phone_masked"] == "+44********23"
    assert Account.model_validate(dumped) == account


@pytest.mark.parametrize(
    ("email", "masked"),
    [("alice@example.com", "a***e@example.com"), ("al@example.com", "a***@example.com"),
     ("a@example.com", "a***@example.com"), ("no-at-sign", "***"), ("@example.com", "***@example.com")],
)  # fmt: skip
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+86 138 0013 8000", "+86*********00"), ("12345", "***"), ("", "***"), ("++--", "***")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
