"""Outbox job handlers of the social and phone channels (bound to the runtime's adapters)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kefu.channels.announce import CHANNEL_ANNOUNCE, bind_announce
from kefu.channels.delivery import CHANNEL_DELIVER, bind_deliver
from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobHandler
from kefu.trust.keys import keyring_from_settings

if TYPE_CHECKING:
    from kefu.runtime import Runtime

HANDLERS: dict[str, JobHandler] = {}
PERIODIC: tuple[PeriodicTask, ...] = ()


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """`channel.deliver` (this process's adapters, blobs and keys) and `channel.announce`."""
    keyring = keyring_from_settings(runtime.settings)
    return {
        CHANNEL_DELIVER: bind_deliver(runtime.channel_adapters, runtime.blobs, keyring),
        CHANNEL_ANNOUNCE: bind_announce(runtime.settings, keyring),
    }
