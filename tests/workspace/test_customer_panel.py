"""The customer panel: identities, other conversations (visibility applied), exchange data best effort."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import update

from kefu.contacts.models import IdentityKind
from kefu.conversations.models import Conversation
from kefu.conversations.states import Category
from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.demo_data import ALICE
from kefu.integrations.exchange.errors import ExchangeUnavailable
from kefu.integrations.exchange.schemas import Account, Order
from kefu.workspace import customer_panel
from kefu.workspace.customer_panel import CustomerPanel, get_customer_panel
from tests.workspace.conftest import World


async def _panel(world: World, who: str, name: str, exchange: DemoExchange | None) -> CustomerPanel:
    async with world.db.sessionmaker() as session:
        conversation = await session.get(Conversation, world.ids[name])
        assert conversation is not None
        return await get_customer_panel(session, world.staff[who].actor, conversation, exchange)


async def _set_form(world: World, name: str, category: Category, form: dict[str, str]) -> None:
    async with world.db.sessionmaker() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == world.ids[name])
            .values(category=category, form_fields=form)
        )
        await session.commit()


async def test_identities_and_other_visible_conversations(world: World) -> None:
    panel = await _panel(world, "me", "mine_open", None)
    assert panel.name == "Alice"
    assert {(i.kind, i.value) for i in panel.identities} == {
        (IdentityKind.EMAIL, "alice@example.com"),
        (IdentityKind.EXCHANGE_UID, ALICE),
    }
    assert panel.exchange_uid == ALICE
    others = {world.name_of(row.reference) for row in panel.other_conversations}
    assert "mine_open" not in others
    assert {"closed", "secret_mine"} <= others
    assert not {"secret", "secret_new"} & others  # the private team's, invisible to "me"
    insider_view = await _panel(world, "insider", "mine_open", None)
    assert {"secret", "secret_new"} <= {world.name_of(r.reference) for r in insider_view.other_conversations}
    assert panel.account is None
    assert panel.exchange_error is None


async def test_trading_panel_shows_the_order_and_recent_orders(world: World) -> None:
    exchange = DemoExchange()
    order = (await exchange.recent_orders(ALICE, limit=1))[0]
    await _set_form(world, "trading", Category.TRADING, {"order_id": order.order_id})
    panel = await _panel(world, "me", "trading", exchange)
    assert panel.exchange_error is None
    assert panel.account is not None
    assert panel.account.uid == ALICE
    assert panel.order == order
    assert panel.foreign_reference is False
    assert 0 < len(panel.recent_orders) <= 5
    assert panel.recent_deposits == []


async def test_deposit_panel_finds_the_transaction(world: World) -> None:
    exchange = DemoExchange()
    deposit = next(d for d in await exchange.recent_deposits(ALICE, limit=20) if d.tx_hash)
    assert deposit.tx_hash is not None
    await _set_form(world, "mine_open", Category.DEPOSIT, {"tx_hash": deposit.tx_hash})
    panel = await _panel(world, "me", "mine_open", exchange)
    assert panel.transaction == deposit
    assert panel.recent_deposits
    assert panel.recent_orders == []


async def test_a_reference_of_another_account_is_flagged(world: World) -> None:
    # Bob's contact has no exchange uid: an order of Alice's named in his form is someone else's.
    exchange = DemoExchange()
    order = (await exchange.recent_orders(ALICE, limit=1))[0]
    await _set_form(world, "team_hold", Category.TRADING, {"order_id": order.order_id})
    panel = await _panel(world, "colleague", "team_hold", exchange)
    assert panel.order == order
    assert panel.foreign_reference is True
    assert panel.account is None  # never looked up from a claimed uid


class _Broken(DemoExchange):
    async def get_order(self, order_id: str) -> Order | None:
        raise ExchangeUnavailable("the exchange is down for maintenance")


class _Slow(DemoExchange):
    async def find_account(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Account | None:
        await asyncio.sleep(10)
        return None


class _Buggy(DemoExchange):
    async def recent_orders(self, uid: str, *, limit: int = 20, pair: str | None = None) -> list[Order]:
        raise RuntimeError("provider bug")


@pytest.mark.parametrize(
    ("exchange", "message"),
    [
        (_Broken(), "the exchange is down for maintenance"),
        (_Slow(), "the exchange did not answer in time"),
        (_Buggy(), "the exchange lookup failed"),
    ],
)
async def test_exchange_failures_leave_a_usable_panel(
    world: World, exchange: DemoExchange, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customer_panel, "EXCHANGE_TIMEOUT_SECONDS", 0.2)
    await _set_form(world, "trading", Category.TRADING, {"order_id": "8800000001"})
    panel = await _panel(world, "me", "trading", exchange)
    assert panel.exchange_error == message
    assert panel.identities  # the database part is intact
    assert panel.contact_id == world.contacts["alice"]
    if isinstance(exchange, _Buggy):
        assert panel.account is not None  # the calls that answered still show


async def test_missing_contact_identities_are_fine(world: World) -> None:
    panel = await _panel(world, "boss", "team_hold", DemoExchange())
    assert panel.exchange_uid is None
    assert panel.account is None
    assert isinstance(panel.contact_id, uuid.UUID)
