"""This process's channel adapters, one per social or phone channel, built from settings.

Each adapter module adds itself to `ADAPTER_BUILDERS` (channel → builder); a channel without a
builder has no adapter, and its replies are recorded as undeliverable on the timeline.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Final

from kefu.channels.adapter import ChannelAdapter
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings

AdapterBuilder = Callable[[Settings], ChannelAdapter]

# "module:function" of each channel's builder, imported when the runtime is built.
ADAPTER_BUILDERS: Final[dict[ChannelKind, str]] = {
    ChannelKind.TELEGRAM: "kefu.channels.telegram.adapter:build",
    ChannelKind.MESSENGER: "kefu.channels.messenger.adapter:build",
    ChannelKind.X: "kefu.channels.x.adapter:build",
    ChannelKind.PHONE: "kefu.channels.phone.adapter:build",
}


def build_adapters(settings: Settings) -> dict[ChannelKind, ChannelAdapter]:
    """One adapter per registered channel."""
    adapters: dict[ChannelKind, ChannelAdapter] = {}
    for channel, path in ADAPTER_BUILDERS.items():
        module, _, function = path.partition(":")
        builder: AdapterBuilder = getattr(importlib.import_module(module), function)
        adapters[channel] = builder(settings)
    return adapters
