"""Wallet keys: hex keys only with a key cue, WIF and extended keys by checksum, keystore JSON whole."""

from __future__ import annotations

import json

import pytest

from kefu.trust.redaction import SecretKind, placeholder, redact
from tests.trust.redaction import secrets_gen as g

KEY = g.hex32("key", 1)
TX = g.hex32("tx", 1)


def kinds(text: str) -> list[tuple[SecretKind, bool, str]]:
    """(kind, certain, redacted substring) of each finding."""
    return [(f.kind, f.certain, text[f.start : f.end]) for f in redact(text).findings]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"private key: {KEY}", KEY),
        (f"my private key is 0x{KEY}", f"0x{KEY}"),
        (f"privkey={KEY}", KEY),
        (f"PrivateKey 0X{KEY.upper()}", f"0X{KEY.upper()}"),
        (f"secret: {KEY}", KEY),
        (f"pk {KEY}", KEY),
        (f"私钥是{KEY}", KEY),
        (f"我的私鑰：0x{KEY}，幫我看看", f"0x{KEY}"),
        (f"{KEY}\nthat's the private key of my wallet", KEY),
        (f"My private key. 0x{KEY}", f"0x{KEY}"),
        (f"my private key was stolen yesterday, here it is so you can trace it: {KEY}", KEY),
    ],
)
def test_hex_key_with_a_key_cue(text: str, secret: str) -> None:
    assert kinds(text) == [(SecretKind.PRIVATE_KEY, False, secret)]
    assert redact(text).text == text.replace(secret, placeholder(SecretKind.PRIVATE_KEY))


@pytest.mark.parametrize(
    "text",
    [
        TX,
        f"0x{TX}",
        f"tx hash 0x{TX} please check",
        f"TXID: {TX}",
        f"交易哈希 {TX}",
        f"I never shared my private key, but this tx drained me: 0x{TX}",
        f"my private key was stolen! the attacker tx: 0x{TX}",
        f"is my private key safe? I sent 2 ETH in 0x{TX} and it never arrived",
        f"https://etherscan.io/tx/0x{TX}",
        f"block {TX}",
        f"private key: {TX}{TX}",  # 128 hex: not a key
        f"private key: {TX[:63]}",  # 63 hex
        f"private key: g{TX}",  # glued to a letter
        f"My wallet {TX}",
        f"It's no secret that your fees are high. Here's my deposit hash: {TX}",
    ],
)
def test_hex_without_a_nearer_key_cue_is_left_for_support(text: str) -> None:
    assert not redact(text).changed


def test_api_secret_cue_names_an_api_secret_not_a_key() -> None:
    assert kinds(f"API secret: {KEY}") == [(SecretKind.API_SECRET, False, KEY)]
    assert kinds(f"API 密钥：{KEY}") == [(SecretKind.API_SECRET, False, KEY)]


@pytest.mark.parametrize(
    ("compressed", "testnet"), [(True, False), (False, False), (True, True), (False, True)]
)
def test_wif_keys_by_checksum(compressed: bool, testnet: bool) -> None:
    wif = g.wif(2, compressed=compressed, testnet=testnet)
    assert wif[0] in "5KL9c"
    assert kinds(f"import {wif} please") == [(SecretKind.WIF_KEY, True, wif)]
    assert kinds(f"老钱包的私钥{wif}能导入吗") == [(SecretKind.WIF_KEY, True, wif)]


def test_a_broken_wif_counts_only_with_a_key_cue() -> None:
    wif = g.wif(3)
    broken = wif[:-1] + ("1" if wif[-1] != "1" else "2")
    assert not redact(f"see {broken}").changed
    assert kinds(f"private key {broken}") == [(SecretKind.WIF_KEY, False, broken)]


@pytest.mark.parametrize("prefix", ["xprv", "yprv", "zprv", "tprv"])
def test_extended_private_keys(prefix: str) -> None:
    key = g.extended(4, prefix)
    assert key.startswith(prefix)
    assert kinds(f"master key {key}.") == [(SecretKind.EXTENDED_KEY, True, key)]


def test_a_mistyped_xprv_is_still_likely_and_xpub_is_public() -> None:
    key = g.extended(5)
    broken = key[:50] + ("a" if key[50] != "a" else "b") + key[51:]
    assert kinds(broken) == [(SecretKind.EXTENDED_KEY, False, broken)]
    for public in ("xpub", "ypub", "zpub", "tpub"):
        assert not redact(f"watch-only {g.extended(6, public)}").changed


@pytest.mark.parametrize(
    "address",
    [
        g.btc_address(1),
        g.btc_address(2, 5),
        g.tron_address(1),
        g.sol_address(1),
        g.sol_signature(1),
        *g.BECH32,
    ],
)
def test_addresses_and_signatures_are_untouched(address: str) -> None:
    assert not redact(f"send to {address} please, my private key is safe").changed


@pytest.mark.parametrize(("indent", "capital"), [(None, False), (2, True), (4, False)])
def test_keystore_whole_object(indent: int | None, capital: bool) -> None:
    keystore = g.keystore(7, indent=indent, capital=capital)
    text = f"file:\n{keystore}\nthe password hint is my cat"
    assert kinds(text) == [(SecretKind.KEYSTORE, True, keystore)]
    assert redact(text).text == f"file:\n{placeholder(SecretKind.KEYSTORE)}\nthe password hint is my cat"


def test_truncated_keystore_is_redacted_to_the_end() -> None:
    keystore = g.keystore(8)
    cut = keystore[: len(keystore) // 2]
    text = f"it got cut: {cut}"
    (finding,) = redact(text).findings
    assert finding.kind is SecretKind.KEYSTORE
    assert json.loads(keystore)["crypto"]["ciphertext"] not in redact(text).text
    assert text[: finding.start] == "it got cut: "


@pytest.mark.parametrize(
    "text",
    [
        '{"crypto": {"btc": 64000, "eth": 3100}}',
        '{"Crypto": "BTC", "ciphertext": "none"}',
        "My crypto wallet has no ciphertext",
    ],
)
def test_other_json_about_crypto_is_untouched(text: str) -> None:
    assert not redact(text).changed
