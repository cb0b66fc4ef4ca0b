"""Checking one answer with the request forms' validators: shapes per network, pairs, admin fields."""

from __future__ import annotations

import pytest

from kefu.auth.roles import Role
from kefu.chat.bot.fields import PLANS, check_answer, missing_fields
from kefu.conversations.forms import FORMS
from kefu.conversations.states import Category
from kefu.db.uow import transaction
from kefu.i18n import get_translator
from kefu.integrations.exchange.demo import DemoExchange
from kefu.request_forms.actions import do_create_field
from kefu.request_forms.messages import field_message
from kefu.request_forms.schemas import FieldCreate
from kefu.search.normalize import is_chinese
from tests.conftest import Database
from tests.factories import make_agent
from tests.request_forms.conftest import DownExchange

EVM_HASH = "0x" + "ab" * 32
SOLANA_SIGNATURE = "5" * 87


def test_plans_name_built_in_fields_of_their_category() -> None:
    for category, names in PLANS.items():
        assert set(names) <= set(FORMS[category].model_fields), category
    assert PLANS[Category.TRADING] == ("pair", "order_id", "occurred_at", "error_message")
    assert PLANS[Category.DEPOSIT] == PLANS[Category.WITHDRAWAL] == ("asset", "network", "tx_hash")


def test_missing_fields() -> None:
    assert missing_fields(Category.DEPOSIT, {"asset": "USDT"}, ["network"]) == ["tx_hash"]
    assert missing_fields(Category.KYC, {}, []) == []
    assert missing_fields(None, {}, []) == []


@pytest.mark.parametrize(
    ("network", "answer", "ok"),
    [
        ("ERC20", EVM_HASH, True),
        ("BEP20", EVM_HASH.upper().replace("0X", "0x"), True),
        ("TRC20", EVM_HASH, False),
        ("TRC20", "ab" * 32, True),
        ("Solana", SOLANA_SIGNATURE, True),
        ("Solana", "ab" * 32, False),
        ("SomeNewChain", "ab" * 20, True),  # unknown networks get the generic shape
        ("SomeNewChain", "short", False),
    ],
)
async def test_tx_hash_is_judged_by_the_network_given(
    db: Database, network: str, answer: str, ok: bool
) -> None:
    async with db.sessionmaker() as session:
        checked = await check_answer(
            session,
            Category.WITHDRAWAL,
            {"asset": "USDT", "network": network},
            "tx_hash",
            answer,
            locale="en",
            exchange=None,
        )
    assert (checked.value == answer) is ok
    assert (checked.error is None) is ok


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_messages_are_the_validators_in_the_locale(db: Database, locale: str) -> None:
    t = get_translator(locale)
    async with db.sessionmaker() as session:
        bad_hash = await check_answer(
            session, Category.DEPOSIT, {"network": "ERC20"}, "tx_hash", "123", locale=locale, exchange=None
        )
        bad_asset = await check_answer(
            session, Category.DEPOSIT, {}, "asset", "US-DT!", locale=locale, exchange=None
        )
        empty = await check_answer(
            session, Category.DEPOSIT, {}, "asset", "   ", locale=locale, exchange=None
        )
    assert bad_hash.error == field_message(
        t, "tx_hash", "kefu_tx_hash_format", {"rule": "hex64_0x", "network": "ERC20"}
    )
    assert bad_asset.error == field_message(t, "asset", "string_pattern_mismatch")
    assert empty.error == field_message(t, "asset", "missing")
    if locale == "zh-CN":
        assert is_chinese(bad_hash.error or "")


async def test_pairs_are_looked_up_on_the_exchange_unless_it_is_down(db: Database) -> None:
    async with db.sessionmaker() as session:
        listed = await check_answer(
            session, Category.TRADING, {}, "pair", "eth / btc", locale="en", exchange=DemoExchange()
        )
        unlisted = await check_answer(
            session, Category.TRADING, {}, "pair", "PEPE/USDT", locale="en", exchange=DemoExchange()
        )
        down = await check_answer(
            session, Category.TRADING, {}, "pair", "PEPE/USDT", locale="en", exchange=DownExchange()
        )
        shapeless = await check_answer(
            session, Category.TRADING, {}, "pair", "BTCUSDT", locale="en", exchange=DownExchange()
        )
    assert listed.value == "ETH/BTC"
    assert unlisted.error == field_message(get_translator("en"), "pair", "kefu_pair_unknown")
    assert down.value == "PEPE/USDT"  # a dead exchange never blocks a customer
    assert shapeless.error == field_message(get_translator("en"), "pair", "kefu_pair_format")


async def test_a_required_admin_field_does_not_block_the_bots_answers(db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    async with transaction(db.sessionmaker) as session:
        await do_create_field(
            session,
            boss.actor,
            FieldCreate.model_validate(
                {
                    "category": "deposit",
                    "name": "wallet_app",
                    "kind": "text",
                    "required": True,
                    "label_en": "App",
                }
            ),
        )
    async with db.sessionmaker() as session:
        good = await check_answer(session, Category.DEPOSIT, {}, "asset", "usdt", locale="en", exchange=None)
        bad = await check_answer(session, Category.DEPOSIT, {}, "asset", "u$dt", locale="en", exchange=None)
    assert good.value == "USDT"
    assert bad.error == field_message(get_translator("en"), "asset", "string_pattern_mismatch")


async def test_times_need_a_zone_and_are_stored_in_iso_form(db: Database) -> None:
    t = get_translator("en")
    async with db.sessionmaker() as session:
        naive = await check_answer(
            session, Category.TRADING, {}, "occurred_at", "2026-01-31 14:30", locale="en", exchange=None
        )
        typed = await check_answer(
            session, Category.TRADING, {}, "occurred_at", "2026/1/31 14:30 UTC+8", locale="en", exchange=None
        )
        words = await check_answer(
            session, Category.TRADING, {}, "occurred_at", "yesterday at 3", locale="en", exchange=None
        )
    assert naive.error == field_message(t, "occurred_at", "kefu_time_zone_missing")
    assert typed.value == "2026-01-31T14:30:00+08:00"
    assert words.error is not None
    assert words.value is None
