"""The exchange port: every provider (demo, HTTP, a future exchange SDK) implements this protocol."""

from __future__ import annotations

from typing import Protocol

from kefu.integrations.exchange.schemas import (
    Account,
    ActionResult,
    Deposit,
    Network,
    Order,
    TradingPair,
    Withdrawal,
)


class ExchangePort(Protocol):
    """Read what support needs and perform the few account actions agents may take.

    Lookups return None (or an empty list) when nothing matches, including for references that
    cannot exist. Failures raise `ExchangeError` subclasses: `ExchangeUnavailable` (try later),
    `ExchangeRejected` (the exchange said no), `ExchangeAuthError` (Kefu's credentials are wrong).
    """

    async def find_account(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Account | None:
        """The account matching exactly one of uid, email (case-insensitive) or phone."""
        ...

    async def recent_orders(self, uid: str, *, limit: int = 20, pair: str | None = None) -> list[Order]:
        """The account's newest orders first, optionally for one pair; 1 <= limit <= 100."""
        ...

    async def get_order(self, order_id: str) -> Order | None:
        """One order by its exchange id."""
        ...

    async def recent_deposits(self, uid: str, *, limit: int = 20) -> list[Deposit]:
        """The account's newest deposits first; 1 <= limit <= 100."""
        ...

    async def recent_withdrawals(self, uid: str, *, limit: int = 20) -> list[Withdrawal]:
        """The account's newest withdrawals first; 1 <= limit <= 100."""
        ...

    async def find_transaction(self, tx_hash: str) -> Deposit | Withdrawal | None:
        """The deposit or withdrawal carrying this on-chain transaction hash."""
        ...

    async def list_pairs(self) -> list[TradingPair]:
        """Every trading pair with its status and limits."""
        ...

    async def list_networks(self) -> list[Network]:
        """Every asset/network with confirmations needed and whether a memo is required."""
        ...

    async def unlock_account(
        self, uid: str, *, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        """Lift a security lock; a frozen or closed account is rejected. Replays return the first result."""
        ...

    async def freeze_account(
        self, uid: str, *, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        """Freeze the account (e.g. suspected takeover); replays with the same key return the first result."""
        ...

    async def aclose(self) -> None:
        """Release connections; the provider is unusable afterwards."""
        ...
