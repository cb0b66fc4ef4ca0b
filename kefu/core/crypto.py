"""Authenticated field encryption (AES-256-GCM) with one key per purpose derived from the secret key.

Token format: ``v1.<base64url(nonce || ciphertext || tag)>``. The version prefix lets a later format
(another cipher, a key id for rotation) coexist with rows written today. The purpose is both the HKDF
info label and the GCM associated data, so a TOTP secret can never be decrypted as an identity document.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
# A fixed salt is fine for HKDF when the input key is already high-entropy; it separates Kefu's keys
# from any other use of the same operator secret.
_HKDF_SALT = b"kefu.field-encryption.v1"
_PURPOSE_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


class DecryptionError(Exception):
    """The value cannot be decrypted: wrong secret key, wrong purpose, tampered or malformed token."""


def _check_purpose(purpose: str) -> bytes:
    if not _PURPOSE_RE.match(purpose):
        raise ValueError("purpose must be a short lower-case label such as 'totp' or 'identity_document'")
    return purpose.encode("ascii")


def derive_key(key: SecretStr, *, purpose: str) -> bytes:
    """A 256-bit key for `purpose`, derived from the operator secret with HKDF-SHA256."""
    info = b"kefu:" + _check_purpose(purpose)
    secret = key.get_secret_value().encode("utf-8")
    if not secret:
        raise ValueError("the secret key is empty")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=info).derive(secret)


def encrypt_field(plaintext: str, *, purpose: str, key: SecretStr) -> str:
    """Encrypt `plaintext` for `purpose`; every call uses a fresh random nonce."""
    aad = _check_purpose(purpose)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(derive_key(key, purpose=purpose)).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return f"{VERSION}." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def decrypt_field(token: str, *, purpose: str, key: SecretStr) -> str:
    """Decrypt a token made by `encrypt_field`; raises DecryptionError on any mismatch or tampering."""
    aad = _check_purpose(purpose)
    version, dot, body = token.partition(".")
    if not dot or version != VERSION:
        raise DecryptionError(f"unsupported encrypted field format (expected '{VERSION}.' prefix)")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("encrypted field is not valid base64url") from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("encrypted field is truncated")
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    try:
        plaintext = AESGCM(derive_key(key, purpose=purpose)).decrypt(nonce, sealed, aad)
    except InvalidTag as exc:
        raise DecryptionError(
            "cannot decrypt field: wrong secret key, wrong purpose, or the data was altered"
        ) from exc
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecryptionError("decrypted field is not UTF-8") from exc
