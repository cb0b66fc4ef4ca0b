"""The SSRF guard refuses every non-public target, also after redirects and DNS changes."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from kefu.webhooks.delivery import Attempt, encode_body, post_signed, request_headers
from kefu.webhooks.netguard import NetGuard, UnsafeTarget, address_problem
from kefu.webhooks.signing import sign, verify
from tests.channels.standin_server import serve
from tests.webhooks.helpers import PUBLIC_IP, Receiver, connector_to, resolver_of

REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.3.4", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%2", "link-local"),
    ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
    ("0.0.0.0", "unspecified"),  # noqa: S104 - refused, not bound
    ("::", "unspecified"),
    ("0.1.2.3", "this-network"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "private"),
    ("255.255.255.255", "private"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"),
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("198.18.0.1", "private"),  # benchmarking
    ("192.0.2.1", "private"),  # documentation
]


@pytest.mark.parametrize(("address", "problem"), REFUSED_ADDRESSES)
def test_non_public_addresses_are_classified(address: str, problem: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "_problem"), REFUSED_ADDRESSES)
async def test_a_name_resolving_to_any_refused_address_is_refused(address: str, _problem: str) -> None:
    guard = NetGuard(resolver=resolver_of({"hooks.example.com": [PUBLIC_IP, address]}))
    with pytest.raises(UnsafeTarget, match="resolves to a"):
        await guard.check_target("https://hooks.example.com/in")


@pytest.mark.parametrize(
    "address",
    [a for a, _ in REFUSED_ADDRESSES if "%" not in a and ":" not in a] + ["[::1]", "[::ffff:127.0.0.1]"],
)
async def test_literal_addresses_are_refused_without_resolving(address: str) -> None:
    guard = NetGuard(resolver=resolver_of({}))
    with pytest.raises(UnsafeTarget):
        await guard.check_target(f"http://{address}:8080/in")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://hooks.example.com/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("https://user:pass@hooks.example.com/", "user name or password"),
        ("https://user@hooks.example.com/", "user name or password"),
        ("http://hooks.example.com:22/", "port"),
        ("http://hooks.example.com:25/", "port"),
        ("http://localhost/", "local or internal name"),
        ("http://LOCALHOST./", "local or internal name"),
        ("http://api.localhost:8080/", "local or internal name"),
        ("http://metadata.google.internal/computeMetadata/v1/", "local or internal name"),
        ("http://metadata/", "local or internal name"),
        ("http://printer.local/", "local or internal name"),
        ("http:///path-only", "no host"),
        ("http://exa mple.com/", "not valid|does not resolve"),
    ],
)
async def test_urls_of_a_refused_form(url: str, message: str) -> None:
    guard = NetGuard(resolver=resolver_of({"hooks.example.com": [PUBLIC_IP]}))
    with pytest.raises(UnsafeTarget, match=message):
        await guard.check_target(url)


async def test_unresolvable_names_and_https_only() -> None:
    guard = NetGuard(resolver=resolver_of({"hooks.example.com": [PUBLIC_IP]}), require_https=True)
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        await guard.check_target("https://nowhere.example.com/")
    with pytest.raises(UnsafeTarget, match="must use https"):
        await guard.check_target("http://hooks.example.com/")
    assert (
        str(await guard.check_target("https://hooks.example.com:8443/in"))
        == "https://hooks.example.com:8443/in"
    )


async def test_numeric_host_forms_are_resolved_and_refused() -> None:
    # The system resolver turns these into 127.0.0.1 (inet_aton forms) without any network.
    guard = NetGuard()
    for url in ("http://2130706433:8080/", "http://0x7f000001:8080/", "http://127.1:8080/"):
        with pytest.raises(UnsafeTarget, match="loopback"):
            await guard.check_target(url)


async def test_private_networks_allowed_only_when_configured() -> None:
    allowed = await NetGuard(allow_private=True).check_target("http://127.0.0.1:9999/x")
    assert str(allowed) == "http://127.0.0.1:9999/x"
    with pytest.raises(UnsafeTarget, match="loopback"):
        await NetGuard().check_target("http://127.0.0.1:9999/x")


async def _post(guard: NetGuard, url: str) -> Attempt:
    body = encode_body({"id": "e1", "event": "webhook.ping", "occurred_at": "now", "data": {}})
    return await post_signed(guard, url, body, request_headers("s", "e1", body, 0), limit_seconds=5)


async def test_a_redirect_to_a_private_address_is_refused_end_to_end() -> None:
    receiver = Receiver()
    async with serve(receiver.app()) as base:
        receiver.redirect_to = f"{base}/final"  # http://127.0.0.1:<port>/final
        guard = NetGuard(
            resolver=resolver_of({"hooks.example.com": [PUBLIC_IP]}), connector=connector_to(base)
        )
        attempt = await _post(guard, "http://hooks.example.com:8080/moved")
    assert [r.path for r in receiver.received] == ["/moved"]
    assert attempt.status_code is None
    assert attempt.error == "refused: the URL's host resolves to a loopback address"
    assert not attempt.retryable


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/",
        "file:///etc/passwd",
        "http://internal.example.com:8080/final",
    ],
)
async def test_redirects_to_metadata_and_internal_targets_are_refused(target: str) -> None:
    receiver = Receiver(redirect_to=target)
    async with serve(receiver.app()) as base:
        guard = NetGuard(
            resolver=resolver_of({"hooks.example.com": [PUBLIC_IP], "internal.example.com": ["10.1.2.3"]}),
            connector=connector_to(base),
        )
        attempt = await _post(guard, "http://hooks.example.com:8080/moved")
    assert len(receiver.received) == 1
    assert attempt.error is not None
    assert attempt.error.startswith("refused:")


async def test_redirects_between_public_hosts_are_followed_up_to_three() -> None:
    receiver = Receiver()
    async with serve(receiver.app()) as base:
        guard = NetGuard(
            resolver=resolver_of({"hooks.example.com": [PUBLIC_IP], "new.example.com": ["8.8.4.4"]}),
            connector=connector_to(base),
        )
        receiver.redirect_to = "http://new.example.com:8080/final"
        followed = await _post(guard, "http://hooks.example.com:8080/moved")
        receiver.redirect_to = "http://hooks.example.com:8080/moved"
        looping = await _post(guard, "http://hooks.example.com:8080/moved")
    assert followed.status_code == 200
    assert followed.excerpt == "answer 200"
    assert [r.path for r in receiver.received[:2]] == ["/moved", "/final"]
    assert looping.error == "refused: too many redirects"
    assert len(receiver.received) == 2 + 4


async def test_dns_rebinding_between_check_and_connect_cannot_win() -> None:
    answers = [[PUBLIC_IP], ["127.0.0.1"]]

    async def rebinding(host: str, port: int) -> list[str]:
        del host, port
        return answers.pop(0) if len(answers) > 1 else answers[0]

    receiver = Receiver()
    async with serve(receiver.app()) as base:
        guard = NetGuard(resolver=rebinding, connector=connector_to(base))
        await guard.check_target("http://hooks.example.com:8080/in")  # at subscription: public
        attempt = await _post(guard, "http://hooks.example.com:8080/in")  # at connect: loopback
    assert receiver.received == []
    assert attempt.error == "refused: the URL's host resolves to a loopback address"


async def test_connection_failures_are_retryable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    attempt = await _post(NetGuard(allow_private=True), f"http://127.0.0.1:{port}/in")
    assert attempt.status_code is None
    assert attempt.retryable


def test_signatures_verify_and_expire() -> None:
    body = b'{"id":"e1"}'
    header = sign("whsec_x", 1_700_000_000, body)
    assert header.startswith("v1=")
    assert verify("whsec_x", "1700000000", body, header, now=1_700_000_100)
    assert verify("whsec_x", "1700000000", body, f"v0=abc, {header}", now=1_700_000_000)
    assert not verify("whsec_x", "1700000000", body + b" ", header, now=1_700_000_000)
    assert not verify("whsec_y", "1700000000", body, header, now=1_700_000_000)
    assert not verify("whsec_x", "1700000000", body, header, now=1_700_000_301)
    assert not verify("whsec_x", "soon", body, header, now=1_700_000_000)
