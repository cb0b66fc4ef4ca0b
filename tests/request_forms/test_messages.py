"""Every kind of form-field error gets a specific message, in English and in Chinese.

The messages go through the catalogs: the English ones are asserted word for word, the Chinese ones
are the zh-CN catalog's translation of the same msgid with the same values (and, where the catalog
has them, actually Chinese).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.states import Category
from kefu.core.clock import FrozenClock, set_clock
from kefu.core.errors import InvalidInput
from kefu.i18n import get_translator
from kefu.request_forms.messages import field_message, translator_for
from kefu.request_forms.validation import check_form_fields
from tests.request_forms.conftest import CountingExchange

HEX64 = "ab" * 32
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
CJK = re.compile(r"[\u4e00-\u9fff]")

# (category, raw form fields, field, English msgid, values)
CASES: list[tuple[Category, dict[str, Any], str, str, dict[str, object]]] = [
    (Category.DEPOSIT, {"network": "TRC20", "tx_hash": "0x" + HEX64}, "tx_hash",
     "Enter a transaction hash of 64 hexadecimal characters for %(network)s.", {"network": "TRC20"}),
    (Category.DEPOSIT, {"network": "bep-20", "tx_hash": HEX64}, "tx_hash",
     "Enter a transaction hash of 0x followed by 64 hexadecimal characters for %(network)s.",
     {"network": "BEP20"}),
    (Category.WITHDRAWAL, {"network": "SOL", "tx_hash": HEX64}, "tx_hash",
     "Enter a transaction signature of 87 or 88 base58 characters for %(network)s.", {"network": "Solana"}),
    (Category.DEPOSIT, {"network": "TON", "tx_hash": "0x" + HEX64}, "tx_hash",
     "Enter a transaction hash of 64 hexadecimal or 44 base64 characters for %(network)s.",
     {"network": "TON"}),
    (Category.DEPOSIT, {"tx_hash": "not a hash!"}, "tx_hash",
     "Enter the transaction hash (TxID) as your wallet shows it: 32 to 100 letters and digits.", {}),
    (Category.DEPOSIT, {"network": "ERC20", "address": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"}, "address",
     "Enter a %(network)s address: 0x followed by 40 hexadecimal characters.", {"network": "ERC20"}),
    (Category.DEPOSIT, {"network": "Tron", "address": "0x" + "ab" * 20}, "address",
     "Enter a %(network)s address: T followed by 33 letters and digits.", {"network": "TRC20"}),
    (Category.WITHDRAWAL, {"network": "BTC", "address": "0x" + "ab" * 20}, "address",
     "This is not a valid %(network)s address. Copy it exactly from your wallet.", {"network": "BTC"}),
    (Category.DEPOSIT, {"address": "<b>x</b>"}, "address",
     "Enter the address as your wallet shows it: 10 to 128 letters, digits or the characters : _ . -", {}),
    (Category.GENERAL, {"uid": "12 34"}, "uid",
     "Enter your UID: up to 64 letters, digits, dashes or underscores.", {}),
    (Category.TRADING, {"order_id": "a/b"}, "order_id",
     "Enter the ID exactly as shown: up to 64 letters, digits, dashes or underscores.", {}),
    (Category.DEPOSIT, {"asset": "US DT"}, "asset", "Enter the asset's symbol, for example USDT.", {}),
    (Category.DEPOSIT, {"network": "TRC20;drop"}, "network",
     "Enter the network's name, for example TRC20 or ERC20.", {}),
    (Category.TRADING, {"side": "hold"}, "side", "Choose one of the options.", {}),
    (Category.TRADING, {"pair": "BTCUSDT"}, "pair", "Enter a trading pair such as BTC/USDT.", {}),
    (Category.TRADING, {"occurred_at": "2026-01-31T12:00:00"}, "occurred_at",
     "Add your time zone to the date and time.", {}),
    (Category.SECURITY, {"occurred_at": "yesterday"}, "occurred_at",
     "Enter a date and time, for example 2026-01-31 12:00.", {}),
    (Category.DEPOSIT, {"amount": "-1"}, "amount", "Enter a number greater than %(limit)s.", {"limit": "0"}),
    (Category.DEPOSIT, {"amount": "lots"}, "amount", "Enter a number, for example 12.5.", {}),
    (Category.DEPOSIT, {"amount": "1." + "1" * 19}, "amount",
     "Enter at most %(max)s digits after the decimal point.", {"max": "18"}),
    (Category.KYC, {"kyc_level": "two"}, "kyc_level", "Enter a whole number.", {}),
    (Category.KYC, {"kyc_level": 9}, "kyc_level", "Enter a number of at most %(limit)s.", {"limit": "5"}),
    (Category.KYC, {"kyc_level": -1}, "kyc_level", "Enter a number of at least %(limit)s.", {"limit": "0"}),
    (Category.TRADING, {"error_message": "x" * 2001}, "error_message",
     "Use at most %(max)s characters.", {"max": "2000"}),
    (Category.TRADING, {"steps_taken": ["a"]}, "steps_taken", "Enter text here.", {}),
    (Category.GENERAL, {"password": "hunter2"}, "password", "This field is not part of this form.", {}),
    (Category.CALLBACK, {}, "phone", "This field is required.", {}),
    (Category.CALLBACK, {"phone": "13800138000"}, "phone",
     "Start the number with + and the country code, or choose your country or region.", {}),
    (Category.CALLBACK, {"phone_region": "CN", "phone": "12345"}, "phone",
     "Enter a valid phone number, for example +86 138 0013 8000.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "phone_region": "XX"}, "phone_region",
     "Choose a country or region from the list.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "window_from": "18:00", "window_to": "09:00",
                         "time_zone": "Asia/Shanghai"}, "window_to",
     "The end of the time window must be after its start.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "window_from": "09:00"}, "time_zone",
     "Choose your time zone, so we call you at the right time.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "time_zone": "Mars/Olympus"}, "time_zone",
     "Enter a time zone such as Asia/Shanghai or a UTC offset such as +08:00.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "preferred_date": "2026-03-01"}, "preferred_date",
     "Choose today or a later date.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "preferred_date": "2026-12-01"}, "preferred_date",
     "Choose a date at most %(days)s days ahead.", {"days": "60"}),
    (Category.CALLBACK, {"phone": "+8613800138000", "preferred_date": "soon"}, "preferred_date",
     "Enter a date, for example 2026-01-31.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "window_from": "25:61"}, "window_from",
     "Enter a time, for example 14:30.", {}),
    (Category.CALLBACK, {"phone": "+8613800138000", "language": "fr"}, "language",
     "Choose one of the options.", {}),
]  # fmt: skip


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    """A fixed "today" for the callback date checks."""
    clock = FrozenClock(NOW)
    previous = set_clock(clock)
    yield clock
    set_clock(previous)


def _in_catalog(msgid: str) -> bool:
    return get_translator("zh-CN").translations.gettext(msgid) != msgid


async def _errors(
    session: AsyncSession, category: Category, raw: dict[str, Any], locale: str
) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        await check_form_fields(session, category, raw, locale=locale)
    assert caught.value.fields is not None
    return caught.value.fields


@pytest.mark.parametrize(("category", "raw", "field", "msgid", "values"), CASES)
async def test_each_error_has_its_message_in_both_languages(
    session: AsyncSession,
    frozen: FrozenClock,
    category: Category,
    raw: dict[str, Any],
    field: str,
    msgid: str,
    values: dict[str, object],
) -> None:
    english = await _errors(session, category, raw, "en")
    assert english[f"form_fields.{field}"] == msgid % values
    chinese = await _errors(session, category, raw, "zh-CN")
    assert chinese.keys() == english.keys()  # the keys never change with the language
    expected = (
        get_translator("zh-CN").gettext(msgid, **values) if values else get_translator("zh-CN").gettext(msgid)
    )
    assert chinese[f"form_fields.{field}"] == expected
    if _in_catalog(msgid):
        assert CJK.search(chinese[f"form_fields.{field}"])


async def test_unknown_pair_in_both_languages(session: AsyncSession, demo_exchange: CountingExchange) -> None:
    msgid = "This is not a pair traded on this exchange. Check it, for example BTC/USDT."
    english = await _errors(session, Category.TRADING, {"pair": "DOGE/USDT"}, "en")
    assert english == {"form_fields.pair": msgid}
    chinese = await _errors(session, Category.TRADING, {"pair": "doge-usdt"}, "zh-CN")
    assert chinese == {"form_fields.pair": get_translator("zh-CN").gettext(msgid)}


@pytest.mark.parametrize("locale", [None, "", "fr", "zh-TW", "en-GB", "x" * 500, "<script>"])
async def test_other_locales_read_the_nearest_catalog(session: AsyncSession, locale: str | None) -> None:
    fields = await _errors(session, Category.GENERAL, {"uid": "1 2"}, locale or "")
    expected = translator_for(locale).gettext(
        "Enter your UID: up to 64 letters, digits, dashes or underscores."
    )
    assert fields == {"form_fields.uid": expected}
    assert translator_for("zh-TW").locale == "zh-CN"
    assert translator_for("fr").locale == "en"


@pytest.mark.skipif(
    not _in_catalog("Enter a transaction hash of 64 hexadecimal characters for %(network)s."),
    reason="the zh-CN catalog does not have the request-form messages yet",
)
def test_the_chinese_messages_read_naturally() -> None:
    t = get_translator("zh-CN")
    assert field_message(t, "tx_hash", "kefu_tx_hash_format", {"rule": "hex64", "network": "TRC20"}) == (
        "请输入 TRC20 网络的 64 位十六进制交易哈希。"
    )
    assert field_message(t, "pair", "kefu_pair_unknown") == "本交易所没有这个交易对，请检查，例如 BTC/USDT。"
    assert field_message(t, "phone", "missing") == "此项为必填项。"


def test_unknown_error_types_fall_back_to_a_translated_sentence() -> None:
    en = get_translator("en")
    assert field_message(en, "x", "some_future_pydantic_type") == "Please check this field."
    assert field_message(en, "tx_hash", "kefu_tx_hash_format", {"rule": "nonsense", "network": "X"}) == (
        "Enter the transaction hash (TxID) as your wallet shows it: 32 to 100 letters and digits."
    )
    assert field_message(en, "address", "kefu_address_format", {"rule": "evm"}) == (
        "Enter the address as your wallet shows it: 10 to 128 letters, digits or the characters : _ . -"
    )
    zh = get_translator("zh-CN")
    assert field_message(zh, "x", "some_future_pydantic_type") == "请检查此项。"
