"""Errors raised by every exchange provider; callers never see raw httpx or pydantic exceptions."""

from __future__ import annotations

from kefu.core.errors import KefuError

# Exchange messages are shown to agents; bound them so a broken peer cannot flood a page or a log.
_MAX_MESSAGE = 300


def _clean(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return printable[:_MAX_MESSAGE]


class ExchangeError(KefuError):
    """The exchange answered something Kefu cannot use (bad JSON, schema mismatch, redirect)."""

    code = "exchange_error"
    status = 502


class ExchangeUnavailable(ExchangeError):
    """Timeouts, connection failures, 5xx or rate limiting, after the allowed retries."""

    code = "exchange_unavailable"
    status = 503


class ExchangeAuthError(ExchangeError):
    """The exchange refused Kefu's credentials: an operator problem, never the agent's."""

    code = "exchange_auth_failed"
    status = 502


class ExchangeRejected(ExchangeError):
    """The exchange refused the request (4xx) with its own `exchange_code` and message."""

    code = "exchange_rejected"
    status = 422

    def __init__(self, exchange_code: str, message: str, *, http_status: int = 422) -> None:
        super().__init__(_clean(message))
        self.exchange_code = _clean(exchange_code)[:64]
        self.http_status = http_status
