"""In-memory exchange with the "Kefu Demo Exchange" sample data: the default provider and the fake
that the HTTP adapter's contract tests are held against."""

from __future__ import annotations

from datetime import datetime

from kefu.core.clock import utcnow
from kefu.integrations.exchange.demo_data import build_demo_data
from kefu.integrations.exchange.errors import ExchangeRejected
from kefu.integrations.exchange.schemas import (
    Account,
    AccountAction,
    AccountStatus,
    ActionResult,
    Deposit,
    Network,
    Order,
    TradingPair,
    Withdrawal,
)
from kefu.integrations.exchange.validation import (
    ActionRequest,
    check_action,
    check_limit,
    clean_reference,
    normalize_email,
    normalize_pair,
    normalize_phone,
    one_criterion,
)

_Fingerprint = tuple[AccountAction, str, str, str]


class DemoExchange:
    """ExchangePort over deterministic sample data; unlock/freeze change state, idempotent per key."""

    def __init__(self, *, now: datetime | None = None) -> None:
        data = build_demo_data(now or utcnow())
        self._accounts = {account.uid: account for account in data.accounts}
        self._orders = data.orders
        self._deposits = data.deposits
        self._withdrawals = data.withdrawals
        self._pairs = data.pairs
        self._networks = data.networks
        self._actions: dict[str, tuple[_Fingerprint, ActionResult]] = {}

    async def find_account(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Account | None:
        """The account matching exactly one of uid, email (case-insensitive) or phone."""
        field, value = one_criterion(uid, email, phone)
        if field == "uid":
            key = clean_reference(value)
            return self._accounts.get(key) if key else None
        normalize = normalize_email if field == "email" else normalize_phone
        wanted = normalize(value)
        for account in self._accounts.values():
            stored = account.email if field == "email" else account.phone
            if wanted and stored and normalize(stored) == wanted:
                return account
        return None

    async def recent_orders(self, uid: str, *, limit: int = 20, pair: str | None = None) -> list[Order]:
        """The account's newest orders first, optionally for one pair; 1 <= limit <= 100."""
        check_limit(limit)
        key = clean_reference(uid)
        symbol = normalize_pair(pair) if pair is not None else None
        if key is None or (pair is not None and symbol is None):
            return []
        found = [o for o in self._orders if o.uid == key and (symbol is None or o.pair == symbol)]
        return sorted(found, key=lambda o: o.created_at, reverse=True)[:limit]

    async def get_order(self, order_id: str) -> Order | None:
        """One order by its exchange id."""
        key = clean_reference(order_id)
        return next((o for o in self._orders if o.order_id == key), None)

    async def recent_deposits(self, uid: str, *, limit: int = 20) -> list[Deposit]:
        """The account's newest deposits first; 1 <= limit <= 100."""
        check_limit(limit)
        key = clean_reference(uid)
        found = [d for d in self._deposits if d.uid == key]
        return sorted(found, key=lambda d: d.created_at, reverse=True)[:limit]

    async def recent_withdrawals(self, uid: str, *, limit: int = 20) -> list[Withdrawal]:
        """The account's newest withdrawals first; 1 <= limit <= 100."""
        check_limit(limit)
        key = clean_reference(uid)
        found = [w for w in self._withdrawals if w.uid == key]
        return sorted(found, key=lambda w: w.created_at, reverse=True)[:limit]

    async def find_transaction(self, tx_hash: str) -> Deposit | Withdrawal | None:
        """The deposit or withdrawal carrying this on-chain transaction hash (case-insensitive)."""
        key = clean_reference(tx_hash)
        if key is None:
            return None
        transfers: list[Deposit | Withdrawal] = [*self._deposits, *self._withdrawals]
        # Hex hashes are case-insensitive; agents paste them from explorers in either case.
        return next((t for t in transfers if t.tx_hash and t.tx_hash.lower() == key.lower()), None)

    async def list_pairs(self) -> list[TradingPair]:
        """Every trading pair with its status and limits."""
        return list(self._pairs)

    async def list_networks(self) -> list[Network]:
        """Every asset/network with confirmations needed and whether a memo is required."""
        return list(self._networks)

    async def unlock_account(
        self, uid: str, *, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        """Lift a security lock; a frozen or closed account is rejected. Replays return the first result."""
        request = check_action(uid, reason=reason, actor=actor, idempotency_key=idempotency_key)
        return self._act(AccountAction.UNLOCK, request)

    async def freeze_account(
        self, uid: str, *, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        """Freeze the account (e.g. suspected takeover); replays with the same key return the first result."""
        request = check_action(uid, reason=reason, actor=actor, idempotency_key=idempotency_key)
        return self._act(AccountAction.FREEZE, request)

    async def aclose(self) -> None:
        """Nothing to release; present for the port."""

    def _act(self, action: AccountAction, request: ActionRequest) -> ActionResult:
        fingerprint: _Fingerprint = (action, request.uid, request.reason, request.actor)
        if request.idempotency_key in self._actions:
            first, result = self._actions[request.idempotency_key]
            if first != fingerprint:
                raise ExchangeRejected(
                    "idempotency_key_reused", "this key was used for a different request", http_status=409
                )
            return result
        account = self._accounts.get(request.uid)
        if account is None:
            raise ExchangeRejected("account_not_found", "no account with this uid", http_status=404)
        target = _next_status(action, account.status)
        changed = target != account.status
        if changed:
            lock_reason = None if target == AccountStatus.ACTIVE else request.reason
            self._accounts[account.uid] = account.model_copy(
                update={"status": target, "lock_reason": lock_reason}
            )
        result = ActionResult(
            action=action,
            uid=account.uid,
            previous_status=account.status,
            status=target,
            changed=changed,
            action_id=f"A{len(self._actions) + 1:06d}",
            idempotency_key=request.idempotency_key,
            performed_at=utcnow(),
        )
        self._actions[request.idempotency_key] = (fingerprint, result)
        return result


def _next_status(action: AccountAction, current: AccountStatus) -> AccountStatus:
    if current == AccountStatus.CLOSED:
        raise ExchangeRejected("account_closed", "the account is closed", http_status=409)
    if action == AccountAction.FREEZE:
        return AccountStatus.FROZEN
    if current == AccountStatus.FROZEN:
        # A compliance freeze is lifted by compliance in the back office, never from the help desk.
        raise ExchangeRejected(
            "account_frozen", "a frozen account cannot be unlocked by support", http_status=409
        )
    return AccountStatus.ACTIVE
