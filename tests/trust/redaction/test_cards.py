"""Card numbers: Luhn and issuer checked, grouped like a card, and never an order id, UID or txid."""

from __future__ import annotations

import pytest

from kefu.trust.redaction import SecretKind, placeholder, redact
from tests.trust.redaction import secrets_gen as g

CARD = placeholder(SecretKind.CARD_NUMBER)


@pytest.mark.parametrize(
    ("prefix", "length"),
    [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("2221", 16), ("37", 15), ("62", 16), ("62", 19),
     ("6011", 16), ("65", 16), ("3530", 16), ("36", 14), ("2200", 16), ("6759", 18)],
)  # fmt: skip
def test_issuers(prefix: str, length: int) -> None:
    number = g.card(1, prefix, length)
    assert redact(f"my card {number} was charged").text == f"my card {CARD} was charged"
    assert redact(f"{number}").changed


@pytest.mark.parametrize("sep", [" ", "-"])
def test_grouped_numbers_are_certain(sep: str) -> None:
    number = g.grouped(g.card(2), sep)
    (finding,) = redact(f"charged on {number} yesterday").findings
    assert finding.certain
    amex = g.card(3, "37", 15)
    assert redact(f"{amex[:4]} {amex[4:10]} {amex[10:]}").text == CARD


def test_fullwidth_digits() -> None:
    number = g.card(4).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert redact(f"卡号：{number}").text == f"卡号：{CARD}"


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # Luhn fails
        "9111111111111116",  # no issuer starts with 9
        "41111111111111111",  # Visa is 13, 16 or 19 long, not 17
        "4111 1111 1111 11 11",  # grouped unlike a card
        "4111-1111 1111-1111",  # mixed separators
        "4111111111111111.00 USDT",  # an amount
        "412345678901234567890",  # part of a longer number
        "Timestamp 1700000000000",
        "+86 138 0013 8000",
        "Trade 1234567890123456789",
    ],
)
def test_not_cards(text: str) -> None:
    assert not redact(text).changed


@pytest.mark.parametrize(
    "label",
    ["Order ID", "order no.", "订单号", "訂單", "UID", "我的UID：", "user id", "tx", "TXID", "交易编号",
     "ref", "invoice", "工单", "身份证号", "phone", "memo", "account"],
)  # fmt: skip
def test_labelled_ids_are_not_cards(label: str) -> None:
    number = g.card(5, "4", 16)  # Luhn-valid Visa shape on purpose
    assert not redact(f"{label} {number} still pending").changed


def test_the_nearer_label_decides() -> None:
    number = g.card(6, "62", 19)
    assert redact(f"order 12 paid with card {number}").text == f"order 12 paid with card {CARD}"
    assert not redact(f"card payment for order {number}").changed
    # Unlabelled numbers that pass Luhn and the issuer check are likely cards; a card cue makes them
    # certain, unless it is in another sentence further back.
    assert redact(f"My card: {number}").findings[0].certain
    assert not redact(f"{number}").findings[0].certain
    assert (
        not redact(f"My card works fine. Anyway here is something else entirely: {number}")
        .findings[0]
        .certain
    )
