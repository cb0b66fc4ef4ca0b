"""Deterministic secrets and look-alikes for the redaction tests and corpora (same seed, same value)."""

from __future__ import annotations

import hashlib
import json
import random
import uuid

import base58
from mnemonic import Mnemonic

_ENTROPY_BYTES = {12: 16, 15: 20, 18: 24, 21: 28, 24: 32}


def _rng(label: str, seed: int) -> random.Random:
    return random.Random(f"{label}:{seed}")


def mnemonic(seed: int, words: int = 12, language: str = "english") -> str:
    """A checksum-valid BIP-39 phrase, words separated by single spaces."""
    return Mnemonic(language).to_mnemonic(_rng("mnemonic", seed).randbytes(_ENTROPY_BYTES[words]))


def hex32(label: str, seed: int) -> str:
    """64 lowercase hex characters (a private key or a transaction hash, depending on `label`)."""
    return hashlib.sha256(f"{label}:{seed}".encode()).hexdigest()


def wif(seed: int, *, compressed: bool = True, testnet: bool = False) -> str:
    """A WIF private key (5…/K…/L… on mainnet, 9…/c… on testnet)."""
    payload = bytes([0xEF if testnet else 0x80]) + bytes.fromhex(hex32("wif", seed))
    return base58.b58encode_check(payload + (b"\x01" if compressed else b"")).decode()


_EXTENDED = {"xprv": "0488ade4", "yprv": "049d7878", "zprv": "04b2430c", "tprv": "04358394",
             "xpub": "0488b21e", "ypub": "049d7cb2", "zpub": "04b24746", "tpub": "043587cf"}  # fmt: skip


def extended(seed: int, prefix: str = "xprv") -> str:
    """A base58check BIP-32 extended key with the version bytes of `prefix`."""
    rng = _rng("extended", seed)
    key = b"\x00" + rng.randbytes(32) if prefix.endswith("prv") else b"\x02" + rng.randbytes(32)
    body = (
        bytes.fromhex(_EXTENDED[prefix])
        + bytes([3])
        + rng.randbytes(4)
        + rng.randbytes(4)
        + rng.randbytes(32)
    )
    return base58.b58encode_check(body + key).decode()


def keystore(seed: int, *, indent: int | None = None, capital: bool = False) -> str:
    """An Ethereum v3 keystore JSON document (random-looking, not decryptable)."""
    rng = _rng("keystore", seed)
    document = {
        "address": rng.randbytes(20).hex(),
        "Crypto" if capital else "crypto": {
            "cipher": "aes-128-ctr",
            "ciphertext": rng.randbytes(32).hex(),
            "cipherparams": {"iv": rng.randbytes(16).hex()},
            "kdf": "scrypt",
            "kdfparams": {"dklen": 32, "n": 262144, "p": 1, "r": 8, "salt": rng.randbytes(32).hex()},
            "mac": rng.randbytes(32).hex(),
        },
        "id": str(uuid.UUID(bytes=rng.randbytes(16), version=4)),
        "version": 3,
    }
    return json.dumps(document, indent=indent)


def api_secret(seed: int, length: int = 64) -> str:
    """An exchange-style API secret: letters and digits."""
    rng = _rng("api", seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def luhn_complete(prefix_and_body: str) -> str:
    """Append the Luhn check digit."""
    total = 0
    for i, char in enumerate(reversed(prefix_and_body)):
        value = int(char)
        if i % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return prefix_and_body + str((10 - total % 10) % 10)


def card(seed: int, prefix: str = "4", length: int = 16) -> str:
    """A Luhn-valid card number with the given issuer prefix."""
    rng = _rng("card", seed)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def grouped(number: str, sep: str = " ") -> str:
    """`number` in groups of four ("4111 1111 1111 1111")."""
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def digits(seed: int, length: int, first: str = "1") -> str:
    """A digit string (order ids, UIDs)."""
    rng = _rng("digits", seed)
    return first + "".join(rng.choice("0123456789") for _ in range(length - 1))


def btc_address(seed: int, version: int = 0x00) -> str:
    """A base58check address (1… for P2PKH, 3… with version 0x05)."""
    return base58.b58encode_check(bytes([version]) + _rng("btc", seed).randbytes(20)).decode()


def tron_address(seed: int) -> str:
    """A TRON T… address."""
    return base58.b58encode_check(b"\x41" + _rng("tron", seed).randbytes(20)).decode()


def sol_address(seed: int) -> str:
    """A Solana address (base58 of 32 bytes)."""
    return base58.b58encode(_rng("sol", seed).randbytes(32)).decode()


def sol_signature(seed: int) -> str:
    """A Solana transaction signature (base58 of 64 bytes)."""
    return base58.b58encode(_rng("solsig", seed).randbytes(64)).decode()


def eth_address(seed: int) -> str:
    """0x + 40 hex."""
    return "0x" + _rng("eth", seed).randbytes(20).hex()


# Real, public addresses in the bech32 formats (no checksum code needed here).
BECH32 = (
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
)
