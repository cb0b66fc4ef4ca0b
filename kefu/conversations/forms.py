"""Structured form fields per category: what support needs to act without a back-and-forth.

Every field is optional (a customer may not know the order id) but, when present, must be well formed;
unknown fields are refused so that nothing unvalidated is stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from kefu.conversations.states import Category
from kefu.core.errors import InvalidInput

Uid = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Asset = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9]{1,15}$")]
Network = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 ._()-]{1,40}$")]
# Transaction hashes are hex (EVM, BTC) or base58 (Solana, Tron ids); 32-100 characters either way.
TxHash = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(0x)?[A-Za-z0-9]{32,100}$")]
Address = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9:_.-]{10,128}$")]
Memo = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=38, decimal_places=18)]


def _normalise_pair(value: str) -> str:
    cleaned = value.strip().upper().replace("-", "/").replace("_", "/")
    parts = cleaned.split("/")
    if len(parts) != 2 or not all(p.isalnum() and 1 <= len(p) <= 15 for p in parts):
        raise ValueError("a trading pair looks like BTC/USDT")
    return cleaned


Pair = Annotated[str, AfterValidator(_normalise_pair)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time zone is required (e.g. 2026-01-31T12:00:00+08:00)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class GeneralForm(_Form):
    uid: Uid | None = None


class AccountAccessForm(_Form):
    uid: Uid | None = None
    login_email: Annotated[str, StringConstraints(max_length=320)] | None = None
    locked_at: AwareDatetime | None = None
    error_message: Text | None = None


class KycForm(_Form):
    uid: Uid | None = None
    kyc_level: Annotated[int, Field(ge=0, le=5)] | None = None
    rejection_reason: Text | None = None


class TradingForm(_Form):
    uid: Uid | None = None
    order_id: OrderId | None = None
    pair: Pair | None = None
    side: Annotated[str, StringConstraints(pattern=r"^(buy|sell)$")] | None = None
    occurred_at: AwareDatetime | None = None
    error_message: Text | None = None


class DepositForm(_Form):
    uid: Uid | None = None
    asset: Asset | None = None
    network: Network | None = None
    amount: Amount | None = None
    tx_hash: TxHash | None = None
    address: Address | None = None
    memo: Memo | None = None
    occurred_at: AwareDatetime | None = None


class WithdrawalForm(DepositForm):
    withdrawal_id: OrderId | None = None


class SecurityForm(_Form):
    uid: Uid | None = None
    suspicious_contact: Text | None = None
    occurred_at: AwareDatetime | None = None


FORMS: dict[Category, type[_Form]] = {
    Category.GENERAL: GeneralForm,
    Category.ACCOUNT_ACCESS: AccountAccessForm,
    Category.KYC: KycForm,
    Category.TRADING: TradingForm,
    Category.DEPOSIT: DepositForm,
    Category.WITHDRAWAL: WithdrawalForm,
    Category.SECURITY: SecurityForm,
}


def validate_form_fields(category: Category, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate `raw` against the category's form; returns JSON-ready values or raises InvalidInput."""
    try:
        form = FORMS[category].model_validate(raw)
    except ValidationError as exc:
        fields = {"form_fields." + ".".join(str(p) for p in err["loc"]): err["msg"] for err in exc.errors()}
        raise InvalidInput("form fields are not valid for this category", fields=fields) from None
    return form.model_dump(mode="json", exclude_none=True)
