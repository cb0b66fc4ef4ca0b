"""Structured form fields per category: what support needs to act without a back-and-forth.

Every field is optional (a customer may not know the order id) but, when present, must be well formed;
unknown fields are refused so that nothing unvalidated is stored. The one exception is the callback
form, which is pointless without a phone number. Admins add fields per category on top of these
(`kefu.request_forms`); `kefu.request_forms.validation.check_form_fields` validates both together.

Checks that customers can fail raise `PydanticCustomError`s with a `kefu_*` type and the facts their
message needs in `ctx`, so `kefu.request_forms.messages` can say precisely what is wrong, in the
reader's language.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Final, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from kefu.conversations.states import Category
from kefu.core.clock import utcnow
from kefu.request_forms import chains


@dataclass(frozen=True)
class InputHint:
    """How the request page draws a field whose type alone does not say (a phone, a region, a zone)."""

    kind: Literal["tel", "region", "timezone"]


Uid = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Upper-cased before the pattern applies ("usdt" is fine; StringConstraints checks patterns first).
Asset = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,15}$"), BeforeValidator(_upper)]
Network = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 ._()-]{1,40}$")]
# Shapes depend on the network (kefu.request_forms.chains): checked by the form, after `network`.
TxHash = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Memo = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=38, decimal_places=18, allow_inf_nan=False)]

# How far ahead a callback may be booked.
CALLBACK_MAX_DAYS: Final = 60
PAIR_MAX_LENGTH: Final = 40
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def normalise_pair(value: str) -> str:
    """`btc-usdt`/`BTC_USDT` -> `BTC/USDT`; PydanticCustomError when it is not shaped like a pair."""
    cleaned = value.strip().upper().replace("-", "/").replace("_", "/")
    parts = cleaned.split("/")
    if len(parts) != 2 or not all(p.isascii() and p.isalnum() and 1 <= len(p) <= 15 for p in parts):
        raise PydanticCustomError("kefu_pair_format", "a trading pair looks like BTC/USDT")
    return cleaned


Pair = Annotated[str, StringConstraints(max_length=PAIR_MAX_LENGTH), AfterValidator(normalise_pair)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError(
            "kefu_time_zone_missing", "a time zone is required (e.g. 2026-01-31T12:00:00+08:00)"
        )
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalise_time_zone(value: str) -> str:
    """An IANA zone name as written ("Asia/Shanghai") or a UTC offset as "+08:00"; else an error."""
    cleaned = value.strip()
    if cleaned.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    if cleaned in _time_zones():
        return cleaned
    match = _OFFSET.fullmatch(cleaned)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if (hours, minutes) <= (14, 0) and minutes < 60:
            return f"{sign}{hours:02d}:{minutes:02d}"
    raise PydanticCustomError("kefu_time_zone_unknown", "not a time zone (e.g. Asia/Shanghai or +08:00)")


TimeZoneName = Annotated[
    str, StringConstraints(max_length=64), AfterValidator(normalise_time_zone), InputHint("timezone")
]


def _region(value: str) -> str:
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PydanticCustomError("kefu_region_unknown", "not a country or region code (e.g. CN)")
    return code


Region = Annotated[str, StringConstraints(max_length=8), AfterValidator(_region), InputHint("region")]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), InputHint("tel")
]


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
    # Also checked against the exchange's list of pairs (kefu.request_forms.validation).
    pair: Pair | None = None
    side: Annotated[str, StringConstraints(pattern=r"^(buy|sell)$")] | None = None
    occurred_at: AwareDatetime | None = None
    error_message: Text | None = None
    steps_taken: Text | None = None


class DepositForm(_Form):
    uid: Uid | None = None
    asset: Asset | None = None
    network: Network | None = None
    amount: Amount | None = None
    tx_hash: TxHash | None = None
    address: Address | None = None
    memo: Memo | None = None
    occurred_at: AwareDatetime | None = None

    @field_validator("tx_hash")
    @classmethod
    def _tx_hash_fits_network(cls, value: str | None, info: ValidationInfo) -> str | None:
        network = info.data.get("network")
        if value is not None and not chains.is_tx_hash(value, network):
            rule = chains.tx_hash_rule(network)
            name = chains.display_name(network) if network else ""
            raise PydanticCustomError(
                "kefu_tx_hash_format",
                "not a transaction hash for {network} ({rule})",
                {"rule": rule.value, "network": name},
            )
        return value

    @field_validator("address")
    @classmethod
    def _address_fits_network(cls, value: str | None, info: ValidationInfo) -> str | None:
        network = info.data.get("network")
        if value is not None and not chains.is_address(value, network):
            rule = chains.address_rule(network)
            name = chains.display_name(network) if network else ""
            raise PydanticCustomError(
                "kefu_address_format",
                "not an address on {network} ({rule})",
                {"rule": rule.value, "network": name},
            )
        return value


class WithdrawalForm(DepositForm):
    withdrawal_id: OrderId | None = None


class SecurityForm(_Form):
    uid: Uid | None = None
    suspicious_contact: Text | None = None
    occurred_at: AwareDatetime | None = None


class CallbackForm(_Form):
    """A call back: the number (stored as E.164), when suits the customer, in their time zone."""

    # Before the phone: a number without +country code is read in this region.
    phone_region: Region | None = None
    phone: Phone
    preferred_date: date | None = None
    window_from: time | None = None
    window_to: time | None = None
    time_zone: TimeZoneName | None = Field(default=None, validate_default=True)
    language: Literal["en", "zh-CN"] | None = None
    topic: ShortText | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str, info: ValidationInfo) -> str:
        region = info.data.get("phone_region")
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise PydanticCustomError(
                "kefu_phone_invalid" if region or value.startswith("+") else "kefu_phone_needs_region",
                "not a valid phone number",
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("preferred_date")
    @classmethod
    def _bookable(cls, value: date | None) -> date | None:
        if value is None:
            return None
        # "Today" differs by up to a day around the world: anything from yesterday in UTC may be today.
        today = utcnow().date()
        if value < today - timedelta(days=1):
            raise PydanticCustomError("kefu_date_past", "the date has passed")
        if value > today + timedelta(days=CALLBACK_MAX_DAYS):
            raise PydanticCustomError(
                "kefu_date_too_far", "at most {days} days ahead", {"days": CALLBACK_MAX_DAYS}
            )
        return value

    @field_validator("window_to")
    @classmethod
    def _after_start(cls, value: time | None, info: ValidationInfo) -> time | None:
        start = info.data.get("window_from")
        if value is not None and start is not None and value <= start:
            raise PydanticCustomError("kefu_window_order", "the window must end after it starts")
        return value

    @field_validator("time_zone")
    @classmethod
    def _needed_for_times(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and (info.data.get("window_from") or info.data.get("window_to")):
            raise PydanticCustomError("kefu_time_zone_required", "a time window needs a time zone")
        return value


FORMS: dict[Category, type[_Form]] = {
    Category.GENERAL: GeneralForm,
    Category.ACCOUNT_ACCESS: AccountAccessForm,
    Category.KYC: KycForm,
    Category.TRADING: TradingForm,
    Category.DEPOSIT: DepositForm,
    Category.WITHDRAWAL: WithdrawalForm,
    Category.SECURITY: SecurityForm,
    Category.CALLBACK: CallbackForm,
}


def built_in_fields(category: Category) -> frozenset[str]:
    """The names of a category's built-in fields (admin-added fields may not reuse them)."""
    return frozenset(FORMS[category].model_fields)


def dump_form(form: BaseModel) -> dict[str, Any]:
    """A validated form as the JSON stored on the conversation (unset fields left out)."""
    return form.model_dump(mode="json", exclude_none=True)
