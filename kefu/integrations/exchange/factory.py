"""Build the configured exchange provider; called once at startup, never at import time."""

from __future__ import annotations

from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.http import HttpExchange
from kefu.integrations.exchange.port import ExchangePort
from kefu.settings import Settings


def create_exchange(settings: Settings) -> ExchangePort:
    """The provider named by `exchange_provider`; "http" requires the URL, key and secret settings."""
    if settings.exchange_provider == "demo":
        return DemoExchange()
    missing = [
        name
        for name, value in (
            ("KEFU_EXCHANGE_API_URL", settings.exchange_api_url),
            ("KEFU_EXCHANGE_API_KEY", settings.exchange_api_key),
            ("KEFU_EXCHANGE_API_SECRET", settings.exchange_api_secret.get_secret_value()),
        )
        if not value
    ]
    if missing:
        raise ValueError("the http exchange provider needs " + ", ".join(missing))
    return HttpExchange(
        settings.exchange_api_url,
        settings.exchange_api_key,
        settings.exchange_api_secret,
        timeout=settings.exchange_api_timeout_seconds,
    )
