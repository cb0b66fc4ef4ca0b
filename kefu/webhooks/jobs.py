"""Outbox jobs of outbound webhooks: delivery (bound to the process's settings and keys) and pruning."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import delete

from kefu.core.clock import utcnow
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobContext, JobHandler
from kefu.trust.keys import keyring_from_settings
from kefu.webhooks import listeners
from kefu.webhooks.delivery import bind_deliver
from kefu.webhooks.models import DeliveryStatus, WebhookDelivery

if TYPE_CHECKING:
    from kefu.runtime import Runtime

WEBHOOK_PRUNE: Final = "webhook.prune"
# Finished deliveries (and their response excerpts) are kept this long for the delivery log.
KEEP_DELIVERIES: Final = timedelta(days=30)


async def prune_deliveries(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Delete finished deliveries older than KEEP_DELIVERIES."""
    del payload
    await ctx.session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.created_at < utcnow() - KEEP_DELIVERIES,
            WebhookDelivery.status != DeliveryStatus.PENDING.value,
        )
    )


HANDLERS: dict[str, JobHandler] = {WEBHOOK_PRUNE: prune_deliveries}
PERIODIC: tuple[PeriodicTask, ...] = (PeriodicTask(WEBHOOK_PRUNE, timedelta(hours=6)),)


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """`webhook.deliver` with this process's settings and keys; also turns events into deliveries here."""
    listeners.install()
    return {
        listeners.WEBHOOK_DELIVER: bind_deliver(runtime.settings, keyring_from_settings(runtime.settings))
    }
