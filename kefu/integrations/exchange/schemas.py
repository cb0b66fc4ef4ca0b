"""What the exchange tells support: accounts, orders, deposits, withdrawals, pairs, networks.

Models are frozen and ignore unknown fields, so an exchange may add fields without breaking Kefu.
Money is `Decimal` on the wire as a string: JSON floats are refused because they lose precision.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    computed_field,
)

# References travel in URL paths, so they are limited to characters that need no escaping and can
# never form `.`/`..` segments or smuggle a query.
REFERENCE_PATTERN = r"^[A-Za-z0-9_:\-]{1,128}$"
PAIR_PATTERN = r"^[A-Z0-9]{1,16}/[A-Z0-9]{1,16}$"

Reference = Annotated[str, StringConstraints(pattern=REFERENCE_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,16}$")]
NetworkName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]


def _exact_decimal(value: object) -> object:
    # A float has already lost digits by the time it reaches us; refuse rather than guess.
    if isinstance(value, float | bool):
        raise ValueError("amounts must be decimal strings, not JSON numbers with a fraction")
    return value


def _rfc3339(value: object) -> object:
    # Numbers would be guessed as seconds or milliseconds; the contract says RFC 3339 text.
    if isinstance(value, int | float):
        raise ValueError("times must be RFC 3339 strings with an offset")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


def _plain(value: Decimal) -> str:
    # Fixed-point text: "0.00001" rather than "1E-5", which some consumers misread.
    return format(value, "f")


Money = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    # 18 places covers wei; the digit cap stops "1E+999999999" from expanding into a huge string.
    Field(ge=0, allow_inf_nan=False, max_digits=40, decimal_places=18),
    PlainSerializer(_plain, return_type=str, when_used="json"),
]


def mask_email(email: str) -> str:
    """`alice@example.com` -> `a***e@example.com`: enough for a customer to recognise, not to reuse."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "***"
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"


def mask_phone(phone: str) -> str:
    """`+447700900123` -> `+44******23`: country code and last two digits only."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 6:
        return "***"
    return f"+{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AccountStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    FROZEN = "frozen"
    CLOSED = "closed"


class Account(_Model):
    uid: Reference
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    status: AccountStatus
    kyc_level: int = Field(ge=0, le=9)
    created_at: Timestamp
    lock_reason: ShortText | None = None
    last_login_at: Timestamp | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def email_masked(self) -> str | None:
        """The email as shown to anyone who has not verified the customer."""
        return mask_email(self.email) if self.email else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def phone_masked(self) -> str | None:
        """The phone as shown to anyone who has not verified the customer."""
        return mask_phone(self.phone) if self.phone else None


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_LIMIT = "stop_limit"


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Order(_Model):
    order_id: Reference
    uid: Reference
    pair: Annotated[str, StringConstraints(pattern=PAIR_PATTERN)]
    side: OrderSide
    type: OrderType
    price: Money | None = None  # market orders have none
    amount: Money
    filled: Money
    status: OrderStatus
    created_at: Timestamp
    updated_at: Timestamp
    fail_reason: ShortText | None = None


class DepositStatus(StrEnum):
    PENDING = "pending"  # seen on chain, waiting for confirmations
    CREDITED = "credited"
    ON_HOLD = "on_hold"  # needs manual handling, e.g. the memo/tag is missing
    FAILED = "failed"


class WithdrawalStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


class _Transfer(_Model):
    id: Reference
    uid: Reference
    asset: Symbol
    network: NetworkName
    amount: Money
    address: Annotated[str, StringConstraints(max_length=256)]
    memo: Annotated[str, StringConstraints(max_length=128)] | None = None
    tx_hash: Reference | None = None
    confirmations: int = Field(ge=0)
    required_confirmations: int = Field(ge=0)
    created_at: Timestamp
    status_reason: ShortText | None = None


class Deposit(_Transfer):
    kind: Literal["deposit"] = "deposit"
    status: DepositStatus


class Withdrawal(_Transfer):
    kind: Literal["withdrawal"] = "withdrawal"
    status: WithdrawalStatus
    fee: Money = Decimal(0)


Transaction = Annotated[Deposit | Withdrawal, Field(discriminator="kind")]


class PairStatus(StrEnum):
    TRADING = "trading"
    HALTED = "halted"
    DELISTED = "delisted"


class TradingPair(_Model):
    symbol: Annotated[str, StringConstraints(pattern=PAIR_PATTERN)]
    base: Symbol
    quote: Symbol
    status: PairStatus
    price_precision: int = Field(ge=0, le=18)
    amount_precision: int = Field(ge=0, le=18)
    min_amount: Money
    min_notional: Money


class Network(_Model):
    asset: Symbol
    network: NetworkName
    min_confirmations: int = Field(ge=0)
    deposit_enabled: bool
    withdraw_enabled: bool
    memo_required: bool


class AccountAction(StrEnum):
    UNLOCK = "unlock"
    FREEZE = "freeze"


class ActionResult(_Model):
    action: AccountAction
    uid: Reference
    previous_status: AccountStatus
    status: AccountStatus
    changed: bool  # False when the account was already in the requested state
    action_id: Reference
    idempotency_key: Reference
    performed_at: Timestamp
