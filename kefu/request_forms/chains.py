"""What a transaction hash and an address look like on each blockchain network, by network name.

Customers name networks every way exchanges do ("ERC20", "Ethereum", "BNB Smart Chain (BEP20)"), so
names are reduced to letters and digits and looked up in one alias table. An unknown network gets the
generic shape checks: a wrong guess here would refuse a customer whose deposit we need to find.
Only shapes are checked (length, alphabet, prefix), never checksums: cheap, and never wrong for a
real value copied from a wallet or an explorer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class TxRule(StrEnum):
    """The shapes of transaction ids; each has its own message for customers."""

    HEX64_0X = "hex64_0x"  # EVM chains: 0x + 64 hex
    HEX64 = "hex64"  # Bitcoin family, Tron, XRP, Stellar, Cardano, Cosmos: 64 hex, no 0x
    BASE58_SIGNATURE = "base58_signature"  # Solana: an 87-88 character base58 signature
    HEX64_OR_BASE64 = "hex64_or_base64"  # TON: 64 hex or 44 base64(url) characters
    GENERIC = "generic"  # unknown networks: 32-100 letters and digits, optional 0x


class AddressRule(StrEnum):
    """The shapes of addresses; EVM and Tron have their own messages, the rest share one."""

    EVM = "evm"
    TRON = "tron"
    BITCOIN = "bitcoin"
    LITECOIN = "litecoin"
    BITCOIN_CASH = "bitcoin_cash"
    DOGECOIN = "dogecoin"
    SOLANA = "solana"
    TON = "ton"
    XRP = "xrp"
    GENERIC = "generic"


@dataclass(frozen=True)
class Chain:
    """The checks of one network family, and the name customers see in messages."""

    name: str
    tx: TxRule
    address: AddressRule


_B58 = "[1-9A-HJ-NP-Za-km-z]"  # base58 (Bitcoin alphabet): no 0, O, I, l
_BECH32 = "[02-9ac-hj-np-z]"  # bech32 data characters (lower case)

TX_PATTERNS: Final[dict[TxRule, re.Pattern[str]]] = {
    TxRule.HEX64_0X: re.compile(r"0x[0-9a-fA-F]{64}"),
    TxRule.HEX64: re.compile(r"[0-9a-fA-F]{64}"),
    TxRule.BASE58_SIGNATURE: re.compile(_B58 + "{87,88}"),
    TxRule.HEX64_OR_BASE64: re.compile(r"[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}="),
    TxRule.GENERIC: re.compile(r"(0x)?[A-Za-z0-9]{32,100}"),
}

ADDRESS_PATTERNS: Final[dict[AddressRule, re.Pattern[str]]] = {
    AddressRule.EVM: re.compile(r"0x[0-9a-fA-F]{40}"),
    AddressRule.TRON: re.compile("T" + _B58 + "{33}"),
    # Legacy (1…), script (3…) and bech32/bech32m (bc1…; either case, never mixed).
    AddressRule.BITCOIN: re.compile(
        "[13]" + _B58 + "{25,34}|bc1" + _BECH32 + "{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71}"
    ),
    AddressRule.LITECOIN: re.compile("[LM3]" + _B58 + "{26,33}|ltc1" + _BECH32 + "{11,71}"),
    # CashAddr with or without its prefix, or a legacy address.
    AddressRule.BITCOIN_CASH: re.compile("(bitcoincash:)?[qp]" + _BECH32 + "{41}|[13]" + _B58 + "{25,34}"),
    AddressRule.DOGECOIN: re.compile("[DA9]" + _B58 + "{25,34}"),
    AddressRule.SOLANA: re.compile(_B58 + "{32,44}"),
    # Raw (workchain:hex) or user-friendly (48 base64url characters).
    AddressRule.TON: re.compile(r"-?[01]:[0-9a-fA-F]{64}|[A-Za-z0-9_+/-]{48}"),
    AddressRule.XRP: re.compile("r" + _B58 + "{24,34}"),
    AddressRule.GENERIC: re.compile(r"[A-Za-z0-9:_.-]{10,128}"),
}


def _chain(name: str, tx: TxRule, address: AddressRule, *aliases: str) -> dict[str, Chain]:
    chain = Chain(name, tx, address)
    return {network_key(alias): chain for alias in (name, *aliases)}


def network_key(network: str) -> str:
    """A network name reduced for lookup: upper-case letters and digits ("BEP-20 " -> "BEP20")."""
    return "".join(ch for ch in network.upper() if ch.isascii() and ch.isalnum())


_EVM = (TxRule.HEX64_0X, AddressRule.EVM)
_HEX = TxRule.HEX64

CHAINS: Final[dict[str, Chain]] = {
    **_chain("ERC20", *_EVM, "ETH", "Ethereum", "Ethereum (ERC20)", "ETH-ERC20"),
    **_chain("BEP20", *_EVM, "BSC", "BNB Smart Chain", "BNB Smart Chain (BEP20)", "BNB", "BEP20 (BSC)"),
    **_chain("Polygon", *_EVM, "MATIC", "POL", "Polygon PoS", "Polygon (MATIC)"),
    **_chain("Arbitrum", *_EVM, "ARB", "Arbitrum One", "ARBITRUM", "ArbitrumOne"),
    **_chain("Optimism", *_EVM, "OP", "OP Mainnet", "Optimism (OP)"),
    **_chain("Base", *_EVM, "Base Mainnet"),
    **_chain("AVAX-C", *_EVM, "AVAXC", "AVAX C-Chain", "Avalanche C-Chain", "C-Chain", "AVAXCCHAIN"),
    **_chain("Linea", *_EVM),
    **_chain("zkSync Era", *_EVM, "zkSync", "ZKSYNCERA"),
    **_chain("Fantom", *_EVM, "FTM"),
    **_chain("TRC20", _HEX, AddressRule.TRON, "Tron", "TRX", "Tron (TRC20)", "TRON TRC20"),
    **_chain("BTC", _HEX, AddressRule.BITCOIN, "Bitcoin", "BTC (SegWit)", "BTC SegWit", "Bitcoin Mainnet"),
    **_chain("LTC", _HEX, AddressRule.LITECOIN, "Litecoin"),
    **_chain("BCH", _HEX, AddressRule.BITCOIN_CASH, "Bitcoin Cash"),
    **_chain("DOGE", _HEX, AddressRule.DOGECOIN, "Dogecoin"),
    **_chain("Solana", TxRule.BASE58_SIGNATURE, AddressRule.SOLANA, "SOL", "SPL"),
    **_chain("TON", TxRule.HEX64_OR_BASE64, AddressRule.TON, "The Open Network", "Toncoin"),
    **_chain("XRP", _HEX, AddressRule.XRP, "Ripple", "XRP Ledger", "XRPL"),
    **_chain("XLM", _HEX, AddressRule.GENERIC, "Stellar"),
    **_chain("ADA", _HEX, AddressRule.GENERIC, "Cardano"),
    **_chain("ATOM", _HEX, AddressRule.GENERIC, "Cosmos", "Cosmos Hub"),
}


def chain_for(network: str | None) -> Chain | None:
    """The known network family `network` names (any alias, any spelling), else None."""
    if not network:
        return None
    return CHAINS.get(network_key(network))


def tx_hash_rule(network: str | None) -> TxRule:
    """The transaction-id shape expected on `network` (GENERIC when unknown or not given)."""
    chain = chain_for(network)
    return chain.tx if chain else TxRule.GENERIC


def address_rule(network: str | None) -> AddressRule:
    """The address shape expected on `network` (GENERIC when unknown or not given)."""
    chain = chain_for(network)
    return chain.address if chain else AddressRule.GENERIC


def is_tx_hash(value: str, network: str | None) -> bool:
    """Whether `value` has the shape of a transaction id on `network`."""
    return TX_PATTERNS[tx_hash_rule(network)].fullmatch(value) is not None


def is_address(value: str, network: str | None) -> bool:
    """Whether `value` has the shape of an address on `network`."""
    return ADDRESS_PATTERNS[address_rule(network)].fullmatch(value) is not None


def display_name(network: str) -> str:
    """The network's usual name for messages ("bep-20" -> "BEP20"); unknown names as given."""
    chain = chain_for(network)
    return chain.name if chain else network
