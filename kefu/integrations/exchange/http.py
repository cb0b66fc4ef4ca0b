"""ExchangePort over the signed REST contract in docs/exchange-api.md.

Every failure becomes an `ExchangeError`: callers never see httpx, JSON or pydantic exceptions.
Responses are checked against the schemas and against the question asked, so a confused peer
cannot put another customer's data in front of an agent.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, TypeAdapter, ValidationError

from kefu.integrations.exchange.client import SignedClient
from kefu.integrations.exchange.errors import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
)
from kefu.integrations.exchange.schemas import (
    Account,
    AccountAction,
    ActionResult,
    Deposit,
    Network,
    Order,
    TradingPair,
    Transaction,
    Withdrawal,
)
from kefu.integrations.exchange.validation import (
    check_action,
    check_limit,
    clean_reference,
    normalize_email,
    normalize_pair,
    normalize_phone,
    one_criterion,
)

T = TypeVar("T")
TransferT = TypeVar("TransferT", Deposit, Withdrawal)


class Page(BaseModel, Generic[T]):
    """List responses are `{"items": [...]}` so fields can be added beside the items later."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    items: list[T]


_ACCOUNT = TypeAdapter(Account)
_ORDER = TypeAdapter(Order)
_ORDERS = TypeAdapter(Page[Order])
_DEPOSITS = TypeAdapter(Page[Deposit])
_WITHDRAWALS = TypeAdapter(Page[Withdrawal])
_TRANSACTION: TypeAdapter[Deposit | Withdrawal] = TypeAdapter(Transaction)
_PAIRS = TypeAdapter(Page[TradingPair])
_NETWORKS = TypeAdapter(Page[Network])
_ACTION = TypeAdapter(ActionResult)
_ERROR = TypeAdapter(dict[str, dict[str, str]])
_ACTION_BODY = TypeAdapter(dict[str, str])


def _decode(adapter: TypeAdapter[T], content: bytes) -> T:
    try:
        return adapter.validate_json(content)
    except ValidationError as exc:
        # The error text may quote response data (personal data); report only where it broke.
        where = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()[:3])
        raise ExchangeError(f"exchange response does not match the contract ({where})") from None


def _rejection(status: int, content: bytes) -> ExchangeRejected:
    try:
        error = _ERROR.validate_json(content)["error"]
        return ExchangeRejected(error["code"], error["message"], http_status=status)
    except (ValidationError, KeyError):
        return ExchangeRejected(f"http_{status}", "the exchange refused the request", http_status=status)


def _same(expected: str, actual: str, what: str) -> None:
    # A peer answering about another customer must never reach an agent's screen.
    if expected.lower() != actual.lower():
        raise ExchangeError(f"exchange answered about a different {what}")


class HttpExchange:
    """Signed HTTP client for an exchange implementing docs/exchange-api.md."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: SecretStr,
        *,
        timeout: float,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_seconds: float = 0.2,
    ) -> None:
        self._client = SignedClient(
            base_url,
            api_key,
            api_secret,
            timeout=timeout,
            retries=retries,
            backoff_seconds=backoff_seconds,
            transport=transport,
        )

    async def find_account(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Account | None:
        """The account matching exactly one of uid, email (case-insensitive) or phone."""
        field, raw = one_criterion(uid, email, phone)
        clean = {"uid": clean_reference, "email": normalize_email, "phone": normalize_phone}[field]
        value = clean(raw)
        if value is None:
            return None
        content = await self._get("/v1/accounts", params={field: value}, lookup=True)
        if content is None:
            return None
        account = _decode(_ACCOUNT, content)
        found = {"uid": account.uid, "email": account.email, "phone": account.phone}[field]
        _same(value, (clean(found) if found else None) or "", "account")
        return account

    async def recent_orders(self, uid: str, *, limit: int = 20, pair: str | None = None) -> list[Order]:
        """The account's newest orders first, optionally for one pair; 1 <= limit <= 100."""
        check_limit(limit)
        key = clean_reference(uid)
        symbol = normalize_pair(pair) if pair is not None else None
        if key is None or (pair is not None and symbol is None):
            return []
        params = {"limit": str(limit)} | ({"pair": symbol} if symbol else {})
        content = await self._get(f"/v1/accounts/{key}/orders", params=params, lookup=True)
        orders = _decode(_ORDERS, content).items if content is not None else []
        for order in orders:
            _same(key, order.uid, "account")
        return orders[:limit]

    async def get_order(self, order_id: str) -> Order | None:
        """One order by its exchange id."""
        key = clean_reference(order_id)
        content = await self._get(f"/v1/orders/{key}", lookup=True) if key else None
        if content is None or key is None:
            return None
        order = _decode(_ORDER, content)
        _same(key, order.order_id, "order")
        return order

    async def recent_deposits(self, uid: str, *, limit: int = 20) -> list[Deposit]:
        """The account's newest deposits first; 1 <= limit <= 100."""
        return await self._transfers(uid, "deposits", _DEPOSITS, limit)

    async def recent_withdrawals(self, uid: str, *, limit: int = 20) -> list[Withdrawal]:
        """The account's newest withdrawals first; 1 <= limit <= 100."""
        return await self._transfers(uid, "withdrawals", _WITHDRAWALS, limit)

    async def find_transaction(self, tx_hash: str) -> Deposit | Withdrawal | None:
        """The deposit or withdrawal carrying this on-chain transaction hash."""
        key = clean_reference(tx_hash)
        content = await self._get(f"/v1/transactions/{key}", lookup=True) if key else None
        if content is None or key is None:
            return None
        transfer = _decode(_TRANSACTION, content)
        _same(key, transfer.tx_hash or "", "transaction")
        return transfer

    async def list_pairs(self) -> list[TradingPair]:
        """Every trading pair with its status and limits."""
        return _decode(_PAIRS, await self._get("/v1/pairs") or b"").items

    async def list_networks(self) -> list[Network]:
        """Every asset/network with confirmations needed and whether a memo is required."""
        return _decode(_NETWORKS, await self._get("/v1/networks") or b"").items

    async def unlock_account(
        self, uid: str, *, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        """Lift a security lock; a frozen or closed account is rejected. Replays return the first result."""
        return await self._act(AccountAction.UNLOCK, uid, reason, actor, idempotency_key)

    async def freeze_account(
        self, uid: str, *, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        """Freeze the account (e.g. suspected takeover); replays with the same key return the first result."""
        return await self._act(AccountAction.FREEZE, uid, reason, actor, idempotency_key)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _transfers(
        self, uid: str, kind: str, adapter: TypeAdapter[Page[TransferT]], limit: int
    ) -> list[TransferT]:
        check_limit(limit)
        key = clean_reference(uid)
        if key is None:
            return []
        content = await self._get(f"/v1/accounts/{key}/{kind}", params={"limit": str(limit)}, lookup=True)
        items = _decode(adapter, content).items if content is not None else []
        for item in items:
            _same(key, item.uid, "account")
        return items[:limit]

    async def _act(
        self, action: AccountAction, uid: str, reason: str, actor: str, idempotency_key: str
    ) -> ActionResult:
        request = check_action(uid, reason=reason, actor=actor, idempotency_key=idempotency_key)
        body = _ACTION_BODY.dump_json({"reason": request.reason, "actor": request.actor})
        status, content = await self._client.send(
            "POST",
            f"/v1/accounts/{request.uid}/{action.value}",
            body=body,
            idempotency_key=request.idempotency_key,
        )
        self._raise_for(status, content)
        result = _decode(_ACTION, content)
        _same(request.uid, result.uid, "account")
        _same(request.idempotency_key, result.idempotency_key, "request")
        return result

    async def _get(
        self, path: str, *, params: dict[str, str] | None = None, lookup: bool = False
    ) -> bytes | None:
        status, content = await self._client.send("GET", path, params=params)
        if status == 404 and lookup:
            return None
        self._raise_for(status, content)
        return content

    def _raise_for(self, status: int, content: bytes) -> None:
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise ExchangeAuthError(f"the exchange refused Kefu's credentials ({status})")
        if status == 429:
            raise ExchangeUnavailable("the exchange is rate limiting Kefu")
        if 400 <= status < 500:
            raise _rejection(status, content)
        if 300 <= status < 400:
            raise ExchangeError(f"the exchange answered with a redirect ({status})")
        raise ExchangeUnavailable(f"the exchange answered {status}")
