"""Structured logs: JSON in production, readable in development; request ids ride in contextvars."""

from __future__ import annotations

import logging
import sys

import structlog

from kefu.settings import Settings

# Keys whose values never reach a log line, whatever a caller passes.
_SECRET_PARTS = ("password", "token", "secret", "authorization", "cookie", "totp")
_SECRET_KEYS = frozenset({"code", "body", "otp"})


def _drop_secrets(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    for key in list(event_dict):
        lowered = key.lower()
        if lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_PARTS):
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(settings: Settings, *, cache_loggers: bool = True) -> None:
    """Configure structlog and the stdlib root logger once per process."""
    json_logs = settings.log_format == "json" or (
        settings.log_format == "auto" and settings.env == "production"
    )
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(
            colors=False,
            # Tracebacks without local variables: a hostile 2 MB field must not make logging a DoS.
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=cache_loggers,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    # httpx logs every request's full URL at INFO; providers put tokens in URLs (Telegram's path,
    # Graph API's access_token query), so only its warnings are kept.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
