"""Envelope encryption: round trips, tamper and context binding, hostile envelopes, key rotation."""

from __future__ import annotations

import base64
import contextlib
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.storage.envelope import (
    DecryptionFailed,
    Keyring,
    generate_key_setting,
    open_sealed,
    open_text,
    rewrap,
    seal,
    seal_text,
    sealed_key_id,
)

K1 = bytes(range(32))
K2 = bytes(range(100, 132))
K3 = bytes(range(200, 232))
CONTEXT = b"attachment:0193a1b2-0000-7000-8000-000000000001"
OTHER_CONTEXT = b"attachment:0193a1b2-0000-7000-8000-000000000002"


def setting(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


def ring(*pairs: tuple[str, bytes]) -> Keyring:
    return Keyring.parse(",".join(setting(key_id, key) for key_id, key in pairs))


KEYRING = ring(("k1", K1))


def header_length(key_id: str) -> int:
    """Bytes before the data ciphertext: magic, version, id length, id, wrap nonce+key, data nonce."""
    return 4 + 1 + 1 + len(key_id) + 12 + 48 + 12


# Round trips


@pytest.mark.parametrize("size", [0, 1, 5 * 1024 * 1024])
def test_round_trip(size: int) -> None:
    plaintext = os.urandom(size)
    sealed = seal(KEYRING, plaintext, context=CONTEXT)
    assert len(sealed) == header_length("k1") + size + 16
    assert open_sealed(KEYRING, sealed, context=CONTEXT) == plaintext
    assert sealed_key_id(sealed) == "k1"


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    plaintext = b"passport P1234567 Zhang San " * 20
    sealed = seal(KEYRING, plaintext, context=CONTEXT)
    assert b"P1234567" not in sealed
    assert K1 not in sealed


def test_two_seals_of_the_same_plaintext_differ_everywhere_random() -> None:
    first = seal(KEYRING, b"same", context=CONTEXT)
    second = seal(KEYRING, b"same", context=CONTEXT)
    assert first != second
    start = header_length("k1") - 72
    # Wrap nonce, wrapped key, data nonce and ciphertext are all fresh per seal.
    assert first[start : start + 12] != second[start : start + 12]
    assert first[start + 12 : start + 60] != second[start + 12 : start + 60]
    assert first[start + 60 : start + 72] != second[start + 60 : start + 72]
    assert first[start + 72 :] != second[start + 72 :]


def test_text_round_trip_keeps_unicode() -> None:
    code = "防钓鱼码 Kefu-🐉-42"
    sealed = seal_text(KEYRING, code, context=b"contact:1:anti_phishing")
    assert open_text(KEYRING, sealed, context=b"contact:1:anti_phishing") == code


def test_open_text_of_non_utf8_bytes_fails_cleanly() -> None:
    sealed = seal(KEYRING, b"\xff\xfe\x00bad", context=CONTEXT)
    with pytest.raises(DecryptionFailed, match="UTF-8"):
        open_text(KEYRING, sealed, context=CONTEXT)


@pytest.mark.parametrize("context", [b"", "attachment:1"])
def test_context_must_be_non_empty_bytes(context: object) -> None:
    with pytest.raises(ValueError, match="context"):
        seal(KEYRING, b"x", context=context)  # type: ignore[arg-type]
    sealed = seal(KEYRING, b"x", context=CONTEXT)
    with pytest.raises(ValueError, match="context"):
        open_sealed(KEYRING, sealed, context=context)  # type: ignore[arg-type]


def test_format_is_as_documented() -> None:
    """An envelope built by hand from the documented layout opens, so the format cannot drift silently."""
    data_key, data_nonce, wrap_nonce = os.urandom(32), os.urandom(12), os.urandom(12)
    prefix = b"KFE1\x01"
    ciphertext = AESGCM(data_key).encrypt(data_nonce, b"hello", prefix + b"data" + CONTEXT)
    wrapped = AESGCM(K1).encrypt(wrap_nonce, data_key, prefix + b"wrap" + b"\x02k1" + CONTEXT)
    sealed = prefix + b"\x02k1" + wrap_nonce + wrapped + data_nonce + ciphertext
    assert open_sealed(KEYRING, sealed, context=CONTEXT) == b"hello"
    # And the other way round: a sealed envelope splits along the same boundaries.
    ours = seal(KEYRING, b"hello", context=CONTEXT)
    assert ours[:8] == prefix + b"\x02k1"
    key = AESGCM(K1).decrypt(ours[8:20], ours[20:68], prefix + b"wrap\x02k1" + CONTEXT)
    assert AESGCM(key).decrypt(ours[68:80], ours[80:], prefix + b"data" + CONTEXT) == b"hello"


# Anything wrong means DecryptionFailed


def test_wrong_context_fails() -> None:
    sealed = seal(KEYRING, b"document", context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        open_sealed(KEYRING, sealed, context=OTHER_CONTEXT)
    with pytest.raises(DecryptionFailed):
        open_sealed(KEYRING, sealed, context=CONTEXT + b"\x00")


def test_wrap_of_one_record_with_data_of_another_fails() -> None:
    first = seal(KEYRING, b"first", context=CONTEXT)
    second = seal(KEYRING, b"other", context=CONTEXT)
    cut = header_length("k1") - 12
    with pytest.raises(DecryptionFailed):
        open_sealed(KEYRING, first[:cut] + second[cut:], context=CONTEXT)


def test_flipping_any_bit_fails() -> None:
    sealed = seal(KEYRING, b"0123456789abcdef", context=CONTEXT)
    for position in range(len(sealed)):
        for bit in range(8):
            tampered = bytearray(sealed)
            tampered[position] ^= 1 << bit
            with pytest.raises(DecryptionFailed):
                open_sealed(KEYRING, bytes(tampered), context=CONTEXT)


def test_every_truncation_and_any_extension_fails() -> None:
    sealed = seal(KEYRING, b"0123456789", context=CONTEXT)
    for length in range(len(sealed)):
        with pytest.raises(DecryptionFailed):
            open_sealed(KEYRING, sealed[:length], context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        open_sealed(KEYRING, sealed + b"\x00", context=CONTEXT)


def test_truncated_headers_fail_in_sealed_key_id_too() -> None:
    sealed = seal(KEYRING, b"", context=CONTEXT)
    for length in range(header_length("k1") + 16):
        with pytest.raises(DecryptionFailed):
            sealed_key_id(sealed[:length])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"KFE2" + b[4:], "not a Kefu envelope"),
        (lambda b: b[:4] + b"\x02" + b[5:], "unknown version"),
        (lambda b: b[:5] + b"\x00" + b[6:], "bad key id"),
        (lambda b: b[:5] + b"\xff" + b[6:], "bad key id"),
        (lambda b: b[:5] + b"\x21" + b[6:], "bad key id"),
        (lambda b: b[:6] + b"k." + b[8:], "bad key id"),
        (lambda b: b[:6] + b"\xe4\xb8" + b[8:], "bad key id"),
    ],
)
def test_malformed_headers_are_named(mutate: object, message: str) -> None:
    sealed = seal(KEYRING, b"data", context=CONTEXT)
    bad = mutate(sealed)  # type: ignore[operator]
    with pytest.raises(DecryptionFailed, match=message):
        open_sealed(KEYRING, bad, context=CONTEXT)
    with pytest.raises(DecryptionFailed, match=message):
        sealed_key_id(bad)


def test_not_bytes_fails_cleanly() -> None:
    with pytest.raises(DecryptionFailed):
        open_sealed(KEYRING, "KFE1...", context=CONTEXT)  # type: ignore[arg-type]


def test_unknown_key_id_fails() -> None:
    sealed = seal(ring(("k3", K3)), b"data", context=CONTEXT)
    with pytest.raises(DecryptionFailed, match="no master key with id 'k3'"):
        open_sealed(ring(("k1", K1), ("k2", K2)), sealed, context=CONTEXT)


def test_wrong_master_key_under_the_same_id_fails() -> None:
    sealed = seal(KEYRING, b"data", context=CONTEXT)
    with pytest.raises(DecryptionFailed, match="does not authenticate"):
        open_sealed(ring(("k1", K2)), sealed, context=CONTEXT)


def test_relabelled_key_id_fails() -> None:
    """Renaming the key id in the header to another id whose key is the same still fails (AAD)."""
    both = Keyring(keys={"k1": K1, "k9": K1}, active_id="k1")
    sealed = seal(both, b"data", context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        open_sealed(both, sealed[:6] + b"k9" + sealed[8:], context=CONTEXT)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_decryption_failed(data: bytes) -> None:
    for candidate in (data, b"KFE1\x01" + data, b"KFE1\x01\x02k1" + data):
        with pytest.raises(DecryptionFailed):
            open_sealed(KEYRING, candidate, context=CONTEXT)
        with pytest.raises(DecryptionFailed):
            rewrap(KEYRING, candidate, context=CONTEXT)
        with contextlib.suppress(DecryptionFailed):
            assert sealed_key_id(candidate) == "k1"


# Rotation


def test_rotation_opens_old_envelopes_and_rewraps_them() -> None:
    plaintext = os.urandom(1000)
    old = seal(ring(("k1", K1)), plaintext, context=CONTEXT)
    rotated = ring(("k2", K2), ("k1", K1))
    assert rotated.active_id == "k2"
    assert open_sealed(rotated, old, context=CONTEXT) == plaintext
    assert sealed_key_id(seal(rotated, b"new", context=CONTEXT)) == "k2"

    new = rewrap(rotated, old, context=CONTEXT)
    assert sealed_key_id(new) == "k2"
    assert open_sealed(ring(("k2", K2)), new, context=CONTEXT) == plaintext
    with pytest.raises(DecryptionFailed):
        open_sealed(ring(("k1", K1)), new, context=CONTEXT)
    # Data nonce and ciphertext are byte-identical; only the wrap changed.
    data_part = 12 + len(plaintext) + 16
    assert new[-data_part:] == old[-data_part:]
    assert new[:-data_part] != old[:-data_part]


def test_rewrap_under_the_active_key_returns_the_envelope() -> None:
    sealed = seal(KEYRING, b"data", context=CONTEXT)
    assert rewrap(KEYRING, sealed, context=CONTEXT) == sealed


def test_rewrap_refuses_tampered_data_and_wrong_context() -> None:
    old = seal(ring(("k1", K1)), b"document bytes", context=CONTEXT)
    rotated = ring(("k2", K2), ("k1", K1))
    tampered = old[:-1] + bytes([old[-1] ^ 1])
    with pytest.raises(DecryptionFailed):
        rewrap(rotated, tampered, context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        rewrap(rotated, old, context=OTHER_CONTEXT)
    with pytest.raises(DecryptionFailed, match="no master key"):
        rewrap(ring(("k2", K2)), old, context=CONTEXT)


# Keyring


def test_parse_takes_the_first_key_as_active_and_tolerates_spaces() -> None:
    keyring = Keyring.parse(f" {setting('new-2', K2)} , {setting('old_1', K1)} ")
    assert keyring.active_id == "new-2"
    assert dict(keyring.keys) == {"new-2": K2, "old_1": K1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        (f"{setting('k1', K1)},", "entry 2 is empty"),
        (base64.b64encode(K1).decode(), "entry 1 is not in the form"),
        (f"k1:{base64.b64encode(K1).decode()},{setting('k1', K2)}", "'k1' appears twice"),
        (setting("k 1", K1), "key id is 1 to 32"),
        (setting("k.1", K1), "key id is 1 to 32"),
        (setting("", K1), "key id is 1 to 32"),
        (setting("k" * 33, K1), "key id is 1 to 32"),
        (setting("钥匙", K1), "key id is 1 to 32"),
        ("k1:not base64!", "'k1' is not valid standard base64"),
        ("k1:" + base64.b64encode(K1).decode().rstrip("="), "'k1' is not valid standard base64"),
        ("k1:" + base64.urlsafe_b64encode(b"\xff" * 32).decode(), "'k1' is not valid standard base64"),
        (setting("k1", K1[:16]), "'k1' is 16 bytes; a master key is 32 bytes"),
        (setting("k1", K1 + b"x"), "'k1' is 33 bytes"),
        ("k1:", "'k1' is 0 bytes"),
    ],
)
def test_parse_errors_are_clear(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Keyring.parse(value)
    # Whatever went wrong, no key material is echoed.
    for key in (K1, K2):
        assert base64.b64encode(key).decode()[:20] not in str(caught.value)


def test_parse_accepts_32_chars_ids() -> None:
    assert Keyring.parse(setting("a" * 32, K1)).active_id == "a" * 32


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="not in the keyring"):
        Keyring(keys={"k1": K1}, active_id="k2")
    with pytest.raises(ValueError, match="must be 32 bytes"):
        Keyring(keys={"k1": K1[:31]}, active_id="k1")
    with pytest.raises(ValueError, match="key id"):
        Keyring(keys={"k/1": K1}, active_id="k/1")


def test_keyring_is_a_frozen_copy() -> None:
    keys = {"k1": K1}
    keyring = Keyring(keys=keys, active_id="k1")
    keys["k1"] = K2
    assert keyring.keys["k1"] == K1
    with pytest.raises(TypeError):
        keyring.keys["k2"] = K2  # type: ignore[index]


def test_repr_hides_keys() -> None:
    keyring = ring(("k2", K2), ("k1", K1))
    for shown in (repr(keyring), str(keyring), f"{keyring}", f"{keyring!r}", repr([keyring])):
        assert "k2" in shown
        assert "k1" in shown
        for key in (K1, K2):
            assert repr(key)[2:20] not in shown
            assert base64.b64encode(key).decode()[:12] not in shown
            assert key.hex()[:12] not in shown


def test_derived_keyring_is_deterministic_per_secret() -> None:
    first = Keyring.derived("secret one")
    assert first.active_id == "derived"
    assert first == Keyring.derived("secret one")
    other = Keyring.derived("secret two")
    assert first.keys["derived"] != other.keys["derived"]
    assert len(first.keys["derived"]) == 32
    sealed = seal(first, b"dev document", context=CONTEXT)
    assert open_sealed(Keyring.derived("secret one"), sealed, context=CONTEXT) == b"dev document"
    with pytest.raises(DecryptionFailed):
        open_sealed(other, sealed, context=CONTEXT)
    with pytest.raises(ValueError, match="empty secret"):
        Keyring.derived("")


def test_generate_key_setting_parses_and_is_random() -> None:
    first, second = generate_key_setting("k2026"), generate_key_setting("k2026")
    assert first != second
    assert first.startswith("k2026:")
    keyring = Keyring.parse(f"{first},{setting('k1', K1)}")
    assert keyring.active_id == "k2026"
    assert len(keyring.keys["k2026"]) == 32
    with pytest.raises(ValueError, match="key id"):
        generate_key_setting("bad id")
