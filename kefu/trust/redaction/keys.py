"""Wallet keys: raw hex private keys (in context only), WIF and extended private keys, keystore JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator

import base58

from kefu.trust.redaction.context import Cues, closer
from kefu.trust.redaction.kinds import Finding, SecretKind

# A 64-hex string is a transaction hash or block hash far more often than a key, so it counts only
# with a key cue nearby that is closer than any transaction cue.
_HEX64 = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
# ASCII word edges: `\b` sees no edge between a Chinese character and a Latin letter ("的PK").
_L, _R = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
# "API secret: <hex>" is an exchange API secret, which the credentials detector names.
_NOT_API = r"(?<!api)(?<!api )(?<!api_)(?<!api-)"
KEY_CUE = re.compile(
    rf"private[\s_-]*key|priv[\s_-]*key|privkey|{_NOT_API}secret|{_L}pk{_R}|{_L}wif{_R}|私钥|私鑰"
    rf"|{_NOT_API}(?:秘钥|祕鑰|密钥|密鑰)",
    re.IGNORECASE,
)
_TX_CUE = re.compile(
    rf"{_L}tx|txid|txn|hash|transaction|交易|哈希|区块|區塊|{_L}block|explorer|scan{_R}|etherscan|bscscan|tronscan",
    re.IGNORECASE,
)

_B58 = "1-9A-HJ-NP-Za-km-z"
_B58_TOKEN = re.compile(
    rf"(?<![0-9A-Za-z])(?:(?P<ext>[xyztuvYZUV]prv)[{_B58}]{{100,112}}|[59KLc][{_B58}]{{50,51}})(?![0-9A-Za-z])"
)
# BIP-32/SLIP-132 private version bytes: xprv yprv zprv tprv uprv vprv Yprv Zprv Uprv Vprv.
_EXTENDED_VERSIONS = frozenset(
    bytes.fromhex(v)
    for v in (
        "0488ade4", "049d7878", "04b2430c", "04358394", "044a4e28",
        "045f18bc", "0295b005", "02aa7a99", "024285b5", "02575048",
    )
)  # fmt: skip
_EXTENDED_LENGTH = 111
_WIF_VERSIONS = (0x80, 0xEF)

_KEYSTORE = re.compile(r'\\?"(?:crypto|Crypto|CRYPTO)\\?"\s*:\s*\{')
_CIPHERTEXT = re.compile(r"ciphertext", re.IGNORECASE)
_KEYSTORE_REACH = 2_000
_KEYSTORE_LIMIT = 10_000
_KEYSTORE_CANDIDATES = 50


def find_hex_keys(text: str) -> Iterator[Finding]:
    """64-hex private keys (optional 0x) with a key cue nearer than any transaction cue."""
    key_cues, tx_cues = Cues(text, KEY_CUE, same_sentence=True), Cues(text, _TX_CUE)
    for match in _HEX64.finditer(text):
        if closer(match.start(), match.end(), key_cues, tx_cues):
            yield Finding(SecretKind.PRIVATE_KEY, match.start(), match.end(), certain=False)


def find_base58_keys(text: str) -> Iterator[Finding]:
    """WIF keys and extended private keys (xprv …), certain when their base58check verifies."""
    key_cues = Cues(text, KEY_CUE, same_sentence=True)
    for match in _B58_TOKEN.finditer(text):
        token = match.group()
        payload = _decode_check(token)
        if match.group("ext"):
            if payload is not None and len(payload) == 78 and payload[:4] in _EXTENDED_VERSIONS:
                yield Finding(SecretKind.EXTENDED_KEY, match.start(), match.end(), certain=True)
            elif len(token) == _EXTENDED_LENGTH:  # a mistyped character breaks only the checksum
                yield Finding(SecretKind.EXTENDED_KEY, match.start(), match.end(), certain=False)
            continue
        if payload is not None and _is_wif(payload):
            yield Finding(SecretKind.WIF_KEY, match.start(), match.end(), certain=True)
        elif payload is None and key_cues.distance(match.start(), match.end()) is not None:
            yield Finding(SecretKind.WIF_KEY, match.start(), match.end(), certain=False)


def _decode_check(token: str) -> bytes | None:
    try:
        return base58.b58decode_check(token)
    except ValueError:
        return None


def _is_wif(payload: bytes) -> bool:
    if not payload or payload[0] not in _WIF_VERSIONS:
        return False
    return len(payload) == 33 or (len(payload) == 34 and payload[-1] == 0x01)


def find_keystores(text: str) -> Iterator[Finding]:
    """Ethereum keystore JSON (an object with a "crypto" object holding a ciphertext): the whole object."""
    cursor = 0
    # Each candidate costs a bounded scan; the cap keeps text stuffed with `"crypto": {` linear.
    for _ in range(_KEYSTORE_CANDIDATES):
        match = _KEYSTORE.search(text, cursor)
        if match is None:
            return
        opening = _enclosing_open(text, match.start())
        start, end = match.start(), None
        if opening is not None:
            start, end = opening, _matching_close(text, opening)
        if end is None:  # no enclosing object, or truncated: at least the crypto object, or the rest
            start = match.start()
            end = _matching_close(text, match.end() - 1) or min(len(text), start + _KEYSTORE_LIMIT)
        if _CIPHERTEXT.search(text, start, end):
            yield Finding(SecretKind.KEYSTORE, start, end, certain=True)
            cursor = end
        else:
            cursor = match.end()


def _enclosing_open(text: str, position: int) -> int | None:
    """Index of the `{` that opens the object containing `position` (braces inside strings ignored)."""
    depth = 0
    in_string = False
    for i in range(position - 1, max(-1, position - 1 - _KEYSTORE_REACH), -1):
        char = text[i]
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            in_string = not in_string
        elif in_string:
            continue
        elif char == "}":
            depth += 1
        elif char == "{":
            if depth == 0:
                return i
            depth -= 1
    return None


def _matching_close(text: str, open_index: int) -> int | None:
    """End (exclusive) of the object whose `{` is at `open_index`, or None when it is not closed."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(open_index, min(len(text), open_index + _KEYSTORE_LIMIT)):
        char = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None
