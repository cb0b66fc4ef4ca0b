"""The port contract: DemoExchange and HttpExchange (over real HTTP) must pass every test here."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.demo_data import ALICE, BOB, CAROL, DAVE, ERIN, fake_hash
from kefu.integrations.exchange.errors import ExchangeRejected
from kefu.integrations.exchange.port import ExchangePort
from kefu.integrations.exchange.schemas import (
    AccountStatus,
    Deposit,
    DepositStatus,
    OrderStatus,
    Withdrawal,
    WithdrawalStatus,
)
from tests.integrations.exchange.conftest import RunningServer
from tests.integrations.exchange.server import ANCHOR

HOSTILE_REFERENCES = ["", "   ", "../10000001", "10000001/orders", "10000001?x=1", "1%2F2", "a b", "x" * 129,
                      "10000001\r\nX-Injected: 1", "ａｂｃ", "..", "."]  # fmt: skip


async def test_find_account_by_each_identifier(exchange: ExchangePort) -> None:
    by_uid = await exchange.find_account(uid=ALICE)
    assert by_uid is not None
    assert by_uid.email == "alice@example.com"
    assert by_uid.email_masked == "a***e@example.com"
    assert await exchange.find_account(email="  Alice@EXAMPLE.com ") == by_uid
    assert await exchange.find_account(phone="+1 (202) 555-0101") == by_uid
    assert await exchange.find_account(phone="001 202 555 0101") == by_uid
    dave = await exchange.find_account(phone="+61 491 570 156")
    assert dave is not None
    assert (dave.uid, dave.email, dave.email_masked) == (DAVE, None, None)


async def test_locked_and_frozen_accounts_say_why(exchange: ExchangePort) -> None:
    bob = await exchange.find_account(uid=BOB)
    carol = await exchange.find_account(uid=CAROL)
    assert bob is not None
    assert carol is not None
    assert (bob.status, bob.lock_reason) == (AccountStatus.LOCKED, "too_many_failed_logins")
    assert (carol.status, carol.lock_reason) == (AccountStatus.FROZEN, "compliance_review")
    assert carol.phone is None
    assert carol.phone_masked is None


async def test_find_account_unknown_or_malformed_is_none(exchange: ExchangePort) -> None:
    assert await exchange.find_account(uid="99999999") is None
    assert await exchange.find_account(email="nobody@example.com") is None
    assert await exchange.find_account(email="not-an-email") is None
    assert await exchange.find_account(email="alice@example.com\r\nBcc: x@example.com") is None
    assert await exchange.find_account(phone="call me maybe") is None
    for reference in HOSTILE_REFERENCES:
        if reference.strip():
            assert await exchange.find_account(uid=reference) is None, reference


@pytest.mark.parametrize("criteria", [{}, {"uid": ALICE, "email": "alice@example.com"}, {"uid": ""}])
async def test_find_account_needs_exactly_one_criterion(
    exchange: ExchangePort, criteria: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await exchange.find_account(**criteria)


async def test_recent_orders_newest_first_with_exact_amounts(exchange: ExchangePort) -> None:
    orders = await exchange.recent_orders(ALICE)
    assert [o.created_at for o in orders] == sorted((o.created_at for o in orders), reverse=True)
    assert {o.status for o in orders} >= {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.FAILED}
    failed = next(o for o in orders if o.status == OrderStatus.FAILED and o.pair == "BTC/USDT")
    assert failed.fail_reason == "insufficient_balance"
    assert failed.price is None  # a market order
    filled = next(o for o in orders if o.order_id == "8800000001")
    assert (filled.price, filled.amount, filled.filled) == (
        Decimal("64250.50"),
        Decimal("0.015"),
        Decimal("0.015"),
    )


async def test_recent_orders_limit_and_pair_filter(exchange: ExchangePort) -> None:
    assert len(await exchange.recent_orders(ALICE, limit=2)) == 2
    btc = await exchange.recent_orders(ALICE, pair="btc-usdt")
    assert btc
    assert {o.pair for o in btc} == {"BTC/USDT"}
    assert await exchange.recent_orders(ALICE, pair="DOGE/USDT") == []
    assert await exchange.recent_orders(ALICE, pair="BTC/USDT&uid=10000002") == []


async def test_recent_orders_unknown_or_malformed_uid_is_empty(exchange: ExchangePort) -> None:
    assert await exchange.recent_orders("99999999") == []
    assert await exchange.recent_orders(CAROL) == []
    for reference in HOSTILE_REFERENCES:
        assert await exchange.recent_orders(reference) == [], reference


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_limit_out_of_range_is_a_caller_bug(exchange: ExchangePort, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await exchange.recent_orders(ALICE, limit=limit)
    with pytest.raises(ValueError, match="limit"):
        await exchange.recent_deposits(ALICE, limit=limit)
    with pytest.raises(ValueError, match="limit"):
        await exchange.recent_withdrawals(ALICE, limit=limit)


async def test_get_order(exchange: ExchangePort) -> None:
    order = await exchange.get_order(" 8800000005 ")
    assert order is not None
    assert (order.uid, order.status, order.fail_reason) == (ALICE, OrderStatus.FAILED, "price_outside_band")
    assert await exchange.get_order("8800009999") is None
    for reference in HOSTILE_REFERENCES:
        assert await exchange.get_order(reference) is None, reference


async def test_deposits_show_confirmations_and_missing_memo(exchange: ExchangePort) -> None:
    alice = await exchange.recent_deposits(ALICE)
    pending = [d for d in alice if d.status == DepositStatus.PENDING]
    assert pending
    assert all(d.confirmations < d.required_confirmations for d in pending)
    dave = await exchange.recent_deposits(DAVE)
    held = next(d for d in dave if d.status == DepositStatus.ON_HOLD)
    assert (held.asset, held.memo, held.status_reason) == ("XRP", None, "memo_missing")
    xrp = next(n for n in await exchange.list_networks() if n.asset == "XRP")
    assert xrp.memo_required
    assert len(await exchange.recent_deposits(ALICE, limit=1)) == 1
    assert await exchange.recent_deposits("99999999") == []


async def test_withdrawals(exchange: ExchangePort) -> None:
    withdrawals = await exchange.recent_withdrawals(ALICE)
    review = next(w for w in withdrawals if w.status == WithdrawalStatus.PENDING_REVIEW)
    assert review.tx_hash is None
    assert review.fee == Decimal("0.0002")
    assert await exchange.recent_withdrawals("../" + ALICE) == []


async def test_find_transaction_either_kind(exchange: ExchangePort) -> None:
    deposit = await exchange.find_transaction(fake_hash("d9004"))
    assert isinstance(deposit, Deposit)
    assert deposit.uid == DAVE
    withdrawal = await exchange.find_transaction(fake_hash("w7001").upper())
    assert isinstance(withdrawal, Withdrawal)
    assert withdrawal.status == WithdrawalStatus.COMPLETED
    evm = await exchange.find_transaction(fake_hash("d9003", evm=True))
    assert evm is not None
    assert evm.asset == "ETH"
    assert await exchange.find_transaction(fake_hash("unknown")) is None
    for reference in HOSTILE_REFERENCES:
        assert await exchange.find_transaction(reference) is None, reference


async def test_pairs_and_networks(exchange: ExchangePort) -> None:
    pairs = {p.symbol: p for p in await exchange.list_pairs()}
    assert {"BTC/USDT", "ETH/USDT"} <= pairs.keys()
    assert pairs["BTC/USDT"].min_amount == Decimal("0.00001")
    networks = await exchange.list_networks()
    assert any(n.network == "TRC20" and n.asset == "USDT" for n in networks)
    assert any(not n.withdraw_enabled for n in networks)


async def test_unlock_locked_account_is_idempotent(exchange: ExchangePort) -> None:
    first = await exchange.unlock_account(
        BOB, reason="identity verified", actor="agent-7", idempotency_key="k-1"
    )
    assert (first.previous_status, first.status, first.changed) == (
        AccountStatus.LOCKED,
        AccountStatus.ACTIVE,
        True,
    )
    replay = await exchange.unlock_account(
        BOB, reason="identity verified", actor="agent-7", idempotency_key="k-1"
    )
    assert replay == first
    bob = await exchange.find_account(uid=BOB)
    assert bob is not None
    assert (bob.status, bob.lock_reason) == (AccountStatus.ACTIVE, None)
    again = await exchange.unlock_account(
        BOB, reason="identity verified", actor="agent-7", idempotency_key="k-2"
    )
    assert (again.changed, again.status) == (False, AccountStatus.ACTIVE)
    assert again.action_id != first.action_id


async def test_reused_idempotency_key_for_another_request_is_rejected(exchange: ExchangePort) -> None:
    await exchange.unlock_account(BOB, reason="verified", actor="agent-7", idempotency_key="k-1")
    with pytest.raises(ExchangeRejected) as caught:
        await exchange.freeze_account(BOB, reason="verified", actor="agent-7", idempotency_key="k-1")
    assert caught.value.exchange_code == "idempotency_key_reused"
    assert caught.value.http_status == 409


@pytest.mark.parametrize(
    ("uid", "code"), [(CAROL, "account_frozen"), (ERIN, "account_closed"), ("99999999", "account_not_found")]
)
async def test_unlock_refused(exchange: ExchangePort, uid: str, code: str) -> None:
    with pytest.raises(ExchangeRejected) as caught:
        await exchange.unlock_account(uid, reason="customer asked", actor="agent-7", idempotency_key="k-9")
    assert caught.value.exchange_code == code
    account = await exchange.find_account(uid=uid)
    assert account is None or account.status != AccountStatus.ACTIVE


async def test_freeze_then_unlock_is_refused(exchange: ExchangePort) -> None:
    result = await exchange.freeze_account(
        ALICE, reason="suspected takeover", actor="agent-7", idempotency_key="f-1"
    )
    assert (result.previous_status, result.status, result.changed) == (
        AccountStatus.ACTIVE,
        AccountStatus.FROZEN,
        True,
    )
    alice = await exchange.find_account(uid=ALICE)
    assert alice is not None
    assert (alice.status, alice.lock_reason) == (AccountStatus.FROZEN, "suspected takeover")
    with pytest.raises(ExchangeRejected, match="frozen"):
        await exchange.unlock_account(ALICE, reason="oops", actor="agent-7", idempotency_key="u-1")
    with pytest.raises(ExchangeRejected) as caught:
        await exchange.freeze_account(ERIN, reason="x", actor="agent-7", idempotency_key="f-2")
    assert caught.value.exchange_code == "account_closed"


@pytest.mark.parametrize(
    ("uid", "reason", "actor", "key"),
    [
        ("../" + BOB, "r", "a", "k-1"),
        (BOB, "r", "a", "k-1\r\nX-Evil: 1"),
        (BOB, "r", "a", ""),
        (BOB, "r", "a", "k" * 129),
        (BOB, "   ", "a", "k-1"),
        (BOB, "r", "\x00\n", "k-1"),
    ],
)
async def test_malformed_action_arguments_are_rejected(
    exchange: ExchangePort, uid: str, reason: str, actor: str, key: str
) -> None:
    with pytest.raises(ExchangeRejected) as caught:
        await exchange.unlock_account(uid, reason=reason, actor=actor, idempotency_key=key)
    assert caught.value.exchange_code == "invalid_request"
    bob = await exchange.find_account(uid=BOB)
    assert bob is not None
    assert bob.status == AccountStatus.LOCKED


async def test_http_answers_exactly_what_demo_answers(server: RunningServer) -> None:
    demo, http = DemoExchange(now=ANCHOR), server.client()
    try:
        for uid in (ALICE, BOB, CAROL, DAVE, ERIN):
            assert await http.find_account(uid=uid) == await demo.find_account(uid=uid)
            assert await http.recent_orders(uid, limit=100) == await demo.recent_orders(uid, limit=100)
            assert await http.recent_deposits(uid) == await demo.recent_deposits(uid)
            assert await http.recent_withdrawals(uid) == await demo.recent_withdrawals(uid)
        assert await http.list_pairs() == await demo.list_pairs()
        assert await http.list_networks() == await demo.list_networks()
    finally:
        await http.aclose()
