"""The SSRF guard of outbound requests: only public addresses, checked again at connect time.

A URL is refused when its scheme is not http(s), it carries user:password@, its port is privileged
(below 1024) other than 80 and 443, or its host is a name reserved for local or cloud-internal use
(localhost, *.localhost, *.internal such as metadata.google.internal). Its host is then resolved and
refused when ANY address is not globally routable: loopback, RFC 1918 / unique-local, link-local (the
169.254.169.254 and fd00:ec2::254 metadata services), CGNAT, unspecified, multicast, reserved,
documentation, and the IPv4-mapped, -compatible, NAT64, 6to4 and Teredo forms of those.

The connection is made by `GuardedBackend`, which resolves and vets the host itself and connects to
the very address it vetted: a DNS answer that changes between a check and the connect (rebinding)
cannot win. TLS still verifies the certificate against the URL's host name. Redirects are followed
by the caller, one vetted hop at a time (see kefu.webhooks.delivery).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final

import httpcore
import httpx

from kefu.core.errors import KefuError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (textual IPs).
Resolver = Callable[[str, int], Awaitable[list[str]]]
# vetted IP, port -> where the socket really goes (tests serve a "public" address on 127.0.0.1).
Connector = Callable[[str, int], tuple[str, int]]

ALLOWED_PORTS_BELOW_1024: Final = frozenset({80, 443})
_RESERVED_NAMES: Final = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})
_RESERVED_SUFFIXES: Final = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK: Final = ipaddress.ip_network("0.0.0.0/8")
_IPV4_COMPATIBLE: Final = ipaddress.ip_network("::/96")
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL: Final = ipaddress.ip_network("64:ff9b:1::/48")


class UnsafeTarget(KefuError):
    """The URL, or an address its host resolves to, may not be reached from Kefu."""

    code = "unsafe_url"
    status = 422


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` may not be reached (a short class name), or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "link-local"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # Mapped, compatible, NAT64, 6to4 and Teredo forms reach the IPv4 address they carry.
            return address_problem(embedded)
        if ip in _NAT64_LOCAL:
            return "private"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared (CGNAT)"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK, "this-network"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (not ip.is_global, "not globally routable"),
    )
    for failed, problem in checks:
        if failed:
            return problem
    return None


def parse_address(text: str) -> IPAddress | None:
    """`text` as an IP address (brackets and an IPv6 zone allowed), or None when it is a name."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _reserved_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in _RESERVED_NAMES or name.endswith(_RESERVED_SUFFIXES)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (asynchronous getaddrinfo)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class NetGuard:
    """The rules one process applies to outbound URLs; `resolver` and `connector` are injectable."""

    allow_private: bool = False
    require_https: bool = False
    resolver: Resolver = system_resolver
    connector: Connector | None = None

    def check_url(self, url: str | httpx.URL) -> httpx.URL:
        """The parsed URL when its form is acceptable (scheme, no credentials, port, host name)."""
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise UnsafeTarget("the URL is not valid") from None
        if parsed.scheme not in ("http", "https"):
            raise UnsafeTarget("only http and https URLs are allowed")
        if self.require_https and parsed.scheme != "https":
            raise UnsafeTarget("the URL must use https")
        if parsed.userinfo:
            raise UnsafeTarget("the URL may not contain a user name or password")
        host = parsed.host
        if not host:
            raise UnsafeTarget("the URL has no host")
        port = parsed.port
        if port is not None and port < 1024 and port not in ALLOWED_PORTS_BELOW_1024:
            raise UnsafeTarget("the URL's port must be 80, 443 or 1024 and above")
        if not self.allow_private and parse_address(host) is None and _reserved_name(host):
            raise UnsafeTarget("the URL's host is a local or internal name")
        return parsed

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host` when every one of them may be reached; UnsafeTarget otherwise."""
        literal = parse_address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            if not self.allow_private and _reserved_name(host):
                raise UnsafeTarget("the URL's host is a local or internal name")
            try:
                addresses = await self.resolver(host, port)
            except OSError:
                raise UnsafeTarget("the URL's host name does not resolve") from None
            if not addresses:
                raise UnsafeTarget("the URL's host name does not resolve")
        if not self.allow_private:
            for text in addresses:
                ip = parse_address(text)
                problem = "not an address" if ip is None else address_problem(ip)
                if problem is not None:
                    raise UnsafeTarget(f"the URL's host resolves to a {problem} address")
        return addresses

    async def check_target(self, url: str | httpx.URL) -> httpx.URL:
        """`check_url`, then resolve and vet its host (what a subscription is checked with)."""
        parsed = self.check_url(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        await self.resolve(parsed.host, port)
        return parsed

    def transport(self, *, verify: bool = True) -> httpx.AsyncBaseTransport:
        """An httpx transport whose every connection goes through this guard (no proxies)."""
        return GuardedTransport(self, verify=verify)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the guard vetted, resolving each host name exactly once."""

    def __init__(self, guard: NetGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.resolve(host, port)
        last: Exception | None = None
        for address in addresses:
            target = self.guard.connector(address, port) if self.guard.connector else (address, port)
            try:
                return await self.inner.connect_tcp(
                    target[0],
                    target[1],
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeTarget("unix sockets are not reachable")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a `GuardedBackend` (and no environment proxies)."""

    def __init__(self, guard: NetGuard, *, verify: bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        # httpx builds its pool without a network backend; ours is the one that vets every connect.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=4, network_backend=GuardedBackend(guard)
        )
