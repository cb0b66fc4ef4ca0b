"""Password hashing and the password policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from kefu.auth import passwords
from kefu.auth.passwords import (
    check_password_policy,
    hash_password,
    password_needs_rehash,
    spend_verification_time,
    verify_password,
)
from kefu.core.errors import InvalidInput


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("correct horse 42")
    assert hashed.startswith("$argon2id$")
    assert "correct horse 42" not in hashed
    assert verify_password(hashed, "correct horse 42")
    assert not verify_password(hashed, "correct horse 43")
    assert hash_password("correct horse 42") != hashed


@pytest.mark.parametrize("bad_hash", ["", "plain", "$argon2id$v=19$broken", "$2b$12$abcdefghijklmnopqrstuv"])
def test_malformed_hash_never_raises(bad_hash: str) -> None:
    assert not verify_password(bad_hash, "whatever password")
    assert password_needs_rehash(bad_hash)


def test_overlong_password_is_refused_without_hashing() -> None:
    hashed = hash_password("x" * 20 + "1")
    assert not verify_password(hashed, "x" * 5000)
    spend_verification_time("x" * 100_000)


def test_needs_rehash_when_parameters_change() -> None:
    weak = hash_password("correct horse 42")
    assert not password_needs_rehash(weak)
    previous = passwords.use_password_hasher(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    try:
        assert password_needs_rehash(weak)
        assert verify_password(weak, "correct horse 42")
    finally:
        passwords.use_password_hasher(previous)


def test_production_parameters_are_argon2_cffi_defaults() -> None:
    default = PasswordHasher()
    assert default.time_cost >= 3
    assert default.memory_cost >= 64 * 1024


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Short1!", "too_short"),
        ("a" * 1025 + "1", "too_long"),
        ("alllowercaseletters", "one_class"),
        ("123456789012345", "one_class"),
        ("ÉÉÉÉÉÉÉÉÉÉÉÉÉ", "one_class"),
        ("客服客服客服客服客服客服", "one_class"),
        ("bob.smith@example.com", "email"),
        ("BOB.SMITH@EXAMPLE.COM", "email"),
        ("bob.smith", "too_short"),
        ("good pass 123\x00", "invalid"),
    ],
)
def test_policy_rejections(password: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_password_policy(password, email="bob.smith@example.com")
    assert info.value.fields == {"password": reason}


def test_local_part_as_password_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        check_password_policy("Bob.Smith.Longname", email="bob.smith.longname@example.com")


@pytest.mark.parametrize(
    "password", ["correct horse 42", "Tr0ub4dor&3xyz", "客服中心的密码是1234", "x" * 1023 + "1"]
)
def test_policy_accepts(password: str) -> None:
    check_password_policy(password, email="bob@example.com")
