"""Every Prometheus metric Kefu exports, in one registry of its own (docs/operations.md lists them).

Not prometheus_client's global registry: tests read values from this one without seeing anything a
library registered, and nothing here depends on import order. Label values always come from small,
fixed sets (route templates, job names, team slugs): never ids, addresses or raw paths.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.uow import after_commit

REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Web requests take milliseconds to a few seconds; uploads and reports may take longer.
_HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_JOB_BUCKETS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0)


def _kefu_version() -> str:
    try:
        return version("kefu")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "unknown"


BUILD_INFO: Final = Gauge(
    "kefu_build_info", "Always 1; the running Kefu version.", ["version"], registry=REGISTRY
)
BUILD_INFO.labels(version=_kefu_version()).set(1)

HTTP_REQUESTS: Final = Counter(
    "kefu_http_requests",
    "HTTP requests answered, by method, route template and status class.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION: Final = Histogram(
    "kefu_http_request_duration_seconds",
    "Time from the request's arrival until its response finished, by method, route and status class.",
    ["method", "route", "status"],
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)
HTTP_IN_FLIGHT: Final = Gauge(
    "kefu_http_requests_in_flight", "HTTP requests being handled right now.", registry=REGISTRY
)

WEBSOCKETS_OPEN: Final = Gauge(
    "kefu_websocket_connections",
    "WebSocket connections open right now, by kind (chat: customers' widget, console: agents).",
    ["kind"],
    registry=REGISTRY,
)
WEBSOCKETS_ACCEPTED: Final = Counter(
    "kefu_websocket_connections_accepted",
    "WebSocket connections accepted, by kind.",
    ["kind"],
    registry=REGISTRY,
)

CHAT_POSTS_REFUSED: Final = Counter(
    "kefu_chat_posts_refused_busy",
    "Customers' chat messages refused with `busy`: the node had its limit of posts in flight.",
    registry=REGISTRY,
)

OUTBOX_JOBS: Final = Counter(
    "kefu_outbox_jobs_finished",
    "Outbox job runs by job name and outcome (done, retry, dead, lost: another worker took it over).",
    ["job", "outcome"],
    registry=REGISTRY,
)
OUTBOX_JOB_DURATION: Final = Histogram(
    "kefu_outbox_job_duration_seconds",
    "Time one outbox job's handler ran, by job name.",
    ["job"],
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)

EMAIL_INBOUND: Final = Counter(
    "kefu_email_inbound",
    "Inbound messages by source (smtp, imap) and result (stored, duplicate).",
    ["source", "result"],
    registry=REGISTRY,
)
EMAIL_INBOUND_REJECTED: Final = Counter(
    "kefu_email_inbound_rejected",
    "Inbound SMTP transactions refused, by reason.",
    ["reason"],
    registry=REGISTRY,
)
EMAIL_OUTBOUND: Final = Counter(
    "kefu_email_outbound",
    "Outbound emails by template and result (sent, refused: permanent, deferred: retried later).",
    ["template", "result"],
    registry=REGISTRY,
)

SLA_BREACHES: Final = Counter(
    "kefu_sla_breaches",
    "SLA deadlines recorded as breached, by target (first_response, next_response, resolution).",
    ["target"],
    registry=REGISTRY,
)


def inc_on_commit(session: AsyncSession, counter: Counter, amount: float = 1.0, **labels: str) -> None:
    """Add `amount` to `counter` once `session` commits: a rolled-back change is never counted."""
    child = counter.labels(**labels) if labels else counter

    async def count() -> None:
        child.inc(amount)

    after_commit(session, count)


def status_class(status: int) -> str:
    """'2xx' for 204 and so on: a label with five values instead of sixty."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"
