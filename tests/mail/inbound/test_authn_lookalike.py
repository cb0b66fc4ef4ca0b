"""Lookalike rules: each rule on its own, and the senders that must not trip them."""

from __future__ import annotations

import pytest

from kefu.mail.inbound.lookalike import (
    imitated,
    imitated_in_text,
    match_ours,
    mentions_ours,
    organisational_domain,
    skeleton,
    to_ascii,
    to_unicode,
)
from tests.mail.inbound.authn_helpers import OURS


def test_skeleton_folds_homoglyphs_case_width_accents_and_letter_pairs() -> None:
    assert skeleton("kеfu") == skeleton("KEFU") == skeleton("ｋｅｆｕ") == skeleton("kéfu") == "kefu"
    assert skeleton("κefυ") == "kefu"  # Greek kappa and upsilon
    assert skeleton("dem0") == skeleton("dern0") == "demo"
    assert skeleton("vvallet") == skeleton("wallet")
    assert skeleton("paypa1") == "paypal"


def test_punycode_round_trip() -> None:
    assert to_ascii("kеfu.io") == "xn--kfu-rdd.io"
    assert to_unicode("XN--KFU-RDD.IO.") == "kеfu.io"
    assert to_unicode("xn--broken-.io") == "xn--broken-.io"  # invalid punycode kept as written
    assert to_ascii("") is None
    assert to_ascii("a..b") is None
    assert to_ascii("a b.com") is None
    assert to_ascii("x" * 64 + ".com") is None


def test_organisational_domain_uses_the_public_suffix_list() -> None:
    assert organisational_domain("mail.kefu.co.uk") == "kefu.co.uk"
    assert organisational_domain("a.b.kefu.io") == "kefu.io"
    assert organisational_domain("localhost") == "localhost"


@pytest.mark.parametrize("domain", ["kefu.io", "KEFU.IO", "mail.kefu.io", "a.b.demoexchange.com"])
def test_our_domains_and_subdomains_are_ours_not_lookalikes(domain: str) -> None:
    assert match_ours(domain, OURS) is not None
    assert imitated(domain, OURS) is None


@pytest.mark.parametrize(
    ("domain", "rule"),
    [
        ("kеfu.io", "homoglyph: Cyrillic е"),
        ("xn--kfu-rdd.io", "homoglyph, as punycode"),
        ("kefu.i0", "homoglyph: zero in the TLD"),
        ("dernoexchange.com", "rn for m"),
        ("dem0exchange.com", "zero for o"),
        ("demoexchange.corn", "rn for m in the TLD"),
        ("kefu.com", "TLD swap"),
        ("kefu.co.uk", "TLD swap under a two-label suffix"),
        ("demoexchnage.com", "typo: transposition"),
        ("demo-exchange.net", "typo and TLD swap"),
        ("demoexchang.com", "typo: deletion"),
        ("kefu-support.com", "brand in domain"),
        ("support-kefu.net", "brand in domain"),
        ("kefu.com.verify-login.io", "brand as a subdomain label"),
        ("kefu.io.evil.example", "our whole domain as a prefix"),
        ("login.demoexchangesupport.net", "long brand as a substring"),
    ],
)
def test_lookalikes(domain: str, rule: str) -> None:
    assert imitated(domain, OURS) is not None, rule


@pytest.mark.parametrize(
    "domain",
    [
        "gmail.com",
        "qq.com",
        "163.com",
        "customer.org",
        "kefuzhang.cn",  # "kefu" (客服) is a common pinyin syllable: short brands match only as words
        "kelu.io",  # 4-letter labels skip the edit-distance rule
        "exchange.com",
        "demo.com",
        "",
    ],
)
def test_not_lookalikes(domain: str) -> None:
    assert imitated(domain, OURS) is None


def test_display_names_that_claim_us() -> None:
    for text in [
        "Kefu Support",
        "KEFU客服",
        "Kеfu",
        "support@kefu.io",
        "Demo Exchange Security",
        "kefu.io team",
    ]:
        assert mentions_ours(text, OURS) is not None, text
    for text in ["Alice Chen", "kefuzhang", "Exchange desk", ""]:
        assert mentions_ours(text, OURS) is None, text


def test_domains_inside_display_names() -> None:
    assert imitated_in_text("Security team (kefu-support.com)", OURS) == "kefu.io"
    assert imitated_in_text("Notice from dem0exchange.com", OURS) == "demoexchange.com"
    assert imitated_in_text("Alice from customer.org", OURS) is None
    assert imitated_in_text("a." * 10_000, OURS) is None  # long input stays cheap and harmless


def test_unusable_configured_domains_are_ignored() -> None:
    assert match_ours("kefu.io", ["", "bad domain", "kefu.io"]) == "kefu.io"
    assert imitated("kefu-support.com", ["", "not a domain"]) is None
