"""Field encryption: round trip, per-purpose keys, tamper and wrong-key detection."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from kefu.core.crypto import DecryptionError, decrypt_field, derive_key, encrypt_field

KEY = SecretStr("k" * 40)
OTHER_KEY = SecretStr("j" * 40)


def test_round_trip_and_fresh_nonce() -> None:
    first = encrypt_field("JBSWY3DPEHPK3PXP", purpose="totp", key=KEY)
    second = encrypt_field("JBSWY3DPEHPK3PXP", purpose="totp", key=KEY)
    assert first.startswith("v1.")
    assert first != second
    assert "JBSWY3DPEHPK3PXP" not in first
    assert decrypt_field(first, purpose="totp", key=KEY) == "JBSWY3DPEHPK3PXP"


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_round_trip_any_text(text: str) -> None:
    assert decrypt_field(encrypt_field(text, purpose="doc", key=KEY), purpose="doc", key=KEY) == text


def test_wrong_key_is_refused() -> None:
    token = encrypt_field("secret", purpose="totp", key=KEY)
    with pytest.raises(DecryptionError, match="wrong secret key"):
        decrypt_field(token, purpose="totp", key=OTHER_KEY)


def test_wrong_purpose_is_refused() -> None:
    token = encrypt_field("secret", purpose="totp", key=KEY)
    with pytest.raises(DecryptionError):
        decrypt_field(token, purpose="identity_document", key=KEY)
    assert derive_key(KEY, purpose="totp") != derive_key(KEY, purpose="identity_document")


def test_every_flipped_byte_is_detected() -> None:
    token = encrypt_field("secret", purpose="totp", key=KEY)
    body = token.removeprefix("v1.")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for index in range(len(raw)):
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        forged = "v1." + base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
        with pytest.raises(DecryptionError):
            decrypt_field(forged, purpose="totp", key=KEY)


@pytest.mark.parametrize(
    "token",
    ["", "v1.", "v2.AAAA", "nodot", "v1.!!!!", "v1.AAAA", "v1." + "A" * 10, "v1.é" * 3, "v1." + "A" * 4000],
)
def test_malformed_tokens_raise_decryption_error(token: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt_field(token, purpose="totp", key=KEY)


@pytest.mark.parametrize("purpose", ["", "TOTP", "has space", "x" * 65, "ünï"])
def test_bad_purpose_labels_are_rejected(purpose: str) -> None:
    with pytest.raises(ValueError, match="purpose"):
        encrypt_field("x", purpose=purpose, key=KEY)


def test_empty_secret_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        encrypt_field("x", purpose="totp", key=SecretStr(""))
