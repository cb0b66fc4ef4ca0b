"""Request-form fixtures: the demo exchange installed for validation, one that is down, a supervisor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.errors import ExchangeUnavailable
from kefu.integrations.exchange.schemas import Network, TradingPair
from kefu.request_forms.exchange_lists import clear_exchange_lists, install_exchange


class CountingExchange(DemoExchange):
    """The demo exchange, counting list calls (to see the cache at work)."""

    def __init__(self) -> None:
        super().__init__()
        self.pair_calls = 0
        self.network_calls = 0

    async def list_pairs(self) -> list[TradingPair]:
        self.pair_calls += 1
        return await super().list_pairs()

    async def list_networks(self) -> list[Network]:
        self.network_calls += 1
        return await super().list_networks()


class DownExchange(CountingExchange):
    """An exchange whose back office does not answer (what ExchangeUnavailable stands for)."""

    async def list_pairs(self) -> list[TradingPair]:
        self.pair_calls += 1
        raise ExchangeUnavailable("exchange timed out")

    async def list_networks(self) -> list[Network]:
        self.network_calls += 1
        raise ExchangeUnavailable("exchange timed out")


@pytest.fixture
def demo_exchange() -> Iterator[CountingExchange]:
    """The demo exchange installed as the one request forms consult (restored afterwards)."""
    exchange = CountingExchange()
    clear_exchange_lists()
    previous = install_exchange(exchange)
    yield exchange
    install_exchange(previous)
    clear_exchange_lists()


@pytest.fixture
def down_exchange() -> Iterator[DownExchange]:
    """An unavailable exchange installed for request forms (restored afterwards)."""
    exchange = DownExchange()
    clear_exchange_lists()
    previous = install_exchange(exchange)
    yield exchange
    install_exchange(previous)
    clear_exchange_lists()
