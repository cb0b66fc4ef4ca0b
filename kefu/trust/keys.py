"""The master keyring of identity documents and anti-phishing codes, from settings."""

from __future__ import annotations

from functools import lru_cache

from kefu.settings import Settings
from kefu.storage.envelope import Keyring


@lru_cache(maxsize=4)
def _keyring(configured: str, secret_key: str) -> Keyring:
    return Keyring.parse(configured) if configured else Keyring.derived(secret_key)


def keyring_from_settings(settings: Settings) -> Keyring:
    """`KEFU_DOCUMENT_KEYS`, or in development a key derived from the secret key (production refuses)."""
    return _keyring(settings.document_keys.get_secret_value(), settings.secret_key.get_secret_value())
