"""Envelope encryption of identity documents and small secrets under a rotatable master keyring.

Each seal draws a fresh 256-bit data key, encrypts the plaintext with it (AES-256-GCM) and wraps
the data key under the active master key (AES-256-GCM as well). A leaked envelope reveals nothing
without the master key; rotating the master key only re-wraps 48 bytes per envelope (`rewrap`).

Format (integers big-endian)::

    b"KFE1"  version (1 byte, 1)  key-id length (1 byte, 1..32)  key id (ASCII [A-Za-z0-9_-])
    wrap nonce (12)  wrapped data key (32 + 16-byte tag)
    data nonce (12)  data ciphertext (len(plaintext) + 16-byte tag)

AAD of the wrap: b"KFE1" version b"wrap" key-id length, key id, context.
AAD of the data: b"KFE1" version b"data" context.

The wrap is AES-GCM rather than AES key wrap (RFC 3394) because it authenticates AAD: the wrapped
key is bound to its master key id and to the context, not just to the master key. Its nonces are
random; 96 bits stay far from a collision for the 2**32 wraps NIST allows per key. The data AAD
leaves out the wrap fields so `rewrap` changes only them; the data stays bound to the context and,
through its unique data key, to its own wrap. `context` names the owner (b"attachment:<uuid>"), so
an envelope copied onto another record does not open.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"KFE1"
VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_KEY_BYTES = KEY_BYTES + TAG_BYTES
DERIVED_KEY_ID = "derived"
_DERIVED_INFO = b"kefu document master key v1"
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_PREFIX = MAGIC + bytes([VERSION])
# Magic, version and the key-id length byte.
_FIXED_HEAD = len(_PREFIX) + 1
_NOT_AUTHENTIC = "the envelope does not authenticate (wrong key or context, or tampered)"


class DecryptionFailed(Exception):
    """The envelope did not open: wrong key or context, unknown key id, tampered or malformed bytes."""


def _check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or _KEY_ID_RE.fullmatch(key_id) is None:
        raise ValueError("a key id is 1 to 32 characters of A-Z, a-z, 0-9, '_' and '-'")
    return key_id


@dataclass(frozen=True)
class Keyring:
    """Master keys by id; `active_id` wraps new envelopes, the others only open and rewrap old ones."""

    keys: Mapping[str, bytes]
    active_id: str

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            _check_key_id(key_id)
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise ValueError(f"master key {key_id!r} must be {KEY_BYTES} bytes")
        if self.active_id not in self.keys:
            raise ValueError(f"the active key id {self.active_id!r} is not in the keyring")
        # A read-only copy: the caller's dict can no longer change what this keyring decrypts.
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def __repr__(self) -> str:
        # Key material must never reach logs or tracebacks, so only the ids are shown.
        return f"Keyring(active_id={self.active_id!r}, key_ids={tuple(self.keys)!r})"

    @classmethod
    def parse(cls, value: str) -> Keyring:
        """Parse the operator setting "id1:BASE64,id2:BASE64"; the first key is active. ValueError if bad.

        Error messages name the entry and key id but never echo key material.
        """
        if not value.strip():
            raise ValueError("the keyring setting is empty")
        keys: dict[str, bytes] = {}
        for number, raw in enumerate(value.split(","), start=1):
            entry = raw.strip()
            if not entry:
                raise ValueError(f"keyring entry {number} is empty (stray comma?)")
            key_id, colon, encoded = entry.partition(":")
            key_id, encoded = key_id.strip(), encoded.strip()
            if not colon:
                raise ValueError(f"keyring entry {number} is not in the form id:BASE64KEY")
            if _KEY_ID_RE.fullmatch(key_id) is None:
                raise ValueError(
                    f"keyring entry {number}: a key id is 1 to 32 characters of A-Z, a-z, 0-9, '_' and '-'"
                )
            if key_id in keys:
                raise ValueError(f"keyring entry {number}: key id {key_id!r} appears twice")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"key {key_id!r} is not valid standard base64") from None
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} is {len(key)} bytes; a master key is {KEY_BYTES} bytes")
            keys[key_id] = key
        return cls(keys=keys, active_id=next(iter(keys)))

    @classmethod
    def derived(cls, secret: str) -> Keyring:
        """A one-key keyring derived from `secret` (HKDF-SHA256), for development only."""
        if not secret:
            raise ValueError("cannot derive a master key from an empty secret")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_DERIVED_INFO)
        return cls(keys={DERIVED_KEY_ID: hkdf.derive(secret.encode("utf-8"))}, active_id=DERIVED_KEY_ID)


def generate_key_setting(key_id: str) -> str:
    """A new keyring entry "id:BASE64" holding 32 random bytes, for an operator to add to the setting."""
    _check_key_id(key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


@dataclass(frozen=True)
class _Envelope:
    key_id: str
    wrap_nonce: bytes
    wrapped_key: bytes
    data_nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        kid = self.key_id.encode("ascii")
        return b"".join(
            (
                _PREFIX,
                bytes([len(kid)]),
                kid,
                self.wrap_nonce,
                self.wrapped_key,
                self.data_nonce,
                self.ciphertext,
            )
        )


def _parse(sealed: bytes) -> _Envelope:
    # Every length is checked before slicing, so hostile bytes fail here with one error type.
    if not isinstance(sealed, bytes):
        raise DecryptionFailed("malformed envelope: not bytes")
    if len(sealed) < _FIXED_HEAD or sealed[: len(MAGIC)] != MAGIC:
        raise DecryptionFailed("malformed envelope: not a Kefu envelope")
    if sealed[len(MAGIC)] != VERSION:
        raise DecryptionFailed(f"malformed envelope: unknown version {sealed[len(MAGIC)]}")
    kid_end = _FIXED_HEAD + sealed[len(_PREFIX)]
    key_id = sealed[_FIXED_HEAD:kid_end].decode("ascii", errors="replace")
    if len(sealed) < kid_end or _KEY_ID_RE.fullmatch(key_id) is None:
        raise DecryptionFailed("malformed envelope: bad key id")
    wrap_end = kid_end + NONCE_BYTES + WRAPPED_KEY_BYTES
    data_start = wrap_end + NONCE_BYTES
    if len(sealed) < data_start + TAG_BYTES:
        raise DecryptionFailed("malformed envelope: truncated")
    return _Envelope(
        key_id=key_id,
        wrap_nonce=sealed[kid_end : kid_end + NONCE_BYTES],
        wrapped_key=sealed[kid_end + NONCE_BYTES : wrap_end],
        data_nonce=sealed[wrap_end:data_start],
        ciphertext=sealed[data_start:],
    )


def _wrap_aad(key_id: str, context: bytes) -> bytes:
    kid = key_id.encode("ascii")
    return _PREFIX + b"wrap" + bytes([len(kid)]) + kid + context


def _data_aad(context: bytes) -> bytes:
    return _PREFIX + b"data" + context


def _check_context(context: bytes) -> None:
    if not isinstance(context, bytes) or not context:
        raise ValueError("an envelope needs a non-empty bytes context naming its owner")


def _master_key(keyring: Keyring, key_id: str) -> bytes:
    try:
        return keyring.keys[key_id]
    except KeyError:
        raise DecryptionFailed(f"no master key with id {key_id!r} in the keyring") from None


def _wrap(keyring: Keyring, data_key: bytes, context: bytes) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(NONCE_BYTES)
    master = AESGCM(keyring.keys[keyring.active_id])
    return nonce, master.encrypt(nonce, data_key, _wrap_aad(keyring.active_id, context))


def _unwrap(keyring: Keyring, envelope: _Envelope, context: bytes) -> bytes:
    master = AESGCM(_master_key(keyring, envelope.key_id))
    try:
        return master.decrypt(envelope.wrap_nonce, envelope.wrapped_key, _wrap_aad(envelope.key_id, context))
    except InvalidTag:
        raise DecryptionFailed(_NOT_AUTHENTIC) from None


def _open_data(data_key: bytes, envelope: _Envelope, context: bytes) -> bytes:
    try:
        return AESGCM(data_key).decrypt(envelope.data_nonce, envelope.ciphertext, _data_aad(context))
    except InvalidTag:
        raise DecryptionFailed(_NOT_AUTHENTIC) from None


def seal(keyring: Keyring, plaintext: bytes, *, context: bytes) -> bytes:
    """Encrypt `plaintext` for the owner named by `context` under the keyring's active master key."""
    _check_context(context)
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    data_nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, _data_aad(context))
    wrap_nonce, wrapped_key = _wrap(keyring, data_key, context)
    return _Envelope(keyring.active_id, wrap_nonce, wrapped_key, data_nonce, ciphertext).to_bytes()


def open_sealed(keyring: Keyring, sealed: bytes, *, context: bytes) -> bytes:
    """The plaintext of a `seal`ed envelope; DecryptionFailed unless key, context and bytes all match."""
    _check_context(context)
    envelope = _parse(sealed)
    return _open_data(_unwrap(keyring, envelope, context), envelope, context)


def rewrap(keyring: Keyring, sealed: bytes, *, context: bytes) -> bytes:
    """The envelope with its data key wrapped under the active master key; the data part is unchanged.

    The whole envelope is authenticated first (DecryptionFailed otherwise); an envelope already under
    the active key is returned as it is.
    """
    _check_context(context)
    envelope = _parse(sealed)
    data_key = _unwrap(keyring, envelope, context)
    _open_data(data_key, envelope, context)
    if envelope.key_id == keyring.active_id:
        return sealed
    wrap_nonce, wrapped_key = _wrap(keyring, data_key, context)
    return _Envelope(
        keyring.active_id, wrap_nonce, wrapped_key, envelope.data_nonce, envelope.ciphertext
    ).to_bytes()


def sealed_key_id(sealed: bytes) -> str:
    """Id of the master key that wrapped the envelope (unauthenticated; DecryptionFailed if malformed)."""
    return _parse(sealed).key_id


def seal_text(keyring: Keyring, text: str, *, context: bytes) -> bytes:
    """`seal` for a small secret string (stored as UTF-8)."""
    return seal(keyring, text.encode("utf-8"), context=context)


def open_text(keyring: Keyring, sealed: bytes, *, context: bytes) -> str:
    """The string sealed by `seal_text`; DecryptionFailed as `open_sealed`, or if it is not UTF-8."""
    plaintext = open_sealed(keyring, sealed, context=context)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionFailed("the envelope does not hold UTF-8 text") from None
