"""Transaction hashes and addresses per network family: real-looking examples pass, near misses fail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.request_forms.chains import (
    AddressRule,
    TxRule,
    address_rule,
    chain_for,
    display_name,
    is_address,
    is_tx_hash,
    tx_hash_rule,
)

HEX64 = "9f1c" + "ab" * 30
EVM_TX = "0x" + HEX64
SOLANA_SIG = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
TON_B64 = "Xx7a9yN1fZ0vQm2L3kP8sT5uW6rY4eB1cD2gH3jK4lM="


@pytest.mark.parametrize(
    ("network", "family"),
    [
        ("ERC20", "ERC20"),
        ("ethereum", "ERC20"),
        ("BNB Smart Chain (BEP20)", "BEP20"),
        ("bep-20", "BEP20"),
        ("BSC", "BEP20"),
        ("MATIC", "Polygon"),
        ("Arbitrum One", "Arbitrum"),
        ("OP", "Optimism"),
        ("Base", "Base"),
        ("AVAX C-Chain", "AVAX-C"),
        ("trc20", "TRC20"),
        ("TRON", "TRC20"),
        ("Bitcoin", "BTC"),
        ("ltc", "LTC"),
        ("Bitcoin Cash", "BCH"),
        ("DOGE", "DOGE"),
        ("SOL", "Solana"),
        ("ton", "TON"),
        ("XRP Ledger", "XRP"),
    ],
)
def test_aliases_name_one_family(network: str, family: str) -> None:
    chain = chain_for(network)
    assert chain is not None
    assert chain.name == family
    assert display_name(network) == family


def test_unknown_networks_get_the_generic_checks() -> None:
    for network in ("Kaspa", "", None, "ＥＲＣ２０", "E R C 2 0 x"):
        assert tx_hash_rule(network) == TxRule.GENERIC
        assert address_rule(network) == AddressRule.GENERIC
    assert display_name("Kaspa") == "Kaspa"


@pytest.mark.parametrize(
    ("network", "value"),
    [
        *[(n, EVM_TX) for n in ("ERC20", "BEP20", "Polygon", "Arbitrum", "Optimism", "Base", "AVAX-C")],
        ("ERC20", "0x" + HEX64.upper()),
        ("TRC20", HEX64),
        ("BTC", HEX64),
        ("LTC", HEX64),
        ("BCH", HEX64),
        ("DOGE", HEX64),
        ("XRP", HEX64.upper()),
        ("Solana", SOLANA_SIG),
        ("Solana", SOLANA_SIG[:87]),
        ("TON", HEX64),
        ("TON", TON_B64),
        ("Kaspa", HEX64),
        (None, EVM_TX),
    ],
)
def test_valid_transaction_hashes(network: str | None, value: str) -> None:
    assert is_tx_hash(value, network)


@pytest.mark.parametrize(
    ("network", "value"),
    [
        ("ERC20", HEX64),  # no 0x
        ("BEP20", "0x" + HEX64[:-1]),  # 63 hex
        ("Base", "0x" + HEX64 + "a"),  # 65 hex
        ("Polygon", "0x" + "g" * 64),  # not hex
        ("TRC20", EVM_TX),  # Tron ids have no 0x
        ("TRC20", HEX64[:-2]),
        ("BTC", EVM_TX),
        ("DOGE", "z" * 64),
        ("XRP", HEX64 + "00"),
        ("Solana", HEX64),
        ("Solana", SOLANA_SIG[:86]),
        ("Solana", SOLANA_SIG[:-1] + "0"),  # 0 is not base58
        ("TON", TON_B64[:-2]),
        (None, "not a hash!"),
        (None, "0x123"),
        ("ERC20", ""),
        ("ERC20", EVM_TX + "\n"),
        ("ERC20", " " + EVM_TX),
    ],
)
def test_invalid_transaction_hashes(network: str | None, value: str) -> None:
    assert not is_tx_hash(value, network)


@pytest.mark.parametrize(
    ("network", "value"),
    [
        ("ERC20", "0x52908400098527886E0F7030069857D2E4169EE7"),
        ("BEP20", "0x" + "a1" * 20),
        ("TRC20", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("BTC", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
        ("BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("BTC", "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"),
        ("LTC", "LZ8Tu4Bh7sfkX1a1GgnVAHnN5p2FRtA3zQ"),
        ("LTC", "ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfea"),
        ("BCH", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
        ("BCH", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
        ("DOGE", "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L"),
        ("Solana", "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"),
        ("TON", "EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2"),
        ("TON", "0:" + "ab" * 32),
        ("XRP", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
        ("Kaspa", "kaspa:qr0lr4ml9fn3chekrqmjdkergxl93l4wrk3dankcgvjq776s9wn9jkdskewva"),
    ],
)
def test_valid_addresses(network: str, value: str) -> None:
    assert is_address(value, network)


@pytest.mark.parametrize(
    ("network", "value"),
    [
        ("ERC20", "0x52908400098527886E0F7030069857D2E4169EE"),  # 39 hex
        ("ERC20", "52908400098527886E0F7030069857D2E4169EE7"),  # no 0x
        ("BEP20", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"),  # a Tron address on BSC
        ("TRC20", "0x52908400098527886E0F7030069857D2E4169EE7"),
        ("TRC20", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv"),  # 33 characters
        ("TRC20", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv0"),  # 0 is not base58
        ("BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdb"[:10]),
        ("BTC", "2A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("BTC", "bc1QAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),  # mixed case
        ("DOGE", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("Solana", "0x52908400098527886E0F7030069857D2E4169EE7"),
        ("XRP", "xHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
        (None, "short"),
        (None, "<script>alert(1)</script>"),
    ],
)
def test_invalid_addresses(network: str | None, value: str) -> None:
    assert not is_address(value, network)


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=300), network=st.one_of(st.none(), st.text(max_size=50)))
def test_checks_never_raise(value: str, network: str | None) -> None:
    assert isinstance(is_tx_hash(value, network), bool)
    assert isinstance(is_address(value, network), bool)
