"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kefu.core.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase; the cap stops hashing megabytes sent by an attacker.
MAX_PASSWORD_LENGTH = 1024

# argon2-cffi's defaults are the RFC 9106 "low memory" argon2id profile: strong in production.
_hasher = PasswordHasher()
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Install a hasher (tests use cheap parameters); returns the previous one so it can be restored."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def hash_password(password: str) -> str:
    """An argon2id hash of `password` with the installed parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches; never raises for a wrong password or a malformed hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the installed ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def spend_verification_time(password: str) -> None:
    """Verify against a dummy hash so an unknown email costs as long as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("kefu-dummy-password-for-timing")
    verify_password(_dummy_hash, password[:MAX_PASSWORD_LENGTH])


def _character_classes(password: str) -> int:
    classes = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        # Letters without case (CJK, Arabic, ...) form their own class.
        any(c.isalpha() and not c.islower() and not c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() or c in string.punctuation for c in password),
    )
    return sum(classes)


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Raise InvalidInput unless `password` is 12-1024 chars, mixes classes and is not the email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            fields={"password": "too_short"},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Use at most {MAX_PASSWORD_LENGTH} characters.",
            fields={"password": "too_long"},
        )
    if "\x00" in password:
        raise InvalidInput("The password contains an invalid character.", fields={"password": "invalid"})
    if _character_classes(password) < 2:
        raise InvalidInput(
            "Mix at least two kinds of characters (letters, digits, symbols).",
            fields={"password": "one_class"},
        )
    if email:
        lowered = password.casefold()
        local = email.split("@", 1)[0].casefold()
        if lowered == email.casefold() or (len(local) >= 4 and lowered == local):
            raise InvalidInput("The password must not be your email address.", fields={"password": "email"})
