"""Request signing: the documented worked example, the clock window, tampering, hostile headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from kefu.integrations.exchange.signing import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    canonical_string,
    sign,
    signed_headers,
    verify_signature,
)

SECRET = SecretStr("demo-secret-do-not-use")
TS = 1748856600  # 2025-06-02T09:30:00Z
NOW = datetime.fromtimestamp(TS, UTC)
BODY = b'{"reason":"identity verified on call KF-48213907","actor":"agent:0193c4"}'
TARGET = "/v1/accounts/10000002/unlock"


def _verify(signature: str, *, timestamp: str = str(TS), body: bytes = BODY, target: str = TARGET,
            method: str = "POST", secret: SecretStr = SECRET, now: datetime = NOW) -> bool:  # fmt: skip
    return verify_signature(
        secret, timestamp=timestamp, method=method, target=target, body=body, signature=signature, now=now
    )


def test_worked_example_from_the_docs() -> None:
    # These values are printed in docs/exchange-api.md; change both together.
    assert canonical_string(TS, "post", TARGET, BODY) == (
        "1748856600\nPOST\n/v1/accounts/10000002/unlock\n"
        "925c5d25737d2e288eb43193aa4338859f8f5d57ffdc5b39c980d993dd1f4be3"
    )
    assert (
        sign(SECRET, TS, "POST", TARGET, BODY)
        == "34eb53e1a83a57aab702a1d7fc4626e121ee2dc8da992bf7b7334798d5091848"
    )
    get_target = "/v1/accounts?email=alice%40example.com"
    assert sign(SECRET, TS, "GET", get_target, b"") == (
        "bfb6ab1cb012ae8b1d3925b917b577bca9034306a519f0d8fb6b8359d4335d6a"
    )


def test_signed_headers() -> None:
    headers = signed_headers("key-1", SECRET, "POST", TARGET, BODY, timestamp=TS)
    assert headers[HEADER_KEY] == "key-1"
    assert headers[HEADER_TIMESTAMP] == str(TS)
    assert _verify(headers[HEADER_SIGNATURE])
    assert _verify(headers[HEADER_SIGNATURE].upper())


def test_rejects_wrong_secret_and_tampering() -> None:
    good = sign(SECRET, TS, "POST", TARGET, BODY)
    assert _verify(good)
    assert not _verify(good, secret=SecretStr("another-secret"))
    assert not _verify(good, body=BODY.replace(b"agent:0193c4", b"agent:evil"))
    assert not _verify(good, target="/v1/accounts/10000003/unlock")
    assert not _verify(good, method="GET")
    assert not _verify(good, timestamp=str(TS + 1), now=NOW)


@pytest.mark.parametrize(
    ("skew", "accepted"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)]
)
def test_clock_window(skew: int, accepted: bool) -> None:
    signature = sign(SECRET, TS, "POST", TARGET, BODY)
    assert _verify(signature, now=NOW + timedelta(seconds=skew)) is accepted


@pytest.mark.parametrize(
    "timestamp",
    ["", "abc", "-5", "+1748856600", "1748856600.0", "1e9", "١٧٤٨٨٥٦٦٠٠", "9" * 40, " 1748856600"],
)
def test_malformed_timestamps_are_refused_without_raising(timestamp: str) -> None:
    assert not _verify(sign(SECRET, TS, "POST", TARGET, BODY), timestamp=timestamp)


@pytest.mark.parametrize("signature", ["", "00", "zz" * 32, "é" * 64, "\x00" * 64, "a" * 10_000])
def test_malformed_signatures_are_refused_without_raising(signature: str) -> None:
    assert not _verify(signature)


@given(
    secret=st.text(min_size=1, max_size=64),
    method=st.sampled_from(["GET", "POST", "get"]),
    target=st.text(max_size=200),
    body=st.binary(max_size=512),
    timestamp=st.integers(min_value=0, max_value=10**11),
)
def test_round_trip(secret: str, method: str, target: str, body: bytes, timestamp: int) -> None:
    key = SecretStr(secret)
    now = datetime.fromtimestamp(timestamp, UTC)
    signature = sign(key, timestamp, method, target, body)
    assert verify_signature(
        key, timestamp=str(timestamp), method=method, target=target, body=body, signature=signature, now=now
    )
    assert not verify_signature(
        key,
        timestamp=str(timestamp),
        method=method,
        target=target,
        body=body + b"!",
        signature=signature,
        now=now,
    )
    assert not verify_signature(
        SecretStr(secret + "x"), timestamp=str(timestamp), method=method, target=target, body=body,
        signature=signature, now=now,
    )  # fmt: skip
