"""Canonical values per kind: what each accepts, what it refuses, and that hostile input never crashes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kefu.channels.links import channel_display, channel_url
from kefu.channels.models import OfficialKind
from kefu.channels.normalize import MAX_INPUT_LENGTH, InvalidChannelValue, normalise_value, phone_region
from kefu.channels.schemas import ChannelIn

K = OfficialKind

ACCEPTED = [
    # domains: scheme, path, port, case, trailing dot and IDN all reduce to one ASCII name
    (K.DOMAIN, "kefu.localhost", "kefu.localhost"),
    (K.DOMAIN, "HTTPS://WWW.Kefu.Example.com:8443/login?next=/x#top", "www.kefu.example.com"),
    (K.DOMAIN, "kefu.example.com.", "kefu.example.com"),
    (K.DOMAIN, "Kéfu.example", "xn--kfu-bma.example"),
    (K.DOMAIN, "xn--kfu-bma.example", "xn--kfu-bma.example"),
    (K.DOMAIN, "ｋｅｆｕ。example", "kefu.example"),  # full-width letters and ideographic full stop
    # a Cyrillic "о" is not refused: it is stored as punycode, which is what exposes the lookalike
    (K.DOMAIN, "kefu.lоcalhost", "kefu.xn--lcalhost-nbh"),
    (K.EMAIL, "Support@Kefu.Localhost", "support@kefu.localhost"),
    (K.EMAIL, "mailto:Security@Kéfu.example", "security@xn--kfu-bma.example"),
    (K.EMAIL, "  help@kefu.example.com ", "help@kefu.example.com"),
    (K.PHONE, "+65 6123 4567", "+6561234567"),
    (K.PHONE, "+44 (0)20 7946 0000", "+442079460000"),
    (K.PHONE, "0044 20 7946 0000", "+442079460000"),
    (K.PHONE, "tel:+852-2123-4567", "+85221234567"),
    (K.PHONE, "＋６５ ６１２３ ４５６７", "+6561234567"),
    (K.TELEGRAM, "@KefuSupport", "kefusupport"),
    (K.TELEGRAM, "KefuSupport", "kefusupport"),
    (K.TELEGRAM, "https://t.me/KefuSupport", "kefusupport"),
    (K.TELEGRAM, "t.me/s/KefuSupport", "kefusupport"),
    (K.TELEGRAM, "https://telegram.me/KefuSupport/12", "kefusupport"),
    (K.TELEGRAM, "tg://resolve?domain=KefuSupport", "kefusupport"),
    (K.X, "@KefuSupport", "kefusupport"),
    (K.X, "https://x.com/KefuSupport", "kefusupport"),
    (K.X, "twitter.com/KefuSupport/status/123", "kefusupport"),
    (K.X, "https://mobile.twitter.com/Kefu_Support", "kefu_support"),
    (K.FACEBOOK, "KefuSupport", "kefusupport"),
    (K.FACEBOOK, "@Kefu.Support", "kefu.support"),
    (K.FACEBOOK, "https://www.facebook.com/KefuSupport/", "kefusupport"),
    (K.FACEBOOK, "facebook.com/KefuSupport", "kefusupport"),
    (K.FACEBOOK, "https://m.me/KefuSupport", "kefusupport"),
    (K.FACEBOOK, "https://www.facebook.com/profile.php?id=100012345678", "100012345678"),
]

REFUSED = [
    (K.DOMAIN, "https://kefu.example@evil.example/"),  # userinfo hides the real host
    (K.DOMAIN, "javascript:alert(1)"),
    (K.DOMAIN, "ftp://kefu.example"),
    (K.DOMAIN, "192.0.2.1"),
    (K.DOMAIN, "[2001:db8::1]"),
    (K.DOMAIN, "localhost"),
    (K.DOMAIN, "*.kefu.example"),
    (K.DOMAIN, "kefu.example\\evil"),
    (K.DOMAIN, "kefu example.com"),
    (K.DOMAIN, "a" * 64 + ".example"),  # a label longer than 63
    (K.DOMAIN, ".".join(["abcdefghij"] * 25) + ".example"),  # longer than 253
    (K.EMAIL, "support"),
    (K.EMAIL, "support@kefu"),
    (K.EMAIL, "@kefu.example"),
    (K.EMAIL, "support@kefu.example\r\nBcc: victim@example.com"),
    (K.EMAIL, '"odd local"@kefu.example'),
    (K.PHONE, "6123 4567"),  # no country code
    (K.PHONE, "+1 555 0100"),  # too short to be valid
    (K.PHONE, "+99 123456789"),  # no such country code
    (K.PHONE, "+44 20 7946 0000 ext. 12"),
    (K.PHONE, "call us"),
    (K.TELEGRAM, "@kefu"),  # shorter than 5
    (K.TELEGRAM, "@1kefusupport"),  # must start with a letter
    (K.TELEGRAM, "@kefusupport_"),
    (K.TELEGRAM, "@Kеfu_support"),  # Cyrillic "е": not a Telegram name
    (K.TELEGRAM, "https://evil.example/KefuSupport"),
    (K.TELEGRAM, "https://t.me/joinchat/AAAA"),
    (K.TELEGRAM, "https://t.me/"),
    (K.X, "@this_name_is_far_too_long"),
    (K.X, "https://x.com/i/flow/login"),
    (K.X, "https://x.com.evil.example/KefuSupport"),
    (K.X, "https://user@x.com/KefuSupport"),
    (K.X, "@kefu-support"),
    (K.FACEBOOK, "kefu"),
    (K.FACEBOOK, "https://www.facebook.com/pages"),
    (K.FACEBOOK, "https://www.facebook.com/profile.php"),
    (K.FACEBOOK, ".kefusupport"),
]

HOSTILE = [
    "",
    "   ",
    "line\nbreak",
    "cr\rhere",
    "nul\x00byte",
    "bidi\u202eevil",
    "zero\u200bwidth",
    "x" * 5000,
]


@pytest.mark.parametrize(("kind", "raw", "canonical"), ACCEPTED)
def test_accepted_values_have_one_canonical_form(kind: OfficialKind, raw: str, canonical: str) -> None:
    assert normalise_value(kind, raw) == canonical
    # Canonical values are fixed points: normalising again changes nothing.
    assert normalise_value(kind, canonical) == canonical


@pytest.mark.parametrize(("kind", "raw"), REFUSED)
def test_refused_values_say_why(kind: OfficialKind, raw: str) -> None:
    with pytest.raises(InvalidChannelValue) as caught:
        normalise_value(kind, raw)
    assert str(caught.value)


@pytest.mark.parametrize("kind", list(OfficialKind))
@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_is_refused_for_every_kind(kind: OfficialKind, raw: str) -> None:
    with pytest.raises(InvalidChannelValue):
        normalise_value(kind, raw)


def test_non_strings_are_refused() -> None:
    with pytest.raises(InvalidChannelValue):
        normalise_value(OfficialKind.EMAIL, 42)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(OfficialKind)), raw=st.text(max_size=MAX_INPUT_LENGTH + 10))
def test_any_text_is_canonical_or_refused(kind: OfficialKind, raw: str) -> None:
    try:
        value = normalise_value(kind, raw)
    except InvalidChannelValue:
        return
    assert value == normalise_value(kind, value)
    assert value == value.strip()
    assert "\n" not in value
    assert "\r" not in value


def test_phone_regions_come_from_the_number() -> None:
    assert phone_region("+6561234567") == "SG"
    assert phone_region("+85221234567") == "HK"
    assert phone_region("+442079460000") == "GB"


@pytest.mark.parametrize(
    ("kind", "value", "display", "url"),
    [
        (K.DOMAIN, "kefu.localhost", "kefu.localhost", "https://kefu.localhost/"),
        (K.EMAIL, "support@kefu.localhost", "support@kefu.localhost", "mailto:support@kefu.localhost"),
        (K.EMAIL, "a?cc=x&b@kefu.example", "a?cc=x&b@kefu.example", "mailto:a%3Fcc%3Dx%26b@kefu.example"),
        (K.PHONE, "+6561234567", "+65 6123 4567", "tel:+6561234567"),
        (K.TELEGRAM, "kefusupport", "@kefusupport", "https://t.me/kefusupport"),
        (K.X, "kefusupport", "@kefusupport", "https://x.com/kefusupport"),
        (K.FACEBOOK, "kefusupport", "facebook.com/kefusupport", "https://www.facebook.com/kefusupport"),
    ],
)
def test_display_and_links(kind: OfficialKind, value: str, display: str, url: str) -> None:
    assert channel_display(kind, value) == display
    assert channel_url(kind, value) == url


def test_input_schema_normalises_and_fills_the_phone_region() -> None:
    data = ChannelIn(kind=K.PHONE, value="+65 6123 4567", label=" Singapore hotline ", label_zh="")
    assert (data.value, data.region, data.label, data.label_zh) == (
        "+6561234567",
        "SG",
        "Singapore hotline",
        None,
    )
    given_region = ChannelIn(kind=K.PHONE, value="+6561234567", region="hk")
    assert given_region.region == "HK"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "phone", "value": "12345"},
        {"kind": "email", "value": "x@kefu.example", "label": "Support\r\nX-Injected: 1"},
        {"kind": "email", "value": "x@kefu.example", "label": "x" * 101},
        {"kind": "email", "value": "x@kefu.example", "region": "ZZ"},
        {"kind": "email", "value": "x@kefu.example", "region": "001"},
        {"kind": "email", "value": "x@kefu.example", "position": -1},
        {"kind": "email", "value": "x@kefu.example", "surprise": True},
        {"kind": "pager", "value": "123"},
        {"kind": "domain", "value": "x" * 600},
    ],
)
def test_input_schema_refuses_bad_bodies(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChannelIn.model_validate(body)
