"""The `webhook.deliver` job: POST one signed event to its endpoint and record the attempt.

2xx delivers. 410 Gone fails the delivery and disables the endpoint. 408, 429, 5xx, timeouts and
connection errors are retried through the outbox backoff (429's Retry-After is honoured). Any other
answer, and a URL the SSRF guard refuses, fails the delivery for good. Every attempt is recorded in
its own transaction, so a retried attempt (whose job transaction rolls back) is still on record.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.clock import utcnow
from kefu.db.uow import independent_transaction
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError, RetryAfter
from kefu.settings import Settings
from kefu.storage.envelope import DecryptionFailed, Keyring
from kefu.webhooks.listeners import MAX_ATTEMPTS
from kefu.webhooks.models import EXCERPT_MAX, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from kefu.webhooks.netguard import NetGuard, UnsafeTarget
from kefu.webhooks.schemas import PING_EVENT
from kefu.webhooks.signing import open_secret, sign

log = structlog.get_logger(__name__)

USER_AGENT: Final = "Kefu-Webhooks/1"
MAX_REDIRECTS: Final = 3
EXCERPT_BYTES: Final = 2048
ATTEMPT_LOG_MAX: Final = 20
# An endpoint is disabled after this many deliveries in a row failed for good, or when its deliveries
# have been failing (no success at all) for this long.
DISABLE_AFTER_FAILED_DELIVERIES: Final = 20
DISABLE_AFTER_FAILING_FOR: Final = timedelta(days=3)
RETRY_AFTER_CAP: Final = 3600.0
# Webhook receivers are often down for longer than the outbox's own backoff (at most an hour a try)
# covers: waits are at least 30 s, doubling, capped at 6 hours; 16 tries span about a day and a half.
FIRST_RETRY_SECONDS: Final = 30.0
RETRY_FLOOR_CAP: Final = 6 * 3600.0
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


def build_guard(settings: Settings) -> NetGuard:
    """The SSRF guard of this process: https only in production, private networks only if allowed."""
    return NetGuard(
        allow_private=settings.webhook_allow_private_networks, require_https=settings.env == "production"
    )


@dataclass(frozen=True)
class Attempt:
    """What one POST came to."""

    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.status_code is None:
            return self.error is not None and not self.error.startswith("refused:")
        return self.status_code in (408, 429) or self.status_code >= 500


def _clean(text: str, limit: int = EXCERPT_MAX) -> str:
    # PostgreSQL cannot store NUL; the excerpt is for a person reading the delivery log.
    return text.replace("\x00", "")[:limit]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - utcnow()).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


async def _read_some(response: httpx.Response) -> str:
    data = b""
    # Raw bytes (we ask for identity encoding): a compressed answer is never inflated.
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return _clean(data[:EXCERPT_BYTES].decode("utf-8", errors="replace"))


async def post_signed(
    guard: NetGuard, url: str, body: bytes, headers: dict[str, str], *, limit_seconds: float
) -> Attempt:
    """POST `body` to `url` through `guard`, following up to 3 redirects (each hop vetted)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        current = guard.check_url(url)
        async with (
            asyncio.timeout(limit_seconds),
            httpx.AsyncClient(
                transport=guard.transport(), timeout=limit_seconds, follow_redirects=False, trust_env=False
            ) as client,
        ):
            for hop in range(MAX_REDIRECTS + 1):
                async with client.stream("POST", current, content=body, headers=headers) as response:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        if hop == MAX_REDIRECTS:
                            return Attempt(response.status_code, None, "refused: too many redirects", took())
                        current = guard.check_url(current.join(location))
                        continue
                    excerpt = await _read_some(response)
                    wait = _retry_after(response.headers.get("retry-after"))
                    return Attempt(response.status_code, excerpt, None, took(), wait)
    except UnsafeTarget as refused:
        return Attempt(None, None, _clean(f"refused: {refused.message}"), took())
    except (httpx.TimeoutException, TimeoutError):
        return Attempt(None, None, "timeout", took())
    except httpx.HTTPError as exc:
        return Attempt(None, None, _clean(f"{type(exc).__name__}: {exc}"), took())
    return Attempt(None, None, "refused: too many redirects", took())  # pragma: no cover


def request_headers(secret: str, event_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers of a delivery: id (stable across retries), timestamp, signature."""
    return {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "user-agent": USER_AGENT,
        "kefu-webhook-id": event_id,
        "kefu-webhook-timestamp": str(timestamp),
        "kefu-signature": sign(secret, timestamp, body),
    }


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes signed and sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.is_active = False
    endpoint.disabled_reason = reason[:200]
    log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint.id), reason=reason)


async def record_attempt(
    session: AsyncSession, delivery_id: uuid.UUID, attempt: Attempt | None, *, final: bool, note: str = ""
) -> None:
    """Store an attempt's outcome on the delivery and the endpoint's failure counters (in `session`).

    `final` marks a failed delivery that will not be retried; `attempt` None records `note` only.
    """
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        return
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
    now = utcnow()
    if attempt is not None:
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_status = attempt.status_code
        delivery.response_excerpt = attempt.excerpt
        delivery.error = attempt.error
        delivery.duration_ms = attempt.duration_ms
        entry = {
            "at": now.isoformat(),
            "status_code": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "error": attempt.error,
        }
        delivery.attempt_log = [*delivery.attempt_log, entry][-ATTEMPT_LOG_MAX:]
    else:
        delivery.error = _clean(note)
    if attempt is not None and attempt.delivered:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        if endpoint is not None:
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
        return
    if final:
        delivery.status = DeliveryStatus.FAILED.value
    if endpoint is None or attempt is None:
        return
    endpoint.failing_since = endpoint.failing_since or now
    if final:
        endpoint.consecutive_failures += 1
    if not endpoint.is_active:
        return
    if attempt.status_code == 410:
        _disable(endpoint, "the receiver answered 410 Gone")
    elif endpoint.consecutive_failures >= DISABLE_AFTER_FAILED_DELIVERIES:
        _disable(endpoint, f"{endpoint.consecutive_failures} deliveries in a row failed")
    elif _since(endpoint.failing_since) >= DISABLE_AFTER_FAILING_FOR:
        _disable(endpoint, f"deliveries failed for {DISABLE_AFTER_FAILING_FOR.days} days")


def _since(moment: datetime) -> timedelta:
    return utcnow() - moment


def retry_floor(attempt: int, first: float = FIRST_RETRY_SECONDS) -> float:
    """The least wait after failed attempt `attempt` (1-based): `first`, doubling, at most 6 hours."""
    doublings: int = min(max(attempt - 1, 0), 30)
    return float(min(first * (1 << doublings), RETRY_FLOOR_CAP))


def bind_deliver(
    settings: Settings,
    keyring: Keyring,
    guard: NetGuard | None = None,
    *,
    first_retry_seconds: float = FIRST_RETRY_SECONDS,
) -> JobHandler:
    """The `webhook.deliver` handler (its guard and retry schedule injectable for tests)."""
    guard = guard or build_guard(settings)
    limit = settings.webhook_timeout_seconds

    async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            delivery_id = uuid.UUID(str(payload["delivery_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"malformed webhook.deliver payload: {exc}") from exc
        delivery = await ctx.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
            return
        endpoint = await ctx.session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None:
            return
        # Every outcome is recorded in its own transaction: the job's rolls back when it retries.
        # A ping goes even to a disabled endpoint: it is how an admin checks a fixed receiver.
        if not endpoint.is_active and delivery.event_name != PING_EVENT:
            async with independent_transaction(ctx.session) as own:
                await record_attempt(own, delivery_id, None, final=True, note="the endpoint is disabled")
            return
        try:
            secret = open_secret(keyring, endpoint.id, endpoint.secret_sealed)
        except DecryptionFailed:
            async with independent_transaction(ctx.session) as own:
                await record_attempt(
                    own, delivery_id, None, final=True, note="the signing secret does not open"
                )
            return
        body = encode_body(delivery.body)
        headers = request_headers(secret, delivery.event_id, body, int(utcnow().timestamp()))
        attempt = await post_signed(guard, endpoint.url, body, headers, limit_seconds=limit)
        retry = not attempt.delivered and attempt.retryable and ctx.attempt < MAX_ATTEMPTS
        async with independent_transaction(ctx.session) as own:
            await record_attempt(own, delivery_id, attempt, final=not attempt.delivered and not retry)
        log.info(
            "webhook_attempt",
            delivery_id=str(delivery_id),
            endpoint_id=str(endpoint.id),
            status_code=attempt.status_code,
            error=attempt.error,
            attempt=ctx.attempt,
        )
        if retry:
            reason = attempt.error or f"HTTP {attempt.status_code}"
            wait = max(attempt.retry_after or 0.0, retry_floor(ctx.attempt, first_retry_seconds))
            raise RetryAfter(wait, f"webhook not delivered: {reason}")

    return deliver
