"""What a customer reads next to a form field that did not validate, in their language.

pydantic's own messages are English and generic ("String should match pattern …"). Each error is
mapped here by its type (pydantic's, or one of the `kefu_*` types raised by the forms), the field and
the error's context to one specific sentence, translated by the reader's catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from kefu.i18n import N_, Translator, get_translator, normalise_locale
from kefu.request_forms.chains import AddressRule, TxRule

Context = Mapping[str, Any]


def translator_for(locale: str | None) -> Translator:
    """The translator of `locale` (any tag; unknown ones read English)."""
    return get_translator(normalise_locale(locale) or "en")


_TX_HASH: Final = {
    # Translators: %(network)s is a blockchain network such as TRC20 or ERC20.
    TxRule.HEX64_0X: N_(
        "Enter a transaction hash of 0x followed by 64 hexadecimal characters for %(network)s."
    ),
    # Translators: %(network)s is a blockchain network such as TRC20 or ERC20.
    TxRule.HEX64: N_("Enter a transaction hash of 64 hexadecimal characters for %(network)s."),
    TxRule.BASE58_SIGNATURE: N_(
        # Translators: %(network)s is a blockchain network such as Solana.
        "Enter a transaction signature of 87 or 88 base58 characters for %(network)s."
    ),
    TxRule.HEX64_OR_BASE64: N_(
        # Translators: %(network)s is a blockchain network such as TON.
        "Enter a transaction hash of 64 hexadecimal or 44 base64 characters for %(network)s."
    ),
}
_TX_HASH_GENERIC: Final = N_(
    "Enter the transaction hash (TxID) as your wallet shows it: 32 to 100 letters and digits."
)
_ADDRESS: Final = {
    # Translators: %(network)s is a blockchain network such as ERC20 or BEP20.
    AddressRule.EVM: N_("Enter a %(network)s address: 0x followed by 40 hexadecimal characters."),
    # Translators: %(network)s is a blockchain network such as TRC20.
    AddressRule.TRON: N_("Enter a %(network)s address: T followed by 33 letters and digits."),
}
# Translators: %(network)s is a blockchain network such as BTC or Solana.
_ADDRESS_OTHER: Final = N_("This is not a valid %(network)s address. Copy it exactly from your wallet.")
_ADDRESS_GENERIC: Final = N_(
    "Enter the address as your wallet shows it: 10 to 128 letters, digits or the characters : _ . -"
)
# Pattern errors of the built-in fields, by field name.
_PATTERNS: Final = {
    "uid": N_("Enter your UID: up to 64 letters, digits, dashes or underscores."),
    "order_id": N_("Enter the ID exactly as shown: up to 64 letters, digits, dashes or underscores."),
    "withdrawal_id": N_("Enter the ID exactly as shown: up to 64 letters, digits, dashes or underscores."),
    "asset": N_("Enter the asset's symbol, for example USDT."),
    "network": N_("Enter the network's name, for example TRC20 or ERC20."),
    "side": N_("Choose one of the options."),
}
_PATTERN_DEFAULT: Final = N_("This value is not in the expected format.")
_FIXED: Final = {
    "kefu_pair_format": N_("Enter a trading pair such as BTC/USDT."),
    "kefu_pair_unknown": N_("This is not a pair traded on this exchange. Check it, for example BTC/USDT."),
    "kefu_time_zone_missing": N_("Add your time zone to the date and time."),
    "kefu_phone_invalid": N_("Enter a valid phone number, for example +86 138 0013 8000."),
    "kefu_phone_needs_region": N_(
        "Start the number with + and the country code, or choose your country or region."
    ),
    "kefu_region_unknown": N_("Choose a country or region from the list."),
    "kefu_date_past": N_("Choose today or a later date."),
    "kefu_window_order": N_("The end of the time window must be after its start."),
    "kefu_time_zone_unknown": N_("Enter a time zone such as Asia/Shanghai or a UTC offset such as +08:00."),
    "kefu_time_zone_required": N_("Choose your time zone, so we call you at the right time."),
    "kefu_choice_unknown": N_("Choose one of the options."),
    "extra_forbidden": N_("This field is not part of this form."),
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_type": N_("Enter text here."),
    "literal_error": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
    "bool_parsing": N_("Choose yes or no."),
    "bool_type": N_("Choose yes or no."),
}
_BY_FAMILY: Final = {
    N_("Enter a whole number."): ("int_parsing", "int_type", "int_from_float", "int_parsing_size"),
    N_("Enter a number, for example 12.5."): (
        "decimal_parsing",
        "decimal_type",
        "float_parsing",
        "float_type",
        "finite_number",
    ),
    N_("Enter a date and time, for example 2026-01-31 12:00."): (
        "datetime_parsing",
        "datetime_type",
        "datetime_from_date_parsing",
        "datetime_object_invalid",
    ),
    N_("Enter a date, for example 2026-01-31."): (
        "date_parsing",
        "date_type",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    ),
    N_("Enter a time, for example 14:30."): ("time_parsing", "time_type"),
}
_FAMILY: Final = {kind: message for message, kinds in _BY_FAMILY.items() for kind in kinds}
FALLBACK: Final = N_("Please check this field.")


def _limit(ctx: Context, *names: str) -> str:
    return next((str(ctx[n]) for n in names if n in ctx), "")


def _tx_hash(t: Translator, ctx: Context) -> str:
    rule, network = str(ctx.get("rule", "")), str(ctx.get("network", ""))
    template = _TX_HASH.get(rule)  # type: ignore[call-overload]  # StrEnum keys match their values
    if template is None or not network:
        return t.gettext(_TX_HASH_GENERIC)
    return t.gettext(template, network=network)


def _address(t: Translator, ctx: Context) -> str:
    rule, network = str(ctx.get("rule", "")), str(ctx.get("network", ""))
    if not network:
        return t.gettext(_ADDRESS_GENERIC)
    template = _ADDRESS.get(rule)  # type: ignore[call-overload]  # StrEnum keys match their values
    return t.gettext(template or _ADDRESS_OTHER, network=network)


def _numbers(t: Translator, kind: str, ctx: Context) -> str | None:
    """Messages about sizes and bounds, which carry their limit."""
    if kind == "string_too_long":
        # Translators: %(max)s is a number of characters.
        return t.gettext("Use at most %(max)s characters.", max=_limit(ctx, "max_length"))
    if kind == "greater_than":
        return t.gettext("Enter a number greater than %(limit)s.", limit=_limit(ctx, "gt"))
    if kind == "greater_than_equal":
        return t.gettext("Enter a number of at least %(limit)s.", limit=_limit(ctx, "ge"))
    if kind in ("less_than_equal", "less_than"):
        return t.gettext("Enter a number of at most %(limit)s.", limit=_limit(ctx, "le", "lt"))
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return t.gettext("Enter at most %(max)s digits.", max=_limit(ctx, "max_digits", "whole_digits"))
    if kind == "decimal_max_places":
        return t.gettext(
            "Enter at most %(max)s digits after the decimal point.", max=_limit(ctx, "decimal_places")
        )
    if kind == "kefu_date_too_far":
        return t.gettext("Choose a date at most %(days)s days ahead.", days=_limit(ctx, "days"))
    return None


_SPECIAL: Final[dict[str, Callable[[Translator, Context], str]]] = {
    "kefu_tx_hash_format": _tx_hash,
    "kefu_address_format": _address,
}


def field_message(t: Translator, field: str, kind: str, ctx: Context | None = None) -> str:
    """The sentence shown next to `field` for an error of type `kind` (with its context), in t's language."""
    ctx = ctx or {}
    special = _SPECIAL.get(kind)
    if special is not None:
        return special(t, ctx)
    if kind == "string_pattern_mismatch":
        return t.gettext(_PATTERNS.get(field, _PATTERN_DEFAULT))
    numbers = _numbers(t, kind, ctx)
    if numbers is not None:
        return numbers
    template = _FIXED.get(kind) or _FAMILY.get(kind) or FALLBACK
    return t.gettext(template)
