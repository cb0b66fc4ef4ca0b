"""The fixed set of components a status page reports on, and their names in each language.

Keys are strings ("trading", "login", "deposits:TRC20", "withdrawals:ERC20") so incidents can name
a network the exchange has not listed (or while the exchange is down); the pattern bounds them.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import structlog

from kefu.i18n import N_, get_translator
from kefu.integrations.exchange.port import ExchangePort

log = structlog.get_logger(__name__)


class ComponentKind(StrEnum):
    TRADING = "trading"
    LOGIN = "login"
    DEPOSITS = "deposits"
    WITHDRAWALS = "withdrawals"


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"


# Same network syntax as the exchange port (kefu.integrations.exchange.schemas.NetworkName).
COMPONENT_PATTERN: Final = re.compile(r"(trading|login|(deposits|withdrawals):[A-Za-z0-9_\-]{1,32})")
PER_NETWORK: Final = (ComponentKind.DEPOSITS, ComponentKind.WITHDRAWALS)
MAX_COMPONENTS: Final = 50


_NAMES: Final = {
    ComponentKind.TRADING: N_("Trading"),
    ComponentKind.LOGIN: N_("Login"),
    # Translators: %(network)s is a blockchain network such as TRC20 or ERC20.
    ComponentKind.DEPOSITS: N_("Deposits (%(network)s)"),
    ComponentKind.WITHDRAWALS: N_("Withdrawals (%(network)s)"),
}


@dataclass(frozen=True, order=True)
class Component:
    kind: ComponentKind
    network: str | None = None

    @property
    def key(self) -> str:
        return self.kind.value if self.network is None else f"{self.kind.value}:{self.network}"


def parse_component(key: str) -> Component:
    """The component named by `key`; ValueError when it does not match the documented pattern."""
    if not isinstance(key, str) or not COMPONENT_PATTERN.fullmatch(key):
        raise ValueError(f"unknown component {key[:60]!r}" if isinstance(key, str) else "not a component")
    kind, _, network = key.partition(":")
    return Component(ComponentKind(kind), network or None)


def component_name(key: str, locale: str) -> str:
    """The display name of a component key in `locale` (a supported locale)."""
    component = parse_component(key)
    t = get_translator(locale)
    if component.network is None:
        return t.gettext(_NAMES[component.kind])
    return t.gettext(_NAMES[component.kind], network=component.network)


def component_keys(networks: list[str] | tuple[str, ...]) -> list[str]:
    """Every component: trading, login, then deposits and withdrawals for each network (sorted)."""
    keys = [ComponentKind.TRADING.value, ComponentKind.LOGIN.value]
    for network in sorted(set(networks)):
        for kind in PER_NETWORK:
            key = f"{kind.value}:{network}"
            if COMPONENT_PATTERN.fullmatch(key):
                keys.append(key)
    return keys


_NETWORK_CACHE_SECONDS: Final = 300.0
_network_cache: dict[int, tuple[float, tuple[str, ...]]] = {}


async def known_networks(exchange: ExchangePort, *, wait_seconds: float = 2.0) -> tuple[str, ...]:
    """The exchange's networks, cached for a few minutes; empty (never an error) while it is down."""
    now = time.monotonic()
    cached = _network_cache.get(id(exchange))
    if cached is not None and now - cached[0] < _NETWORK_CACHE_SECONDS:
        return cached[1]
    try:
        async with asyncio.timeout(wait_seconds):
            networks = tuple(sorted({n.network for n in await exchange.list_networks()}))
    except Exception:  # the status page must render whatever the exchange does
        log.warning("status_networks_unavailable", exc_info=True)
        return cached[1] if cached is not None else ()
    _network_cache[id(exchange)] = (now, networks)
    return networks
