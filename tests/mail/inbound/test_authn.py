"""verify_sender end to end: real DKIM signatures, SPF and DMARC served by a static resolver."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.mail.inbound import authn
from kefu.mail.inbound.authn import AuthResult, SenderVerdict, verify_sender
from kefu.mail.inbound.dns import StaticResolver
from tests.mail.inbound.authn_helpers import (
    ATTACKER_IP,
    FOREIGN_IP,
    OUR_IP,
    OURS,
    PARTNER_IP,
    message,
    new_key,
    sign,
    world,
)

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


@cache
def key(domain: str) -> rsa.RSAPrivateKey:
    """One key per signing domain, made once per run (RSA generation is slow)."""
    return new_key()


def keys(*domains: str) -> dict[str, rsa.RSAPrivateKey]:
    return {d: key(d) for d in domains}


async def check(
    raw: bytes,
    resolver: StaticResolver,
    *,
    ip: str | None,
    mail_from: str | None,
    helo: str | None = "mx.sender.example",
) -> SenderVerdict:
    return await verify_sender(
        raw, peer_ip=ip, helo=helo, mail_from=mail_from, our_domains=OURS, resolver=resolver, now=NOW
    )


async def test_our_own_mail_passes_everything() -> None:
    resolver = world(keys("kefu.io"))
    raw = sign(message("Kefu Support <support@kefu.io>"), "kefu.io", key("kefu.io"))
    verdict = await check(raw, resolver, ip=OUR_IP, mail_from="bounce@kefu.io")
    assert verdict.from_domain == "kefu.io"
    assert (verdict.spf, verdict.spf_domain) == (AuthResult.PASS, "kefu.io")
    assert (verdict.dkim, verdict.dkim_domains) == (AuthResult.PASS, ("kefu.io",))
    assert (verdict.dmarc, verdict.dmarc_policy) == (AuthResult.PASS, "reject")
    assert verdict.aligned
    assert verdict.claims_our_domain
    assert verdict.lookalike_of is None
    assert not verdict.phishing
    assert verdict.summary.startswith("ours, authenticated; from=kefu.io; spf=pass")


async def test_our_subdomain_is_aligned_by_dkim_alone_in_relaxed_mode() -> None:
    resolver = world(keys("notify.kefu.io"))
    raw = sign(message("Kefu <no-reply@notify.kefu.io>"), "notify.kefu.io", key("notify.kefu.io"))
    verdict = await check(raw, resolver, ip=FOREIGN_IP, mail_from="bounce@esp.example")
    assert verdict.spf is not AuthResult.PASS
    assert verdict.dkim is AuthResult.PASS
    assert verdict.aligned
    # notify.kefu.io has no _dmarc record: the organisational record's policy applies.
    assert (verdict.dmarc, verdict.dmarc_policy) == (AuthResult.PASS, "reject")
    assert not verdict.phishing


async def test_unaligned_dkim_and_failing_spf_fail_dmarc() -> None:
    resolver = world(keys("mailer.net"))
    raw = sign(message("Alice <alice@customer.org>"), "mailer.net", key("mailer.net"))
    verdict = await check(raw, resolver, ip=FOREIGN_IP, mail_from="alice@customer.org")
    assert (verdict.dkim, verdict.dkim_domains) == (AuthResult.PASS, ("mailer.net",))
    assert verdict.spf is AuthResult.FAIL
    assert (verdict.dmarc, verdict.dmarc_policy) == (AuthResult.FAIL, "none")
    assert not verdict.aligned
    assert not verdict.phishing  # not in our name: failing DMARC alone is the receiver's policy call


async def test_spf_alone_aligns_relaxed_but_not_strict() -> None:
    raw = message("Alice <alice@customer.org>")
    relaxed = await check(raw, world({}), ip=PARTNER_IP, mail_from="bounce@mail.customer.org")
    assert relaxed.dkim is AuthResult.NONE
    assert (relaxed.spf, relaxed.spf_domain) == (AuthResult.PASS, "mail.customer.org")
    assert relaxed.aligned
    assert relaxed.dmarc is AuthResult.PASS
    assert not relaxed.claims_our_domain
    assert not relaxed.phishing

    strict = world({}, txt={"_dmarc.customer.org": ["v=DMARC1; p=quarantine; aspf=s"]})
    verdict = await check(raw, strict, ip=PARTNER_IP, mail_from="bounce@mail.customer.org")
    assert verdict.spf is AuthResult.PASS
    assert not verdict.aligned
    assert (verdict.dmarc, verdict.dmarc_policy) == (AuthResult.FAIL, "quarantine")


async def test_body_tampered_after_signing_fails_dkim() -> None:
    resolver = world(keys("kefu.io"))
    raw = sign(message("Kefu Support <support@kefu.io>"), "kefu.io", key("kefu.io"))
    tampered = raw.replace(b"https://login.example/", b"https://evil.example/")
    assert tampered != raw
    verdict = await check(tampered, resolver, ip=FOREIGN_IP, mail_from="bounce@kefu.io")
    assert verdict.dkim is AuthResult.FAIL
    assert verdict.dkim_domains == ()
    assert verdict.dmarc is AuthResult.FAIL
    assert verdict.phishing


async def test_our_domain_from_a_foreign_ip_is_phishing() -> None:
    raw = message("Kefu Security <security@kefu.io>")
    verdict = await check(raw, world({}), ip=FOREIGN_IP, mail_from="security@kefu.io")
    assert verdict.spf is AuthResult.FAIL
    assert (verdict.dmarc, verdict.dmarc_policy) == (AuthResult.FAIL, "reject")
    assert verdict.claims_our_domain
    assert verdict.phishing
    assert verdict.lookalike_of is None
    assert verdict.summary.startswith("PHISHING: claims to be us, not authenticated as us")


async def test_our_domain_with_an_aligned_foreign_envelope_is_still_phishing() -> None:
    # SPF passes for the attacker's own envelope domain, but it is not ours.
    raw = message("Kefu <support@kefu.io>")
    verdict = await check(raw, world({}), ip=PARTNER_IP, mail_from="x@customer.org")
    assert verdict.spf is AuthResult.PASS
    assert not verdict.aligned
    assert verdict.phishing


@pytest.mark.parametrize(
    ("from_", "imitated"),
    [
        ("Kefu <support@xn--kfu-rdd.io>", "kefu.io"),  # Cyrillic е, as punycode on the wire
        ("Kefu Support <help@kefu-support.com>", "kefu.io"),  # brand in domain
        ("Demo Exchange <ops@dernoexchange.com>", "demoexchange.com"),  # rn for m
        ("Demo Exchange <ops@dem0exchange.com>", "demoexchange.com"),  # zero for o
    ],
)
async def test_lookalikes_are_phishing_even_with_valid_spf_and_dkim(from_: str, imitated: str) -> None:
    domain = from_.rpartition("@")[2].rstrip(">")
    resolver = world(keys(domain))
    raw = sign(message(from_), domain, key(domain))
    verdict = await check(raw, resolver, ip=ATTACKER_IP, mail_from=f"bounce@{domain}")
    assert verdict.from_domain == domain
    assert verdict.spf is AuthResult.PASS
    assert verdict.dkim is AuthResult.PASS
    assert verdict.dmarc is AuthResult.PASS
    assert verdict.aligned
    assert verdict.lookalike_of == imitated
    assert verdict.phishing
    assert verdict.summary.startswith(f"PHISHING: lookalike of {imitated}")


async def test_lookalike_in_raw_utf8_header_is_read_as_its_punycode() -> None:
    raw = message("x@kefu.io").replace(b"From: x@kefu.io", "From: Kefu <x@kеfu.io>".encode())
    verdict = await check(raw, world({}), ip=ATTACKER_IP, mail_from="bounce@xn--kfu-rdd.io")
    assert verdict.from_domain == "xn--kfu-rdd.io"
    assert verdict.lookalike_of == "kefu.io"
    assert verdict.phishing


@pytest.mark.parametrize(
    "from_",
    [
        "Kefu Support <x@gmail.com>",
        "KEFU 客服 <x@gmail.com>",
        "Kеfu Security <x@gmail.com>",  # Cyrillic е in the name
        '"support@kefu.io" <x@gmail.com>',
        "=?utf-8?b?S2VmdSBTdXBwb3J0?= <x@gmail.com>",  # "Kefu Support" encoded
    ],
)
async def test_display_name_spoof_is_phishing(from_: str) -> None:
    resolver = world(keys("gmail.com"))
    raw = sign(message(from_), "gmail.com", key("gmail.com"))
    verdict = await check(raw, resolver, ip="198.51.100.7", mail_from="x@gmail.com")
    assert verdict.from_domain == "gmail.com"
    assert verdict.aligned
    assert verdict.dmarc is AuthResult.PASS
    assert verdict.claims_our_domain
    assert verdict.lookalike_of is None
    assert verdict.phishing


@pytest.mark.parametrize(
    "from_",
    [
        "support@kefu.io <x@gmail.com>",  # parsers disagree on which address this is
        "Kefu <support@kefu.io>, Mallory <x@gmail.com>",  # two authors
    ],
)
async def test_a_second_address_in_from_cannot_borrow_our_domain(from_: str) -> None:
    resolver = world(keys("kefu.io", "gmail.com"))
    raw = sign(sign(message(from_), "gmail.com", key("gmail.com")), "kefu.io", key("kefu.io"))
    verdict = await check(raw, resolver, ip=OUR_IP, mail_from="bounce@kefu.io")
    assert verdict.claims_our_domain
    assert not verdict.aligned
    assert verdict.phishing


async def test_two_from_headers_are_never_aligned() -> None:
    resolver = world(keys("kefu.io"))
    raw = b"From: Kefu <support@kefu.io>\r\n" + message("Kefu <support@kefu.io>")
    verdict = await check(sign(raw, "kefu.io", key("kefu.io")), resolver, ip=OUR_IP, mail_from="b@kefu.io")
    assert not verdict.aligned
    assert verdict.phishing


async def test_display_name_lookalike_domain_is_phishing() -> None:
    raw = message("kefu-support.com Security <x@gmail.com>")
    verdict = await check(raw, world({}), ip="198.51.100.7", mail_from="x@gmail.com")
    assert verdict.lookalike_of == "kefu.io"
    assert verdict.phishing


async def test_unrelated_legitimate_sender_is_not_phishing() -> None:
    resolver = world(keys("customer.org"))
    raw = sign(message("Alice Chen <alice@customer.org>"), "customer.org", key("customer.org"))
    verdict = await check(raw, resolver, ip=PARTNER_IP, mail_from="alice@customer.org")
    assert verdict.aligned
    assert verdict.dmarc is AuthResult.PASS
    assert not verdict.claims_our_domain
    assert verdict.lookalike_of is None
    assert not verdict.phishing
    assert verdict.summary.startswith("from=customer.org; spf=pass")


async def test_gmail_subdomain_takes_the_organisational_sp_policy() -> None:
    raw = message("Bob <bob@news.gmail.com>")
    verdict = await check(raw, world({}), ip=FOREIGN_IP, mail_from="bob@news.gmail.com")
    assert verdict.dmarc_policy == "quarantine"  # sp= of gmail.com, not its p=none


async def test_temporary_dns_errors_policy() -> None:
    """TEMPERROR is never phishing by itself; mail in our name that cannot be verified is (fail closed)."""
    stranger = world(keys("customer.org"), temp_fail=["customer.org", "k1._domainkey.customer.org"])
    raw = sign(message("Alice <alice@customer.org>"), "customer.org", key("customer.org"))
    verdict = await check(raw, stranger, ip=PARTNER_IP, mail_from="alice@customer.org")
    assert (verdict.spf, verdict.dkim) == (AuthResult.TEMPERROR, AuthResult.TEMPERROR)
    assert verdict.dmarc is AuthResult.TEMPERROR
    assert not verdict.aligned
    assert not verdict.phishing

    ours = world(keys("kefu.io"), temp_fail=["kefu.io", "k1._domainkey.kefu.io", "_dmarc.kefu.io"])
    raw = sign(message("Kefu <support@kefu.io>"), "kefu.io", key("kefu.io"))
    verdict = await check(raw, ours, ip=OUR_IP, mail_from="bounce@kefu.io")
    assert (verdict.spf, verdict.dkim, verdict.dmarc) == (AuthResult.TEMPERROR,) * 3
    assert verdict.dmarc_policy is None
    assert verdict.phishing


async def test_dmarc_lookup_temperror_keeps_a_passing_alignment() -> None:
    resolver = world(keys("customer.org"), temp_fail=["_dmarc.customer.org"])
    raw = sign(message("Alice <alice@customer.org>"), "customer.org", key("customer.org"))
    verdict = await check(raw, resolver, ip=PARTNER_IP, mail_from="alice@customer.org")
    assert verdict.dmarc is AuthResult.TEMPERROR
    assert verdict.aligned
    assert not verdict.phishing


async def test_a_stalled_resolver_gives_temperror_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stalled(StaticResolver):
        async def txt(self, name: str) -> list[str]:
            await asyncio.sleep(30)
            return []

    for budget in ("SPF_BUDGET_SECONDS", "DKIM_BUDGET_SECONDS", "DMARC_BUDGET_SECONDS"):
        monkeypatch.setattr(authn, budget, 0.05)
    raw = sign(message("Kefu <support@kefu.io>"), "kefu.io", key("kefu.io"))
    async with asyncio.timeout(5):
        verdict = await check(raw, Stalled(), ip=OUR_IP, mail_from="bounce@kefu.io")
    assert (verdict.spf, verdict.dkim, verdict.dmarc) == (AuthResult.TEMPERROR,) * 3
    assert verdict.phishing


async def test_a_failing_check_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(StaticResolver):
        async def txt(self, name: str) -> list[str]:
            raise RuntimeError("resolver bug")

    raw = message("Alice <alice@customer.org>")
    verdict = await check(raw, Broken(), ip=PARTNER_IP, mail_from="alice@customer.org")
    assert (verdict.spf, verdict.dmarc) == (AuthResult.PERMERROR, AuthResult.PERMERROR)


async def test_missing_session_data_gives_none() -> None:
    raw = message("Alice <alice@customer.org>")
    for ip, mail_from, helo in [(None, "a@customer.org", None), ("not-an-ip", "a@customer.org", None)]:
        verdict = await check(raw, world({}), ip=ip, mail_from=mail_from, helo=helo)
        assert verdict.spf is AuthResult.NONE
    # The null sender (a bounce) is checked against the HELO name.
    bounce = await check(raw, world({}), ip=PARTNER_IP, mail_from="<>", helo="mail.customer.org")
    assert (bounce.spf, bounce.spf_domain) == (AuthResult.PASS, "mail.customer.org")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"From: \r\n\r\n",
        b"From: <>\r\n\r\n",
        b"From: @@@\r\nDKIM-Signature: v=1; a=rsa-sha256; d=; s=\r\n\r\nbody",
        b"DKIM-Signature: ;;;===\r\nFrom: a@b.c\r\n\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=kefu.io; s=k1; h=from; bh=AAAA; b=AAAA\r\n"
        b"From: a@kefu.io\r\n\r\nbody",
        b"From: =?bogus?q?=FF?= <a@b.c>\r\nFrom: =?utf-8?b?!!!?= <x@y>\r\n\r\n",
        b"From: " + b"a" * 100_000 + b"@kefu.io\r\n\r\n",
        b"From: " + b"<" * 5000 + b"x@kefu.io" + b">" * 5000 + b"\r\n\r\n",
        b"From: x@" + "κеfυ.іο".encode() + b"\r\n\r\n",
        b"From: x@[192.0.2.1]\r\nFrom: y@xn--\r\n\r\n",
        b"Received: x\r\n" * 5000 + b"From: a@customer.org\r\n\r\n",
    ],
)
async def test_malformed_mail_never_raises(raw: bytes) -> None:
    verdict = await check(raw, world({}), ip=OUR_IP, mail_from=None, helo=None)
    assert isinstance(verdict.dkim, AuthResult)
    json.dumps(verdict.as_json())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.one_of(
        st.binary(max_size=2_000),
        st.text(max_size=400).map(
            lambda t: ("From: " + t + "\r\nDKIM-Signature: " + t + "\r\n\r\n").encode()
        ),
    ),
    mail_from=st.one_of(st.none(), st.text(max_size=40)),
    helo=st.one_of(st.none(), st.text(max_size=40)),
)
def test_fuzzed_mail_never_raises(raw: bytes, mail_from: str | None, helo: str | None) -> None:
    verdict = asyncio.run(check(raw, world({}), ip=OUR_IP, mail_from=mail_from, helo=helo))
    assert verdict.summary
    json.dumps(verdict.as_json())


async def test_verdict_json_is_plain_data() -> None:
    resolver = world(keys("kefu.io"))
    raw = sign(message("Kefu <support@kefu.io>"), "kefu.io", key("kefu.io"))
    data = (await check(raw, resolver, ip=OUR_IP, mail_from="b@kefu.io")).as_json()
    assert data == json.loads(json.dumps(data))
    assert data["spf"] == "pass"
    assert data["dkim_domains"] == ["kefu.io"]
    assert data["phishing"] is False
    assert data["checked_at"] == "2025-03-01T12:00:00+00:00"
    assert set(data) == {
        "from_domain", "spf", "spf_domain", "dkim", "dkim_domains", "dmarc", "dmarc_policy",
        "aligned", "claims_our_domain", "lookalike_of", "phishing", "summary", "checked_at",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("records", "dmarc", "policy"),
    [
        (["v=DMARC1; p=reject; pct=10"], AuthResult.FAIL, "reject"),  # pct= does not soften the verdict
        (["V = dmarc1 ; P = Quarantine"], AuthResult.FAIL, "quarantine"),
        (["v=DMARC1; p=bogus; rua=mailto:r@customer.org"], AuthResult.FAIL, "none"),
        (["v=DMARC1; p=bogus"], AuthResult.NONE, None),
        (["v=DMARC1; sp=reject"], AuthResult.NONE, None),
        (["v=DMARC1; p=reject", "v=DMARC1; p=none"], AuthResult.NONE, None),  # two records: none
        (["v=spf1 -all", "v=DMARC1; p=reject"], AuthResult.FAIL, "reject"),  # other TXT ignored
        (["p=reject"], AuthResult.NONE, None),
        ([], AuthResult.NONE, None),
    ],
)
async def test_dmarc_records(records: list[str], dmarc: AuthResult, policy: str | None) -> None:
    resolver = world({}, txt={"_dmarc.customer.org": records})
    raw = message("Alice <alice@customer.org>")
    verdict = await check(raw, resolver, ip=FOREIGN_IP, mail_from="alice@customer.org")
    assert (verdict.dmarc, verdict.dmarc_policy) == (dmarc, policy)
    assert not verdict.aligned


async def test_strict_dkim_alignment_wants_the_exact_domain() -> None:
    raw = sign(message("Alice <alice@customer.org>"), "mail.customer.org", key("mail.customer.org"))
    relaxed = world(keys("mail.customer.org"))
    verdict = await check(raw, relaxed, ip=FOREIGN_IP, mail_from="alice@customer.org")
    assert verdict.aligned
    assert verdict.dmarc is AuthResult.PASS
    strict = world(keys("mail.customer.org"), txt={"_dmarc.customer.org": ["v=DMARC1; p=reject; adkim=s"]})
    verdict = await check(raw, strict, ip=FOREIGN_IP, mail_from="alice@customer.org")
    assert verdict.dkim_domains == ("mail.customer.org",)
    assert not verdict.aligned
    assert verdict.dmarc is AuthResult.FAIL


@pytest.mark.parametrize(
    "from_",
    [
        b"Mallory <x@ev\x1b[31mil.com>",
        b"Mallory <x@evil.com\r\n injected: yes>",
        "Mallory <x@кефу.рф>".encode(),
        b"=?utf-8?q?Kefu=0D=0ASupport?= <x@gmail.com>",
    ],
)
async def test_summary_is_safe_to_log(from_: bytes) -> None:
    raw = b"From: " + from_ + b"\r\nSubject: hi\r\n\r\nbody\r\n"
    verdict = await check(raw, world({}), ip=FOREIGN_IP, mail_from="x@evil.com\r\nX: y")
    assert verdict.summary.isascii()
    assert verdict.summary.isprintable()
    assert verdict.from_domain is None or verdict.from_domain.isascii()
