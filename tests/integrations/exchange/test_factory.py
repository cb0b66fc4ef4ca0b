"""The factory builds the configured provider and refuses incomplete or unsafe settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.factory import create_exchange
from kefu.integrations.exchange.http import HttpExchange
from kefu.settings import Settings


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


async def test_demo_is_the_default() -> None:
    exchange = create_exchange(_settings())
    assert isinstance(exchange, DemoExchange)
    assert await exchange.find_account(uid="10000001") is not None


async def test_http_provider() -> None:
    exchange = create_exchange(
        _settings(exchange_provider="http", exchange_api_url="https://backoffice.example.com/kefu",
                  exchange_api_key="k", exchange_api_secret=SecretStr("s" * 32))
    )  # fmt: skip
    assert isinstance(exchange, HttpExchange)
    await exchange.aclose()


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"exchange_api_key": "k", "exchange_api_secret": SecretStr("s")}, "KEFU_EXCHANGE_API_URL"),
        (
            {"exchange_api_url": "https://backoffice.example.com", "exchange_api_secret": SecretStr("s")},
            "API_KEY",
        ),
        ({"exchange_api_url": "https://backoffice.example.com", "exchange_api_key": "k"}, "API_SECRET"),
    ],
)
def test_http_provider_needs_url_key_and_secret(values: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        create_exchange(_settings(exchange_provider="http", **values))


def test_http_provider_refuses_unsafe_url() -> None:
    with pytest.raises(ValueError, match="http"):
        create_exchange(
            _settings(exchange_provider="http", exchange_api_url="file:///etc/passwd", exchange_api_key="k",
                      exchange_api_secret=SecretStr("s"))
        )  # fmt: skip
