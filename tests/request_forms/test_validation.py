"""Validating requests: built-in schemas plus admin-added fields, pairs from the exchange, callbacks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.roles import Role
from kefu.conversations.states import Category
from kefu.core.clock import FrozenClock, set_clock
from kefu.core.errors import Conflict, InvalidInput
from kefu.db.uow import transaction
from kefu.request_forms import exchange_lists
from kefu.request_forms.actions import do_create_field, do_delete_field, do_update_field
from kefu.request_forms.models import FieldKind, RequestFormField
from kefu.request_forms.schemas import FieldCreate, FieldUpdate
from kefu.request_forms.service import ExtraField, get_active_fields
from kefu.request_forms.validation import _annotation, check_form_fields, refit_form_fields
from tests.conftest import Database
from tests.factories import StaffMember, make_agent
from tests.request_forms.conftest import CountingExchange, DownExchange

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    """A fixed "today" for the callback date checks."""
    clock = FrozenClock(NOW)
    previous = set_clock(clock)
    yield clock
    set_clock(previous)


@pytest.fixture
async def boss(db: Database) -> StaffMember:
    """A supervisor (who manages request forms)."""
    return await make_agent(db.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)


async def add_field(db: Database, boss: StaffMember, **fields: Any) -> RequestFormField:
    """Create a field through the action, committed."""
    async with transaction(db.sessionmaker) as session:
        return await do_create_field(session, boss.actor, FieldCreate.model_validate(fields))


async def invalid(session: AsyncSession, category: Category, raw: Any, locale: str = "en") -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        await check_form_fields(session, category, raw, locale=locale)
    return caught.value.fields or {}


# --- built-in forms --------------------------------------------------------------------------------


async def test_trading_form_keeps_steps_and_normalises_the_pair(
    session: AsyncSession, demo_exchange: CountingExchange
) -> None:
    values = await check_form_fields(
        session,
        Category.TRADING,
        {"pair": " eth_btc ", "steps_taken": "  Cancelled and placed it again.  ", "order_id": "ord-1"},
    )
    assert values == {"pair": "ETH/BTC", "steps_taken": "Cancelled and placed it again.", "order_id": "ord-1"}
    # A halted pair is still traded here (customers report problems with exactly those).
    assert (await check_form_fields(session, Category.TRADING, {"pair": "xrp/usdt"}))["pair"] == "XRP/USDT"


async def test_unknown_pairs_are_refused_with_other_errors(
    session: AsyncSession, demo_exchange: CountingExchange
) -> None:
    fields = await invalid(session, Category.TRADING, {"pair": "DOGE/USDT", "order_id": "no spaces!"})
    assert set(fields) == {"form_fields.pair", "form_fields.order_id"}
    assert "not a pair traded on this exchange" in fields["form_fields.pair"]
    # A malformed pair gets the shape message only.
    fields = await invalid(session, Category.TRADING, {"pair": "DOGEUSDT"})
    assert fields == {"form_fields.pair": "Enter a trading pair such as BTC/USDT."}


async def test_pairs_are_cached_for_a_few_minutes(
    session: AsyncSession, demo_exchange: CountingExchange
) -> None:
    now = [1000.0]
    previous = exchange_lists.use_clock(lambda: now[0])
    try:
        for pair in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
            await check_form_fields(session, Category.TRADING, {"pair": pair})
        assert demo_exchange.pair_calls == 1
        now[0] += exchange_lists.LIST_TTL_SECONDS + 1
        await check_form_fields(session, Category.TRADING, {"pair": "BTC/USDT"})
        assert demo_exchange.pair_calls == 2
    finally:
        exchange_lists.use_clock(previous)


async def test_pairs_are_accepted_while_the_exchange_is_down(
    session: AsyncSession, down_exchange: DownExchange
) -> None:
    now = [5000.0]
    previous = exchange_lists.use_clock(lambda: now[0])
    try:
        for _ in range(3):
            values = await check_form_fields(session, Category.TRADING, {"pair": "doge/usdt"})
            assert values == {"pair": "DOGE/USDT"}
        assert down_exchange.pair_calls == 1  # the failure is remembered briefly
        now[0] += exchange_lists.FAILURE_TTL_SECONDS + 1
        await check_form_fields(session, Category.TRADING, {"pair": "doge/usdt"})
        assert down_exchange.pair_calls == 2
    finally:
        exchange_lists.use_clock(previous)


async def test_pairs_are_accepted_without_an_exchange(session: AsyncSession) -> None:
    previous = exchange_lists.install_exchange(None)
    try:
        assert await check_form_fields(session, Category.TRADING, {"pair": "ABC/XYZ"}) == {"pair": "ABC/XYZ"}
    finally:
        exchange_lists.install_exchange(previous)


async def test_deposit_checks_hash_and_address_by_network(session: AsyncSession) -> None:
    good = {
        "asset": "usdt",
        "network": "TRC20",
        "amount": "12.50",
        "tx_hash": "ab" * 32,
        "address": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
        "memo": "",
    }
    values = await check_form_fields(session, Category.DEPOSIT, good)
    assert values["asset"] == "USDT"
    assert values["amount"] == "12.50"
    fields = await invalid(session, Category.DEPOSIT, good | {"network": "ERC20"})
    assert set(fields) == {"form_fields.tx_hash", "form_fields.address"}
    # An unknown network: the generic shapes only.
    assert await check_form_fields(session, Category.WITHDRAWAL, good | {"network": "Kaspa"})


@pytest.mark.parametrize("raw", [None, [], "text", 5, ["pair"]])
async def test_form_fields_must_be_an_object(session: AsyncSession, raw: Any) -> None:
    fields = await invalid(session, Category.GENERAL, raw)
    assert list(fields) == ["form_fields"]


# --- the callback form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ({"phone": "+86 138-0013-8000"}, {"phone": "+8613800138000"}),
        ({"phone_region": "cn", "phone": "138 0013 8000"}, {"phone_region": "CN", "phone": "+8613800138000"}),
        ({"phone_region": "SG", "phone": "6123 4567"}, {"phone_region": "SG", "phone": "+6561234567"}),
        (
            {
                "phone": "+1 650 253 0000",
                "preferred_date": "2026-03-09",  # yesterday in UTC is still today somewhere
                "window_from": "09:00",
                "window_to": "11:30",
                "time_zone": "America/Los_Angeles",
                "language": "en",
                "topic": "My withdrawal",
            },
            {
                "phone": "+16502530000",
                "preferred_date": "2026-03-09",
                "window_from": "09:00:00",
                "window_to": "11:30:00",
                "time_zone": "America/Los_Angeles",
                "language": "en",
                "topic": "My withdrawal",
            },
        ),
        ({"phone": "+8613800138000", "window_from": "20:00", "time_zone": "+8"}, None),
        ({"phone": "+8613800138000", "time_zone": "utc"}, {"phone": "+8613800138000", "time_zone": "UTC"}),
        ({"phone": "+8613800138000", "time_zone": "UTC+05:30"}, None),
    ],
)
async def test_valid_callbacks_are_normalised(
    session: AsyncSession, frozen: FrozenClock, raw: dict[str, Any], stored: dict[str, Any] | None
) -> None:
    values = await check_form_fields(session, Category.CALLBACK, raw)
    if stored is not None:
        assert values == stored
    if raw.get("time_zone") == "+8":
        assert values["time_zone"] == "+08:00"
    if raw.get("time_zone") == "UTC+05:30":
        assert values["time_zone"] == "+05:30"


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ({"phone": ""}, "phone"),
        ({"phone": "+86 123"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "+" + "9" * 39}, "phone"),
        ({"phone": "x" * 41}, "phone"),
        (
            {"phone": "+8613800138000", "window_from": "10:00", "window_to": "10:00", "time_zone": "UTC"},
            "window_to",
        ),
        ({"phone": "+8613800138000", "window_to": "10:00"}, "time_zone"),
        ({"phone": "+8613800138000", "time_zone": "+15:00"}, "time_zone"),
        ({"phone": "+8613800138000", "time_zone": "../../etc/passwd"}, "time_zone"),
        ({"phone": "+8613800138000", "preferred_date": "2026-03-08"}, "preferred_date"),
        ({"phone": "+8613800138000", "topic": "x" * 201}, "topic"),
    ],
)
async def test_invalid_callbacks_are_refused(
    session: AsyncSession, frozen: FrozenClock, raw: dict[str, Any], bad: str
) -> None:
    fields = await invalid(session, Category.CALLBACK, raw)
    assert f"form_fields.{bad}" in fields


# --- fields added by admins ------------------------------------------------------------------------


async def test_added_fields_validate_and_deactivated_ones_are_refused(
    db: Database, boss: StaffMember
) -> None:
    choices = [{"value": "spot", "label_en": "Spot"}, {"value": "futures", "label_zh": "合约"}]
    account = await add_field(
        db, boss, category="trading", name="account_type", kind="select", label_en="Account", label_zh="账户",
        required=True, choices=choices,
    )  # fmt: skip
    await add_field(db, boss, category="trading", name="leverage", kind="integer", label_en="Leverage")
    await add_field(db, boss, category="trading", name="fee_paid", kind="decimal", label_zh="手续费")
    await add_field(db, boss, category="trading", name="first_seen", kind="date", label_en="First seen")
    await add_field(db, boss, category="trading", name="seen_at", kind="datetime", label_en="Seen at")
    await add_field(db, boss, category="trading", name="agreed", kind="checkbox", label_en="I agree")
    await add_field(db, boss, category="trading", name="note", kind="text", label_en="Note", max_length=5)
    async with db.sessionmaker() as session:
        values = await check_form_fields(
            session,
            Category.TRADING,
            {
                "account_type": "futures",
                "leverage": "20",
                "fee_paid": "0.001",
                "first_seen": "2026-01-02",
                "seen_at": "2026-01-02T03:04:05+08:00",
                "agreed": True,
                "note": " hi ",
                "order_id": "o-1",
            },
        )
        assert values == {
            "account_type": "futures",
            "leverage": 20,
            "fee_paid": "0.001",
            "first_seen": "2026-01-02",
            "seen_at": "2026-01-02T03:04:05+08:00",
            "agreed": True,
            "note": "hi",
            "order_id": "o-1",
        }
        fields = await invalid(
            session,
            Category.TRADING,
            {"account_type": "margin", "leverage": "x", "seen_at": "2026-01-02T03:04:05", "note": "too long"},
        )
        assert fields == {
            "form_fields.account_type": "Choose one of the options.",
            "form_fields.leverage": "Enter a whole number.",
            "form_fields.seen_at": "Add your time zone to the date and time.",
            "form_fields.note": "Use at most 5 characters.",
        }
        assert await invalid(session, Category.TRADING, {}) == {
            "form_fields.account_type": "This field is required."
        }
        # Other categories do not have the field.
        assert await invalid(session, Category.DEPOSIT, {"account_type": "spot"}) == {
            "form_fields.account_type": "This field is not part of this form."
        }
    async with transaction(db.sessionmaker) as session:
        row = await session.get(RequestFormField, account.id)
        assert row is not None
        await do_update_field(session, boss.actor, row, FieldUpdate(active=False))
    async with db.sessionmaker() as session:
        assert await check_form_fields(session, Category.TRADING, {}) == {}
        assert "form_fields.account_type" in await invalid(
            session, Category.TRADING, {"account_type": "spot"}
        )
        assert [f.name for f in await get_active_fields(session, Category.TRADING)] == [
            "leverage", "fee_paid", "first_seen", "seen_at", "agreed", "note",
        ]  # fmt: skip


@pytest.mark.parametrize("name", ["pair", "order_id", "steps_taken", "uid", "model_config", "json", "copy"])
async def test_names_of_built_in_fields_are_refused(db: Database, boss: StaffMember, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await add_field(db, boss, category="trading", name=name, kind="text", label_en="X")
    assert caught.value.fields is not None
    assert "name" in caught.value.fields
    # The same name is free where the category has no such built-in field (unless reserved).
    if name == "pair":
        await add_field(db, boss, category="general", name=name, kind="text", label_en="Pair")


async def test_a_name_is_unique_per_category(db: Database, boss: StaffMember) -> None:
    await add_field(db, boss, category="kyc", name="document", kind="text", label_en="Document")
    with pytest.raises(Conflict):
        await add_field(db, boss, category="kyc", name="document", kind="textarea", label_en="Again")
    await add_field(db, boss, category="security", name="document", kind="text", label_en="Document")


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"kind": "select", "label_en": "A"}, "choices"),
        ({"kind": "select", "label_en": "A", "choices": [{"value": "a", "label_en": "A"}] * 2}, "choices"),
        ({"kind": "text", "label_en": "A", "choices": [{"value": "a", "label_en": "A"}]}, "choices"),
        ({"kind": "integer", "label_en": "A", "max_length": 5}, "max_length"),
        ({"kind": "text"}, "label_en"),
        ({"kind": "text", "label_en": "", "label_zh": ""}, "label_en"),
    ],
)
async def test_settings_must_fit_the_kind(
    db: Database, boss: StaffMember, fields: dict[str, Any], bad: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await add_field(db, boss, category="general", name="extra", **fields)
    assert caught.value.fields is not None
    assert bad in caught.value.fields


async def test_at_most_thirty_fields_per_category(db: Database, boss: StaffMember) -> None:
    for n in range(30):
        await add_field(db, boss, category="general", name=f"f{n:02d}", kind="checkbox", label_en=f"F{n}")
    with pytest.raises(InvalidInput):
        await add_field(db, boss, category="general", name="one_more", kind="checkbox", label_en="X")


async def test_deleting_a_field_keeps_nothing_but_its_stored_values(db: Database, boss: StaffMember) -> None:
    row = await add_field(db, boss, category="general", name="wallet", kind="text", label_en="Wallet")
    async with transaction(db.sessionmaker) as session:
        found = await session.get(RequestFormField, row.id)
        assert found is not None
        await do_delete_field(session, boss.actor, found)
    async with db.sessionmaker() as session:
        assert (await session.scalars(select(RequestFormField))).all() == []
        assert "form_fields.wallet" in await invalid(session, Category.GENERAL, {"wallet": "x"})


# --- moving a conversation to another category -----------------------------------------------------


async def test_refit_keeps_what_fits_the_new_category(db: Database, boss: StaffMember) -> None:
    await add_field(db, boss, category="callback", name="best_channel", kind="text", label_en="Channel")
    stored = {"uid": "u-1", "pair": "BTC/USDT", "tx_hash": "ab" * 32, "best_channel": "phone"}
    async with db.sessionmaker() as session:
        assert await refit_form_fields(session, Category.GENERAL, stored) == {"uid": "u-1"}
        # Nothing is required when an agent moves a conversation: no phone is needed here.
        assert await refit_form_fields(session, Category.CALLBACK, stored) == {"best_channel": "phone"}
        # Values that do not validate in the new form are dropped one by one, not all at once.
        moved = await refit_form_fields(
            session, Category.DEPOSIT, {"uid": "u-1", "network": "ERC20", "tx_hash": "ab" * 32}
        )
        assert moved == {"uid": "u-1", "network": "ERC20"}
        assert await refit_form_fields(session, Category.KYC, {}) == {}


async def test_field_kinds_are_all_covered() -> None:

    for kind in FieldKind:
        field = ExtraField(
            id=uuid.uuid4(), name="x", kind=kind, label_en="X", label_zh="", help_en="",
            help_zh="", required=False, max_length=None, choices=(), position=0,
        )  # fmt: skip
        assert _annotation(field) is not None
