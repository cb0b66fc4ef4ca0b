"""SPF through pyspf and DKIM through dkimpy, with every DNS answer from the injected resolver."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kefu.mail.inbound.authn_checks import (
    MAX_DKIM_SIGNATURES,
    AuthResult,
    check_dkim,
    check_spf,
    spf_identity,
)
from kefu.mail.inbound.dns import StaticResolver
from tests.mail.inbound.authn_helpers import key_record, message, new_key, sign, sign_expiring

NOW = datetime.now(UTC)  # dkimpy checks t= against the wall clock, so signatures are made "now"


@cache
def key(name: str) -> rsa.RSAPrivateKey:
    return new_key()


async def spf(
    txt: dict[str, list[str]], ip: str, mail_from: str = "a@example.org", **tables: object
) -> AuthResult:
    resolver = StaticResolver(txt=txt, **tables)  # type: ignore[arg-type]
    return await check_spf(resolver, ip, "mx.example.org", mail_from)


@pytest.mark.parametrize(
    ("record", "ip", "expected"),
    [
        ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.1", AuthResult.PASS),
        ("v=spf1 ip4:192.0.2.0/24 -all", "198.51.100.1", AuthResult.FAIL),
        ("v=spf1 ip4:192.0.2.0/24 ~all", "198.51.100.1", AuthResult.SOFTFAIL),
        ("v=spf1 ip4:192.0.2.0/24 ?all", "198.51.100.1", AuthResult.NEUTRAL),
        ("v=spf1 ip6:2001:db8::/32 -all", "2001:db8::25", AuthResult.PASS),
        ("v=spf1 ip6:2001:db8::/32 -all", "[IPv6:2001:db8::25]", AuthResult.PASS),
        ("v=spf1 ip4:192.0.2.0/24 moo -all", "192.0.2.1", AuthResult.PERMERROR),
        ("not spf", "192.0.2.1", AuthResult.NONE),
    ],
)
async def test_spf_results(record: str, ip: str, expected: AuthResult) -> None:
    assert await spf({"example.org": [record]}, ip) is expected


async def test_spf_follows_include_a_mx_and_redirect() -> None:
    txt = {
        "example.org": ["v=spf1 include:_spf.esp.example a:web.example.org mx redirect=_spf.example.org"],
        "_spf.esp.example": ["v=spf1 ip4:203.0.113.0/28 -all"],
        "_spf.example.org": ["v=spf1 ip4:198.51.100.200 -all"],
    }
    a = {"web.example.org": ["192.0.2.80"], "mx1.example.org": ["192.0.2.25"]}
    mx = {"example.org": [(10, "mx1.example.org.")]}
    for ip, expected in [
        ("203.0.113.3", AuthResult.PASS),
        ("192.0.2.80", AuthResult.PASS),
        ("192.0.2.25", AuthResult.PASS),
        ("198.51.100.200", AuthResult.PASS),
        ("198.51.100.201", AuthResult.FAIL),
    ]:
        assert await spf(txt, ip, a=a, mx=mx) is expected, ip


async def test_spf_lookup_limits_are_enforced() -> None:
    chain = {f"l{i}.example.org": [f"v=spf1 include:l{i + 1}.example.org -all"] for i in range(15)}
    chain["example.org"] = ["v=spf1 include:l0.example.org -all"]
    resolver = StaticResolver(txt=chain)
    assert await check_spf(resolver, "192.0.2.1", None, "a@example.org") is AuthResult.PERMERROR
    assert len(resolver.queries) <= 12  # the 11th include is refused before it is asked

    void = {"example.org": ["v=spf1 a:x1.example.org a:x2.example.org a:x3.example.org -all"]}
    assert await spf(void, "192.0.2.1") is AuthResult.PERMERROR  # RFC 7208 4.6.4: two void lookups


async def test_spf_include_loop_is_a_permerror() -> None:
    txt = {"example.org": ["v=spf1 include:example.org -all"]}
    assert await spf(txt, "192.0.2.1") is AuthResult.PERMERROR


async def test_spf_temp_errors_anywhere_give_temperror() -> None:
    txt = {"example.org": ["v=spf1 include:_spf.esp.example -all"]}
    resolver = StaticResolver(txt=txt, temp_fail=["_spf.esp.example"])
    assert await check_spf(resolver, "192.0.2.1", None, "a@example.org") is AuthResult.TEMPERROR
    resolver = StaticResolver(temp_fail=["example.org"])
    assert await check_spf(resolver, "192.0.2.1", None, "a@example.org") is AuthResult.TEMPERROR


async def test_concurrent_spf_checks_use_their_own_resolver() -> None:
    one = StaticResolver(txt={"example.org": ["v=spf1 ip4:192.0.2.1 -all"]})
    two = StaticResolver(txt={"example.org": ["v=spf1 -all"]})
    results = await asyncio.gather(
        *[check_spf(r, "192.0.2.1", None, "a@example.org") for r in [one, two] * 5]
    )
    assert results == [AuthResult.PASS, AuthResult.FAIL] * 5


def test_spf_identity() -> None:
    assert spf_identity("mx.example.org", "<Bob@Example.ORG>") == "example.org"
    assert spf_identity("mx.example.org", "<>") == "mx.example.org"
    assert spf_identity(None, "") is None
    assert spf_identity("helo", "weird@кефу.рф") == "xn--e1aj2ad.xn--p1ai"


def _keys(*domains: str) -> StaticResolver:
    return StaticResolver(txt={f"k1._domainkey.{d}": [key_record(key(d))] for d in domains})


async def test_dkim_with_several_signatures_lists_every_passing_domain() -> None:
    raw = sign(
        sign(message("a@customer.org"), "customer.org", key("customer.org")),
        "esp.example",
        key("esp.example"),
    )
    assert await check_dkim(raw, _keys("customer.org", "esp.example"), now=NOW) == (
        AuthResult.PASS,
        ("esp.example", "customer.org"),
    )
    # One signature whose key is missing does not spoil the other.
    assert await check_dkim(raw, _keys("customer.org"), now=NOW) == (AuthResult.PASS, ("customer.org",))


async def test_dkim_failure_modes() -> None:
    raw = sign(message("a@customer.org"), "customer.org", key("customer.org"))
    assert await check_dkim(message("a@customer.org"), _keys(), now=NOW) == (AuthResult.NONE, ())
    assert await check_dkim(raw, _keys(), now=NOW) == (AuthResult.PERMERROR, ())  # no key published
    wrong = StaticResolver(txt={"k1._domainkey.customer.org": [key_record(key("other"))]})
    assert await check_dkim(raw, wrong, now=NOW) == (AuthResult.FAIL, ())
    revoked = StaticResolver(txt={"k1._domainkey.customer.org": ["v=DKIM1; p="]})
    assert await check_dkim(raw, revoked, now=NOW) == (AuthResult.FAIL, ())
    down = StaticResolver(temp_fail=["k1._domainkey.customer.org"])
    assert await check_dkim(raw, down, now=NOW) == (AuthResult.TEMPERROR, ())
    headers_changed = raw.replace(b"Subject: Your withdrawal", b"Subject: Our withdrawal")
    assert await check_dkim(headers_changed, _keys("customer.org"), now=NOW) == (AuthResult.FAIL, ())


async def test_dkim_expiry_is_judged_at_now() -> None:
    expires = int(time.time()) + 3600
    raw = sign_expiring(message("a@customer.org"), "customer.org", key("customer.org"), expires=expires)
    resolver = _keys("customer.org")
    assert await check_dkim(raw, resolver, now=NOW) == (AuthResult.PASS, ("customer.org",))
    later = NOW + timedelta(hours=2)
    assert await check_dkim(raw, resolver, now=later) == (AuthResult.FAIL, ())


@pytest.mark.parametrize(
    "signature",
    [
        b"v=1; a=rsa-sha256; d=customer.org; s=k1",  # missing tags
        b"v=1; a=rsa-md5; d=customer.org; s=k1; h=from; bh=AAAA; b=AAAA",
        b"v=1; a=rsa-sha256; d=cust omer.org; s=k1; h=from; bh=AAAA; b=AAAA",
        b"v=1; a=rsa-sha256; d=customer.org; s=../../x; h=from; bh=AAAA; b=AAAA",
        b"garbage",
    ],
)
async def test_malformed_signatures_are_permerrors(signature: bytes) -> None:
    raw = b"DKIM-Signature: " + signature + b"\r\n" + message("a@customer.org")
    assert await check_dkim(raw, _keys("customer.org"), now=NOW) == (AuthResult.PERMERROR, ())


async def test_a_well_formed_forged_signature_fails() -> None:
    forged = b"v=1; a=rsa-sha256; d=customer.org; s=k1; h=from; bh=AAAA; b=AAAA"
    raw = b"DKIM-Signature: " + forged + b"\r\n" + message("a@customer.org")
    assert await check_dkim(raw, _keys("customer.org"), now=NOW) == (AuthResult.FAIL, ())


async def test_only_the_first_signatures_are_checked() -> None:
    raw = message("a@customer.org")
    for _ in range(MAX_DKIM_SIGNATURES + 5):
        raw = sign(raw, "customer.org", key("customer.org"), selector="nokey")
    resolver = _keys("customer.org")
    assert await check_dkim(raw, resolver, now=NOW) == (AuthResult.PERMERROR, ())
    assert len(resolver.queries) == MAX_DKIM_SIGNATURES


async def test_only_a_signature_header_counts_as_signed() -> None:
    """Unsigned mail skips the verifier; a signature field anywhere among the headers, in any case,
    is still checked, and the words in a subject or body do not make a message signed."""
    plain = message("a@customer.org")
    mentioned = plain.replace(b"Subject: ", b"Subject: dkim-signature: missing? ", 1)
    assert await check_dkim(mentioned, _keys("customer.org"), now=NOW) == (AuthResult.NONE, ())
    in_body = plain + b"\r\nDKIM-Signature: v=1; garbage\r\n"
    assert await check_dkim(in_body, _keys("customer.org"), now=NOW) == (AuthResult.NONE, ())
    lower = plain.replace(b"\r\nSubject: ", b"\r\ndkim-signature : garbage\r\nSubject: ", 1)
    assert lower != plain
    assert await check_dkim(lower, _keys("customer.org"), now=NOW) == (AuthResult.PERMERROR, ())
