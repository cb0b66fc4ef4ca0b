"""Wallet keys: raw hex private keys (in context only), WIF and extended private keys, keystore JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator

import base58

from kefu.trust.redaction.context import Cues, closer, lowered, standalone, w
from kefu.trust.redaction.kinds import Finding, SecretKind

# A 64-hex string is a transaction hash or block hash far more often than a key, so it counts only
# with a key cue nearby that is closer than any transaction cue.
# Plain runs (no look-arounds) let the regex engine skip quickly; edges are checked in Python.
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Cue patterns run over the lower-cased text (see `context.lowered`).
# "API secret: <hex>" is an exchange API secret, which the credentials detector names.
_NOT_API = "".join(f"(?<!api{sep}secret)" for sep in ("", " ", "_", "-"))
_NOT_API_ZH = "".join(
    f"(?<!api{sep}{word})" for sep in ("", " ") for word in ("秘钥", "祕鑰", "密钥", "密鑰")
)
KEY_CUE = re.compile(
    rf"private[\s_-]*key|priv[\s_-]*key|privkey|secret{_NOT_API}|{w('pk')}(?![a-z0-9])|{w('wif')}(?![a-z0-9])"
    rf"|私钥|私鑰|(?:秘钥|祕鑰|密钥|密鑰){_NOT_API_ZH}"
)
_TX_CUE = re.compile(
    rf"{w('tx')}|hash|transaction|交易|哈希|区块|區塊|{w('block')}|explorer|scan(?![a-z0-9])"
)

_B58_RUN = re.compile(r"[1-9A-HJ-NP-Za-km-z]{51,112}")
_WIF_FIRST = frozenset("59KLc")
_EXTENDED_PREFIXES = ("xprv", "yprv", "zprv", "tprv", "uprv", "vprv", "Yprv", "Zprv", "Uprv", "Vprv")
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


def find_hex_keys(text: str, low: str | None = None) -> Iterator[Finding]:
    """64-hex private keys (optional 0x) with a key cue nearer than any transaction cue.

    `low` is `lowered(text)` when the caller has it already.
    """
    key_cues = tx_cues = None
    for match in _HEX64.finditer(text):
        start, end = match.span()
        if text[max(0, start - 2) : start] in ("0x", "0X"):
            start -= 2
        if not standalone(text, start, end):
            continue
        if key_cues is None or tx_cues is None:
            low = lowered(text) if low is None else low
            key_cues, tx_cues = Cues(low, KEY_CUE, same_sentence=True), Cues(low, _TX_CUE)
        if closer(start, end, key_cues, tx_cues):
            yield Finding(SecretKind.PRIVATE_KEY, start, end, certain=False)


def find_base58_keys(text: str, low: str | None = None) -> Iterator[Finding]:
    """WIF keys and extended private keys (xprv …), certain when their base58check verifies."""
    key_cues = None
    for match in _B58_RUN.finditer(text):
        start, end = match.span()
        token = match.group()
        extended = token.startswith(_EXTENDED_PREFIXES)
        if not standalone(text, start, end) or not (
            extended or (token[0] in _WIF_FIRST and len(token) <= 52)
        ):
            continue
        payload = _decode_check(token)
        if extended:
            if payload is not None and len(payload) == 78 and payload[:4] in _EXTENDED_VERSIONS:
                yield Finding(SecretKind.EXTENDED_KEY, start, end, certain=True)
            elif len(token) == _EXTENDED_LENGTH:  # a mistyped character breaks only the checksum
                yield Finding(SecretKind.EXTENDED_KEY, start, end, certain=False)
            continue
        if payload is not None and _is_wif(payload):
            yield Finding(SecretKind.WIF_KEY, start, end, certain=True)
            continue
        key_cues = key_cues or Cues(lowered(text) if low is None else low, KEY_CUE, same_sentence=True)
        if payload is None and key_cues.distance(start, end) is not None:
            yield Finding(SecretKind.WIF_KEY, start, end, certain=False)


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
        start = match.start() if opening is None else opening
        end = None if opening is None else _matching_close(text, opening)
        if end is None:  # pasted without its outer object, or cut short: the crypto object, or the rest
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
