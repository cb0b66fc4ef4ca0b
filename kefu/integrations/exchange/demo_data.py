"""Sample back-office data of the fictional "Kefu Demo Exchange", relative to a given instant.

Each record stands for a case support meets daily: a login lock, a compliance freeze, a failed order,
a deposit waiting for confirmations, a deposit sent without its memo, a withdrawal under review.
Addresses and hashes are made up (hashes derive from labels) so reruns give identical data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from kefu.integrations.exchange.schemas import (
    Account,
    AccountStatus,
    Deposit,
    DepositStatus,
    Network,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    PairStatus,
    TradingPair,
    Withdrawal,
    WithdrawalStatus,
)

ALICE, BOB, CAROL, DAVE, ERIN = "10000001", "10000002", "10000003", "10000004", "10000005"


@dataclass(frozen=True)
class DemoData:
    accounts: tuple[Account, ...]
    orders: tuple[Order, ...]
    deposits: tuple[Deposit, ...]
    withdrawals: tuple[Withdrawal, ...]
    pairs: tuple[TradingPair, ...]
    networks: tuple[Network, ...]


def fake_hash(label: str, *, evm: bool = False) -> str:
    """A deterministic 64-hex transaction hash (`0x`-prefixed for EVM chains)."""
    digest = hashlib.sha256(f"kefu-demo:{label}".encode()).hexdigest()
    return f"0x{digest}" if evm else digest


def _accounts(now: datetime) -> tuple[Account, ...]:
    return (
        Account(
            uid=ALICE,
            email="alice@example.com",
            phone="+12025550101",
            status=AccountStatus.ACTIVE,
            kyc_level=2,
            created_at=now - timedelta(days=400),
            last_login_at=now - timedelta(hours=3),
            country="DE",
        ),
        Account(
            uid=BOB,
            email="bob.trader@example.com",
            phone="+447700900123",
            status=AccountStatus.LOCKED,
            kyc_level=1,
            created_at=now - timedelta(days=90),
            lock_reason="too_many_failed_logins",
            last_login_at=now - timedelta(days=2),
            country="GB",
        ),
        Account(
            uid=CAROL,
            email="carol@mail.example.com",
            phone=None,
            status=AccountStatus.FROZEN,
            kyc_level=2,
            created_at=now - timedelta(days=700),
            lock_reason="compliance_review",
            last_login_at=now - timedelta(days=6),
            country="SG",
        ),
        Account(
            uid=DAVE,
            email=None,
            phone="+61491570156",
            status=AccountStatus.ACTIVE,
            kyc_level=1,
            created_at=now - timedelta(days=30),
            last_login_at=now - timedelta(minutes=40),
            country="AU",
        ),
        Account(
            uid=ERIN,
            email="erin@example.com",
            phone=None,
            status=AccountStatus.CLOSED,
            kyc_level=0,
            created_at=now - timedelta(days=1200),
            lock_reason="closed_by_customer",
            country="US",
        ),
    )


def _orders(now: datetime) -> tuple[Order, ...]:
    def order(
        n: int,
        pair: str,
        side: OrderSide,
        kind: OrderType,
        price: str | None,
        amount: str,
        filled: str,
        status: OrderStatus,
        minutes: int,
        fail: str | None = None,
    ) -> Order:
        created = now - timedelta(minutes=minutes)
        return Order(
            order_id=f"880000{n:04d}",
            uid=ALICE,
            pair=pair,
            side=side,
            type=kind,
            price=Decimal(price) if price else None,
            amount=Decimal(amount),
            filled=Decimal(filled),
            status=status,
            created_at=created,
            updated_at=created + timedelta(seconds=n),
            fail_reason=fail,
        )

    buy, sell = OrderSide.BUY, OrderSide.SELL
    limit, market, stop = OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_LIMIT
    return (
        order(1, "BTC/USDT", buy, limit, "64250.50", "0.015", "0.015", OrderStatus.FILLED, 60 * 26),
        order(2, "ETH/USDT", sell, limit, "3420.00", "1.2", "0", OrderStatus.CANCELLED, 60 * 20),
        order(
            3, "BTC/USDT", buy, market, None, "0.5", "0", OrderStatus.FAILED, 60 * 5, "insufficient_balance"
        ),
        order(4, "ETH/USDT", buy, limit, "3380.25", "2", "0.75", OrderStatus.PARTIALLY_FILLED, 90),
        order(5, "SOL/USDT", sell, stop, "141.80", "10", "0", OrderStatus.FAILED, 45, "price_outside_band"),
        order(6, "BTC/USDT", sell, limit, "66000", "0.01", "0", OrderStatus.OPEN, 12),
        order(7, "ETH/BTC", buy, limit, "0.0521", "0.4", "0.4", OrderStatus.FILLED, 60 * 72),
    )


def _deposits(now: datetime) -> tuple[Deposit, ...]:
    return (
        Deposit(
            id="D9001",
            uid=ALICE,
            asset="BTC",
            network="BTC",
            amount=Decimal("0.25"),
            address="bc1qkefudemo0alice0deposit0000000000000",
            tx_hash=fake_hash("d9001"),
            confirmations=1,
            required_confirmations=2,
            status=DepositStatus.PENDING,
            created_at=now - timedelta(minutes=14),
        ),
        Deposit(
            id="D9002",
            uid=ALICE,
            asset="USDT",
            network="TRC20",
            amount=Decimal("1500"),
            address="TKefuDemoAliceDepositAddr00000000",
            tx_hash=fake_hash("d9002"),
            confirmations=20,
            required_confirmations=20,
            status=DepositStatus.CREDITED,
            created_at=now - timedelta(days=3),
        ),
        Deposit(
            id="D9003",
            uid=ALICE,
            asset="ETH",
            network="ERC20",
            amount=Decimal("0.8"),
            address="0x00000000000000000000000000000000000ke1f0",
            tx_hash=fake_hash("d9003", evm=True),
            confirmations=12,
            required_confirmations=64,
            status=DepositStatus.PENDING,
            created_at=now - timedelta(minutes=6),
        ),
        # Sent to the shared XRP address without the destination tag: the classic "missing deposit".
        Deposit(
            id="D9004",
            uid=DAVE,
            asset="XRP",
            network="XRP",
            amount=Decimal("250"),
            address="rKefuDemoSharedDepositAddr0000000",
            memo=None,
            tx_hash=fake_hash("d9004"),
            confirmations=1,
            required_confirmations=1,
            status=DepositStatus.ON_HOLD,
            created_at=now - timedelta(hours=5),
            status_reason="memo_missing",
        ),
        Deposit(
            id="D9005",
            uid=DAVE,
            asset="USDT",
            network="ERC20",
            amount=Decimal("0.5"),
            address="0x00000000000000000000000000000000000da7e0",
            tx_hash=fake_hash("d9005", evm=True),
            confirmations=64,
            required_confirmations=64,
            status=DepositStatus.FAILED,
            created_at=now - timedelta(days=1),
            status_reason="below_minimum_deposit",
        ),
    )


def _withdrawals(now: datetime) -> tuple[Withdrawal, ...]:
    return (
        Withdrawal(
            id="W7001",
            uid=ALICE,
            asset="USDT",
            network="TRC20",
            amount=Decimal("200"),
            fee=Decimal("1"),
            address="TKefuDemoExternalWallet000000000",
            tx_hash=fake_hash("w7001"),
            confirmations=20,
            required_confirmations=20,
            status=WithdrawalStatus.COMPLETED,
            created_at=now - timedelta(days=2),
        ),
        Withdrawal(
            id="W7002",
            uid=ALICE,
            asset="BTC",
            network="BTC",
            amount=Decimal("0.1"),
            fee=Decimal("0.0002"),
            address="bc1qkefudemo0external0wallet00000000000",
            tx_hash=None,
            confirmations=0,
            required_confirmations=2,
            status=WithdrawalStatus.PENDING_REVIEW,
            created_at=now - timedelta(minutes=30),
            status_reason="new_address_cooldown",
        ),
        Withdrawal(
            id="W7003",
            uid=BOB,
            asset="ETH",
            network="ERC20",
            amount=Decimal("3"),
            fee=Decimal("0.002"),
            address="0x00000000000000000000000000000000000b0b00",
            tx_hash=None,
            confirmations=0,
            required_confirmations=64,
            status=WithdrawalStatus.REJECTED,
            created_at=now - timedelta(days=2, hours=1),
            status_reason="account_locked",
        ),
        Withdrawal(
            id="W7004",
            uid=DAVE,
            asset="XRP",
            network="XRP",
            amount=Decimal("100"),
            fee=Decimal("0.25"),
            address="rKefuDemoExternalWallet000000000",
            memo="104233",
            tx_hash=fake_hash("w7004"),
            confirmations=0,
            required_confirmations=1,
            status=WithdrawalStatus.PROCESSING,
            created_at=now - timedelta(minutes=3),
        ),
    )


def _pairs() -> tuple[TradingPair, ...]:
    def pair(base: str, quote: str, status: PairStatus, pp: int, ap: int, min_amount: str) -> TradingPair:
        return TradingPair(
            symbol=f"{base}/{quote}",
            base=base,
            quote=quote,
            status=status,
            price_precision=pp,
            amount_precision=ap,
            min_amount=Decimal(min_amount),
            min_notional=Decimal("5") if quote == "USDT" else Decimal("0.0001"),
        )

    return (
        pair("BTC", "USDT", PairStatus.TRADING, 2, 6, "0.00001"),
        pair("ETH", "USDT", PairStatus.TRADING, 2, 4, "0.0001"),
        pair("SOL", "USDT", PairStatus.TRADING, 2, 2, "0.01"),
        pair("XRP", "USDT", PairStatus.HALTED, 4, 1, "1"),
        pair("ETH", "BTC", PairStatus.TRADING, 6, 4, "0.001"),
    )


def _networks() -> tuple[Network, ...]:
    def net(
        asset: str,
        network: str,
        confirmations: int,
        memo: bool = False,
        deposit: bool = True,
        withdraw: bool = True,
    ) -> Network:
        return Network(
            asset=asset,
            network=network,
            min_confirmations=confirmations,
            deposit_enabled=deposit,
            withdraw_enabled=withdraw,
            memo_required=memo,
        )

    return (
        net("BTC", "BTC", 2),
        net("ETH", "ERC20", 64),
        net("USDT", "ERC20", 64),
        net("USDT", "TRC20", 20),
        net("SOL", "SOL", 32, withdraw=False),  # wallet maintenance: deposits only
        net("XRP", "XRP", 1, memo=True),
    )


def build_demo_data(now: datetime) -> DemoData:
    """The full sample data set, with times relative to `now` (tz-aware)."""
    if now.tzinfo is None:
        raise ValueError("demo data needs a tz-aware instant")
    now = now.replace(microsecond=0)
    return DemoData(
        accounts=_accounts(now),
        orders=_orders(now),
        deposits=_deposits(now),
        withdrawals=_withdrawals(now),
        pairs=_pairs(),
        networks=_networks(),
    )
